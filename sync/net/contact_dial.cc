#include "sync/net/contact_dial.h"

#include <algorithm>
#include <atomic>
#include <random>
#include <utility>

#include "core/ids.h"

namespace estelik::sync::net {
namespace {

// Forwards to the real session and notes whether the peer sent anything at all: a responder
// that is not the dialed contact closes without a byte.
class AnswerWatch final : public Session {
 public:
  AnswerWatch(std::unique_ptr<Session> inner, std::shared_ptr<std::atomic<bool>> answered)
      : inner_(std::move(inner)), answered_(std::move(answered)) {}

  void Feed(std::span<const uint8_t> bytes, uint64_t now_ms) override {
    if (!bytes.empty()) answered_->store(true);
    inner_->Feed(bytes, now_ms);
  }
  void Tick(uint64_t now_ms) override { inner_->Tick(now_ms); }
  std::span<const uint8_t> PendingOutput() const override { return inner_->PendingOutput(); }
  void ConsumeOutput(size_t n) override { inner_->ConsumeOutput(n); }
  bool WantsInput() const override { return inner_->WantsInput(); }
  void TransportClosed(const std::string& why) override { inner_->TransportClosed(why); }
  bool closed() const override { return inner_->closed(); }
  const std::string& close_reason() const override { return inner_->close_reason(); }
  bool succeeded() const override { return inner_->succeeded(); }
  uint64_t TickIntervalMs() const override { return inner_->TickIntervalMs(); }

 private:
  std::unique_ptr<Session> inner_;
  std::shared_ptr<std::atomic<bool>> answered_;
};

}  // namespace

ContactDialer::ContactDialer(NetworkService& service, std::string host, uint16_t port,
                             std::vector<ContactKey> candidates, FactoryFor make_factory,
                             ContactDialOptions options)
    : service_(service),
      host_(std::move(host)),
      port_(port),
      label_((host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_) + ":" +
             std::to_string(port)),
      order_(std::move(candidates)),
      make_factory_(std::move(make_factory)),
      options_(std::move(options)) {
  if (!options_.rounds.random) {
    options_.rounds.random = [rng = std::make_shared<std::mt19937_64>(std::random_device{}())] {
      return (*rng)();
    };
  }
  thread_ = std::thread([this] { Run(); });
}

ContactDialer::~ContactDialer() {
  Cancel();
  if (thread_.joinable()) thread_.join();
}

Status ContactDialer::Wait() const {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return done_; });
  return result_;
}

std::optional<Status> ContactDialer::WaitFor(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return done_; })) return std::nullopt;
  return result_;
}

void ContactDialer::Cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  if (current_) current_->Cancel();
  cv_.notify_all();
}

std::optional<ContactKey> ContactDialer::answered() const {
  std::lock_guard lock(mu_);
  return answered_;
}

int ContactDialer::attempts() const {
  std::lock_guard lock(mu_);
  return attempts_;
}

void ContactDialer::Finish(Status status) {
  std::lock_guard lock(mu_);
  current_.reset();
  done_ = true;
  result_ = std::move(status);
  cv_.notify_all();
}

void ContactDialer::Run() {
  if (order_.empty()) {
    return Finish(NotFound("no contact to dial at " + label_ + ": the contact list is empty"));
  }
  for (int round = 1;; ++round) {
    Status why = RunRound();
    {
      std::lock_guard lock(mu_);
      if (why.ok() || cancelled_) {
        current_.reset();
        done_ = true;
        result_ = why.ok() ? why : Status(Code::kAborted, "dial to " + label_ + " cancelled");
        cv_.notify_all();
        return;
      }
    }
    if (why.code() == Code::kAborted) return Finish(std::move(why));  // service stopped
    const DialOptions& rounds = options_.rounds;
    if (!rounds.retry || (rounds.max_attempts > 0 && round >= rounds.max_attempts)) {
      return Finish(std::move(why));
    }
    const auto delay = BackoffDelay(rounds.backoff, round, rounds.random());
    if (options_.on_retry) options_.on_retry(label_, round, why, delay);
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, delay, [&] { return cancelled_; })) {
      current_.reset();
      done_ = true;
      result_ = Status(Code::kAborted, "dial to " + label_ + " cancelled");
      cv_.notify_all();
      return;
    }
  }
}

Status ContactDialer::RunRound() {
  size_t tried = 0;
  for (size_t i = 0; i < order_.size(); ++i) {
    const ContactKey contact = order_[i];
    auto answered = std::make_shared<std::atomic<bool>>(false);
    SessionFactory inner = make_factory_(contact);
    SessionFactory factory = [inner = std::move(inner),
                              answered](const SessionInfo& info) -> std::unique_ptr<Session> {
      std::unique_ptr<Session> session = inner ? inner(info) : nullptr;
      if (!session) return nullptr;
      return std::make_unique<AnswerWatch>(std::move(session), answered);
    };
    std::optional<DialHandle> dial;
    {
      std::lock_guard lock(mu_);
      if (cancelled_) return Status(Code::kAborted, "dial to " + label_ + " cancelled");
      ++attempts_;
      current_ = service_.Dial(host_, port_, std::move(factory));
      dial = current_;
    }
    const Status status = dial->Wait();
    ++tried;
    if (status.ok() || answered->load()) {
      std::lock_guard lock(mu_);
      answered_ = contact;
      // The device at this address is `contact`: dial it first next round.
      std::rotate(order_.begin(), order_.begin() + static_cast<std::ptrdiff_t>(i),
                  order_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      return status;
    }
    // Nobody reachable (kIo), too many sessions, cancelled or stopped: other contacts would
    // not fare better.
    if (status.code() == Code::kIo || status.code() == Code::kLimitExceeded ||
        status.code() == Code::kAborted) {
      return status;
    }
    // The connection ended before a reply: the device there is not `contact` (or uses another
    // network key). Try the next one.
    if (order_.size() == 1) {
      return NotFound("contact " + ShortId(contact) + " did not answer at " + label_ +
                      ": the device there is someone else, uses another network key, or "
                      "speaks another transport version (" +
                      status.message() + ")");
    }
  }
  return NotFound("no contact answered at " + label_ + " (tried " + std::to_string(tried) +
                  " contacts, one connection each)");
}

}  // namespace estelik::sync::net
