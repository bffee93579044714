#include "sync/orchestrator/orchestrator.h"

#include <utility>

#include "sync/orchestrator/contact_choice.h"

namespace estelik::sync {

// The last session of one dial that closed (network thread writes, the dial's owner reads).
struct SessionRecord {
  std::mutex mu;
  std::optional<SessionEnd> last;
};

ContactActivity::ContactActivity(net::NetworkEvents* inner)
    : inner_(inner), last_(std::chrono::steady_clock::now()) {}

std::chrono::steady_clock::duration ContactActivity::Idle() const {
  std::lock_guard lock(mu_);
  if (open_ > 0) return std::chrono::steady_clock::duration::zero();
  return std::chrono::steady_clock::now() - last_;
}

void ContactActivity::OnSessionStarted(const net::SessionInfo& info) {
  if (inner_) inner_->OnSessionStarted(info);
}

void ContactActivity::OnSessionAuthenticated(const net::SessionInfo& info) {
  {
    std::lock_guard lock(mu_);
    ++open_;
    last_ = std::chrono::steady_clock::now();
  }
  if (inner_) inner_->OnSessionAuthenticated(info);
}

void ContactActivity::OnSessionEnded(const net::SessionReport& report) {
  if (report.authenticated) {
    std::lock_guard lock(mu_);
    --open_;
    last_ = std::chrono::steady_clock::now();
  }
  if (inner_) inner_->OnSessionEnded(report);
}

void ContactActivity::OnConnectionRejected(const std::string& peer, const std::string& why) {
  if (inner_) inner_->OnConnectionRejected(peer, why);
}

void ContactActivity::OnDialRetry(const std::string& peer, int attempt, const Status& why,
                                  std::chrono::milliseconds retry_in) {
  if (inner_) inner_->OnDialRetry(peer, attempt, why, retry_in);
}

DialRun::~DialRun() = default;

SyncOutcome DialRun::Decide(const Status& dialed) const {
  std::lock_guard lock(record_->mu);
  return DecideOutcome(dialed, dialer_->answered(), record_->last);
}

SyncOutcome DialRun::Wait() const { return Decide(dialer_->Wait()); }

std::optional<SyncOutcome> DialRun::WaitFor(std::chrono::milliseconds timeout) const {
  std::optional<Status> dialed = dialer_->WaitFor(timeout);
  if (!dialed) return std::nullopt;
  return Decide(*dialed);
}

void DialRun::Cancel() { dialer_->Cancel(); }

Orchestrator::Orchestrator(Replica& replica, OrchestratorOptions options)
    : replica_(replica),
      hooks_(std::move(options.hooks)),
      events_(options.events),
      network_key_(std::move(options.network_key)),
      activity_(options.events),
      service_(std::make_unique<net::NetworkService>(options.network, &activity_)) {}

Orchestrator::~Orchestrator() {
  Stop();
  std::shared_ptr<DialRun> current;
  {
    std::lock_guard lock(mu_);
    current = std::move(current_);
  }
}

Result<uint16_t> Orchestrator::Listen(const HostPort& address) {
  return service_->Listen(address.host, address.port, [this](const net::SessionInfo& info) {
    return MakeSession(info, std::nullopt, nullptr);
  });
}

ReplicationConfig Orchestrator::SessionConfig(const net::SessionInfo& info,
                                              std::shared_ptr<SessionRecord> record) const {
  ReplicationConfig config;
  if (hooks_.on_progress) {
    config.on_progress = [this, info](const ReplicationStats& stats) {
      hooks_.on_progress(info, stats);
    };
  }
  config.on_closed = [this, info, record = std::move(record)](const ReplicationStats& stats,
                                                              bool ok, const std::string& why) {
    const SessionEnd end{ok, why, stats};
    if (hooks_.on_closed) hooks_.on_closed(info, end);
    if (!record) return;
    std::lock_guard lock(record->mu);
    record->last = end;
  };
  return config;
}

std::unique_ptr<Session> Orchestrator::MakeSession(
    const net::SessionInfo& info, const std::optional<net::ContactKey>& expected_peer,
    std::shared_ptr<SessionRecord> record) {
  ReplicationConfig config = SessionConfig(info, std::move(record));
  config.initiator = expected_peer.has_value();
  config.expected_peer = expected_peer;
  {
    std::lock_guard lock(key_mu_);
    if (refusing_.load()) return nullptr;
    config.network_key = network_key_.Clone();
  }
  auto session = ReplicationSession::Create(replica_, std::move(config));
  if (!session.ok()) return nullptr;
  return std::move(*session);
}

std::shared_ptr<DialRun> Orchestrator::StartDial(const HostPort& target,
                                                 std::vector<net::ContactKey> candidates,
                                                 bool retry) {
  std::shared_ptr<DialRun> run(new DialRun());
  run->record_ = std::make_shared<SessionRecord>();
  net::ContactDialOptions options;
  options.rounds.retry = retry;
  if (events_ != nullptr) {
    options.on_retry = [events = events_](const std::string& peer, int attempt, const Status& why,
                                          std::chrono::milliseconds retry_in) {
      events->OnDialRetry(peer, attempt, why, retry_in);
    };
  }
  auto factory_for = [this, record = run->record_](const net::ContactKey& contact) {
    return [this, record, contact](const net::SessionInfo& info) {
      return MakeSession(info, contact, record);
    };
  };
  std::lock_guard lock(mu_);
  if (halted_) return nullptr;
  run->dialer_ = std::make_unique<net::ContactDialer>(
      *service_, target.host, target.port, std::move(candidates), factory_for, std::move(options));
  current_ = run;
  return run;
}

void Orchestrator::EndDial(const std::shared_ptr<DialRun>& run) {
  std::lock_guard lock(mu_);
  if (current_ == run) current_.reset();
}

bool Orchestrator::Pause(std::chrono::milliseconds interval) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, interval, [this] { return halted_; });
}

void Orchestrator::RunRounds(const Rounds& rounds) {
  std::optional<net::ContactKey> last_answered;
  for (;;) {
    SyncOutcome outcome;
    Result<std::vector<net::ContactKey>> candidates =
        rounds.candidates ? rounds.candidates() : std::vector<net::ContactKey>{};
    if (!candidates.ok()) {
      outcome = FailedOutcome(candidates.status());
    } else {
      std::shared_ptr<DialRun> run =
          StartDial(rounds.target, DialOrder(std::move(*candidates), last_answered), rounds.retry);
      if (!run) return;
      outcome = rounds.await ? rounds.await(*run) : run->Wait();
      if (outcome.peer) last_answered = outcome.peer;
      EndDial(run);
    }
    if (rounds.after_round && !rounds.after_round(outcome)) return;
    if (!(rounds.pause ? rounds.pause() : Pause(rounds.interval))) return;
  }
}

void Orchestrator::Refuse() { refusing_.store(true); }

void Orchestrator::Halt() {
  Refuse();
  {
    std::lock_guard lock(mu_);
    halted_ = true;
    if (current_) current_->Cancel();
  }
  cv_.notify_all();
}

void Orchestrator::Stop() {
  Halt();
  service_->Stop();  // sessions end; a dial's Wait() returns
  std::lock_guard lock(key_mu_);
  network_key_.Wipe();
}

}  // namespace estelik::sync
