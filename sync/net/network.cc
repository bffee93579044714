#include "sync/net/network.h"

#include <algorithm>
#include <boost/asio.hpp>
#include <cassert>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/bytes.h"

// Everything below runs on the network thread unless a comment says otherwise, so the
// io-thread state needs no locks. Objects with pending asynchronous operations (Connection,
// Listener, DialOp) are held by shared_ptr in their handlers; NetworkCore keeps them in its
// registries until they finish, and Stop() joins the thread before NetworkCore is destroyed.

namespace estelik::sync::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Ms = std::chrono::milliseconds;

uint64_t NowMs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  const asio::ip::address address = endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

Status Aborted(std::string message) { return Status(Code::kAborted, std::move(message)); }

NetworkEvents& NoEvents() {
  static NetworkEvents none;
  return none;
}

}  // namespace

std::string DescribeSessionEnd(const SessionReport& report) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.1f s",
                static_cast<double>(report.duration.count()) / 1e3);
  return "session with " + report.info.peer + " ended: " + report.close_reason + " (" +
         HumanSize(report.bytes_in) + " in, " + HumanSize(report.bytes_out) + " out, " + seconds +
         ")";
}

// ---------------------------------------------------------------------------------------------
// DialHandle: the only state shared between the caller's threads and the network thread.

struct DialHandle::State {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status result;
  int attempts = 0;
  bool cancelled = false;
  // Set by the network thread while the dial runs; posts the cancellation to it.
  std::function<void()> cancel_hook;

  void Finish(Status status) {
    std::lock_guard<std::mutex> lock(mu);
    if (done) return;
    done = true;
    result = std::move(status);
    cancel_hook = nullptr;
    cv.notify_all();
  }
};

Status DialHandle::Wait() const {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->cv.wait(lock, [&] { return state_->done; });
  return state_->result;
}

std::optional<Status> DialHandle::WaitFor(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(state_->mu);
  if (!state_->cv.wait_for(lock, timeout, [&] { return state_->done; })) return std::nullopt;
  return state_->result;
}

void DialHandle::Cancel() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->cancelled = true;
  if (state_->cancel_hook) state_->cancel_hook();
}

int DialHandle::attempts() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->attempts;
}

// ---------------------------------------------------------------------------------------------

class Connection;
class Listener;
class DialOp;

class NetworkCore {
 public:
  NetworkCore(NetworkOptions options, NetworkEvents* events);
  ~NetworkCore();

  Result<uint16_t> Listen(const std::string& address, uint16_t port, SessionFactory factory);
  DialHandle Dial(const std::string& host, uint16_t port, SessionFactory factory,
                  DialOptions options);
  void Stop();
  size_t session_count() const { return session_count_.load(); }

  // Network thread only, from here on.
  const NetworkOptions& options() const { return options_; }
  NetworkEvents& events() { return *events_; }
  asio::io_context& io() { return io_; }
  bool stopping() const { return stopping_; }
  uint64_t NextId() { return ++next_id_; }
  // How often a connection wakes up to Tick() and check its deadlines.
  uint64_t CheckPeriodMs() const { return check_period_ms_; }

  // False (and the reason in *why) if a new inbound connection from `ip` is over a limit. Else
  // makes room for it: evicts the oldest unauthenticated inbound session if the
  // pre-authentication budget or the session limit is full.
  bool AdmitInbound(const std::string& ip, std::string* why);
  bool AdmitOutbound(std::string* why) const;
  // Takes over `socket` and runs `session` on it.
  void StartConnection(tcp::socket socket, SessionInfo info, std::unique_ptr<Session> session,
                       std::function<void(const SessionReport&)> on_end);
  void ConnectionFinished(const SessionReport& report, const std::string& ip);
  // The session of `connection` authenticated its peer.
  void ConnectionAuthenticated(const Connection& connection);
  void DialFinished(const std::shared_ptr<DialOp>& op);

 private:
  void BeginStop();
  void MaybeFinishStop();

  const NetworkOptions options_;
  NetworkEvents* const events_;
  const uint64_t check_period_ms_;

  // Declared first so it is destroyed last: sockets and timers need it in their destructors.
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::atomic<size_t> session_count_{0};

  // Guards the transition to "stopped" against concurrent Listen/Dial/Stop calls.
  std::mutex api_mu_;
  bool stopped_ = false;
  bool joined_ = false;
  std::mutex stop_mu_;  // serialises Stop() callers

  // Network thread state.
  bool stopping_ = false;
  uint64_t next_id_ = 0;
  std::vector<std::shared_ptr<Listener>> listeners_;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> connections_;
  std::map<std::string, size_t> inbound_per_ip_;
  // Inbound sessions not yet authenticated, by id (so the first is the oldest), and per IP.
  std::set<uint64_t> unauthenticated_;
  std::map<std::string, size_t> unauthenticated_per_ip_;
  // Source IPs whose unauthenticated connection was evicted: refused until the time (NowMs).
  std::map<std::string, uint64_t> cooling_down_;
  std::set<std::shared_ptr<DialOp>> dials_;
  std::optional<asio::steady_timer> stop_backstop_;

  friend class Connection;
};

// ---------------------------------------------------------------------------------------------
// Connection: one socket driving one Session.

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(NetworkCore& impl, tcp::socket socket, SessionInfo info, std::string ip,
             std::unique_ptr<Session> session, std::function<void(const SessionReport&)> on_end)
      : impl_(impl),
        socket_(std::move(socket)),
        timer_(impl.io()),
        info_(std::move(info)),
        ip_(std::move(ip)),
        session_(std::move(session)),
        on_end_(std::move(on_end)) {}

  void Start() {
    const uint64_t now = NowMs();
    start_ms_ = last_activity_ms_ = now;
    read_buffer_.resize(std::max<size_t>(1, impl_.options().read_buffer_size));
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    impl_.events().OnSessionStarted(info_);
    // A session that speaks first may do so from its first Tick().
    session_->Tick(now);
    NoteOutput();
    ArmTimer();
    Pump();
  }

  // Stop(): no more reading; flush what the session has until `deadline_ms`, then close.
  void BeginShutdown(uint64_t deadline_ms) {
    if (finished_) return;
    draining_ = true;
    drain_deadline_ms_ = deadline_ms;
    linger_deadline_ms_ = std::min(linger_deadline_ms_, deadline_ms);
    Pump();
  }

 private:
  const NetworkOptions& options() const { return impl_.options(); }

  // The one place that decides what to do next: write, close, or read.
  void Pump() {
    if (finished_ || closing_) return;
    NoteAuthentication();
    if (!writing_) StartWrite();
    if (writing_) {
      MaybeStartRead();
      return;
    }
    // Nothing is in flight towards the peer and the session has nothing more to say.
    if (session_->closed() || transport_done_) {
      BeginClose();
    } else if (draining_) {
      EndSession("network service stopped");
      BeginClose();
    } else {
      MaybeStartRead();
    }
  }

  void StartWrite() {
    if (transport_done_ && transport_broken_) return;
    const std::span<const uint8_t> output = session_->PendingOutput();
    if (output.empty()) return;
    const size_t n = std::min(output.size(), std::max<size_t>(1, options().write_chunk_size));
    write_buffer_.assign(output.begin(), output.begin() + static_cast<ptrdiff_t>(n));
    session_->ConsumeOutput(n);
    writing_ = true;
    write_started_ms_ = NowMs();
    asio::async_write(socket_, asio::buffer(write_buffer_),
                      [self = shared_from_this()](const boost::system::error_code& ec,
                                                  size_t written) { self->OnWrite(ec, written); });
  }

  void MaybeStartRead() {
    if (reading_ || transport_done_ || draining_ || session_->closed()) return;
    if (!session_->WantsInput()) return;
    // Our own backpressure: a session whose output is not getting out gets no more input.
    if (session_->PendingOutput().size() >= options().output_high_water) return;
    StartRead();
  }

  void StartRead() {
    reading_ = true;
    socket_.async_read_some(asio::buffer(read_buffer_),
                            [self = shared_from_this()](const boost::system::error_code& ec,
                                                        size_t n) { self->OnRead(ec, n); });
  }

  void OnRead(const boost::system::error_code& ec, size_t n) {
    reading_ = false;
    if (finished_) return;
    if (closing_) {
      // Waiting for the peer's FIN after ours; what it still sends is discarded.
      if (ec) {
        Finish();
      } else {
        StartRead();
      }
      return;
    }
    if (ec) {
      transport_done_ = true;
      transport_broken_ = ec != asio::error::eof;
      EndSession(ec == asio::error::eof ? "peer closed the connection"
                                        : "connection lost: " + ec.message());
      Pump();
      return;
    }
    const uint64_t now = NowMs();
    bytes_in_ += n;
    last_activity_ms_ = now;
    if (!session_->closed()) {
      // A peer streaming at a useful rate is making progress even if the session has nothing
      // to answer yet; only a trickle keeps the stall clock running.
      if (unanswered_since_ms_ == 0 || unanswered_bytes_ >= options().stall_progress_bytes) {
        unanswered_since_ms_ = now;
        unanswered_bytes_ = 0;
      }
      unanswered_bytes_ += n;
      session_->Feed(std::span<const uint8_t>(read_buffer_.data(), n), now);
      NoteOutput();
    }
    Pump();
  }

  void OnWrite(const boost::system::error_code& ec, size_t written) {
    writing_ = false;
    if (finished_) return;
    if (ec) {
      flush_failed_ = true;
      Cut("connection lost while sending: " + ec.message());
      return;
    }
    bytes_out_ += written;
    last_activity_ms_ = NowMs();
    Pump();
  }

  void NoteAuthentication() {
    if (authenticated_ || !session_->authenticated()) return;
    authenticated_ = true;
    impl_.ConnectionAuthenticated(*this);
  }

  // Stall detection: the peer's input counts as answered once the session's output grows.
  void NoteOutput() {
    const uint64_t produced =
        bytes_out_ + (writing_ ? write_buffer_.size() : 0) + session_->PendingOutput().size();
    if (produced > produced_) {
      unanswered_since_ms_ = 0;
      unanswered_bytes_ = 0;
    }
    produced_ = produced;
  }

  void ArmTimer() {
    if (finished_) return;
    const uint64_t period =
        std::max<uint64_t>(1, std::min(session_->TickIntervalMs(), impl_.CheckPeriodMs()));
    timer_.expires_after(Ms(period));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->OnTimer();
    });
  }

  void OnTimer() {
    if (finished_) return;
    const uint64_t now = NowMs();
    if (closing_) {
      if (now >= linger_deadline_ms_) {
        Finish();
      } else {
        ArmTimer();
      }
      return;
    }
    if (!session_->closed()) {
      session_->Tick(now);
      NoteOutput();
    }
    const auto& o = options();
    if (draining_ && now >= drain_deadline_ms_) {
      return Cut("network service stopped before the session finished");
    }
    if (writing_ && now - write_started_ms_ >= static_cast<uint64_t>(o.write_timeout.count())) {
      return Cut("write timeout: peer accepted no data for " +
                 std::to_string(now - write_started_ms_) + " ms");
    }
    if (!writing_ && !session_->closed() &&
        now - last_activity_ms_ >= static_cast<uint64_t>(o.idle_timeout.count())) {
      return Cut("idle timeout: nothing received or sent for " +
                 std::to_string(now - last_activity_ms_) + " ms");
    }
    // The stall clock only runs while we are waiting for the peer: if we stopped reading
    // (backpressure), the peer cannot complete anything.
    if (unanswered_since_ms_ != 0 && !reading_) unanswered_since_ms_ = now;
    if (unanswered_since_ms_ != 0 && !session_->closed() &&
        now - unanswered_since_ms_ >= static_cast<uint64_t>(o.stall_timeout.count())) {
      return Cut("stall timeout: peer sent " + std::to_string(unanswered_bytes_) + " bytes over " +
                 std::to_string(now - unanswered_since_ms_) +
                 " ms without completing a message the session could answer");
    }
    Pump();
    ArmTimer();
  }

  // Tells an open session that the transport is going away.
  void EndSession(const std::string& why) {
    if (driver_reason_.empty()) driver_reason_ = why;
    if (!session_->closed()) session_->TransportClosed(why);
  }

  // The driver ends the connection now, without flushing.
  void Cut(const std::string& why) {
    if (finished_) return;
    EndSession(why);
    Finish();
  }

  // Everything is flushed: send our FIN, then wait (bounded) for the peer's, so that closing
  // with unread bytes in the kernel buffer does not turn into a reset that could destroy the
  // tail of our own output before the peer reads it.
  void BeginClose() {
    if (closing_ || finished_) return;
    closing_ = true;
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec || transport_done_) {
      Finish();
      return;
    }
    linger_deadline_ms_ = std::min(linger_deadline_ms_,
                                   NowMs() + static_cast<uint64_t>(options().close_linger.count()));
    if (!reading_) StartRead();
  }

  void Finish() {
    if (finished_) return;
    NoteAuthentication();  // before the end, so every authenticated report was announced
    finished_ = true;
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);

    SessionReport report;
    report.info = info_;
    report.succeeded = session_->closed() && session_->succeeded() && !flush_failed_ &&
                       session_->PendingOutput().empty();
    report.authenticated = authenticated_;
    report.close_reason = session_->close_reason();
    if (report.close_reason.empty()) report.close_reason = driver_reason_;
    if (report.close_reason.empty()) report.close_reason = "closed";
    if (session_->succeeded() && !report.succeeded && !driver_reason_.empty()) {
      report.close_reason += " (but " + driver_reason_ + ")";
    }
    report.bytes_in = bytes_in_;
    report.bytes_out = bytes_out_;
    report.duration = Ms(NowMs() - start_ms_);
    // The session may hold buffers of its own; release them with the connection's memory.
    auto on_end = std::move(on_end_);
    impl_.ConnectionFinished(report, ip_);
    if (on_end) on_end(report);
  }

  NetworkCore& impl_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  const SessionInfo info_;
  const std::string ip_;
  std::unique_ptr<Session> session_;
  std::function<void(const SessionReport&)> on_end_;

  std::vector<uint8_t> read_buffer_;
  std::vector<uint8_t> write_buffer_;
  bool reading_ = false;
  bool writing_ = false;
  bool transport_done_ = false;    // EOF or error on read: nothing more will arrive
  bool transport_broken_ = false;  // ... and it was an error, so do not try to send
  bool draining_ = false;
  bool closing_ = false;
  bool finished_ = false;
  bool flush_failed_ = false;
  bool authenticated_ = false;  // reported to NetworkCore
  std::string driver_reason_;

  uint64_t start_ms_ = 0;
  uint64_t last_activity_ms_ = 0;
  uint64_t write_started_ms_ = 0;
  uint64_t unanswered_since_ms_ = 0;  // 0: no unanswered input
  uint64_t unanswered_bytes_ = 0;
  uint64_t produced_ = 0;
  uint64_t drain_deadline_ms_ = UINT64_MAX;
  uint64_t linger_deadline_ms_ = UINT64_MAX;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;

  friend class NetworkCore;
};

// ---------------------------------------------------------------------------------------------
// Listener: accepts connections and applies the session limits.

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(NetworkCore& impl, tcp::acceptor acceptor, SessionFactory factory)
      : impl_(impl),
        acceptor_(std::move(acceptor)),
        retry_timer_(impl.io()),
        factory_(std::move(factory)) {}

  void Accept() {
    acceptor_.async_accept(
        [self = shared_from_this()](const boost::system::error_code& ec, tcp::socket socket) {
          self->OnAccept(ec, std::move(socket));
        });
  }

  void Close() {
    closed_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
  }

 private:
  void OnAccept(const boost::system::error_code& ec, tcp::socket socket) {
    if (closed_ || impl_.stopping()) return;
    if (ec) {
      // Typically out of file descriptors; try again shortly instead of spinning.
      impl_.events().OnConnectionRejected("(unknown)", "accept failed: " + ec.message());
      retry_timer_.expires_after(Ms(100));
      retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
        if (!e && !self->closed_) self->Accept();
      });
      return;
    }
    boost::system::error_code endpoint_error;
    const tcp::endpoint remote = socket.remote_endpoint(endpoint_error);
    if (endpoint_error) {
      Accept();  // already gone
      return;
    }
    const std::string peer = FormatEndpoint(remote);
    const std::string ip = remote.address().to_string();
    std::string why;
    if (!impl_.AdmitInbound(ip, &why)) {
      boost::system::error_code ignored;
      socket.close(ignored);
      impl_.events().OnConnectionRejected(peer, why);
    } else {
      SessionInfo info{impl_.NextId(), Direction::kInbound, peer};
      std::unique_ptr<Session> session = factory_(info);
      if (!session) {
        boost::system::error_code ignored;
        socket.close(ignored);
        impl_.events().OnConnectionRejected(peer, "the session factory refused the connection");
      } else {
        impl_.StartConnection(std::move(socket), std::move(info), std::move(session), nullptr);
      }
    }
    Accept();
  }

  NetworkCore& impl_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  SessionFactory factory_;
  bool closed_ = false;
};

// ---------------------------------------------------------------------------------------------
// DialOp: connect (with a timeout), run a session, retry with backoff.

class DialOp : public std::enable_shared_from_this<DialOp> {
 public:
  DialOp(NetworkCore& impl, std::shared_ptr<DialHandle::State> state, std::string host,
         uint16_t port, SessionFactory factory, DialOptions options)
      : impl_(impl),
        state_(std::move(state)),
        host_(std::move(host)),
        port_(port),
        label_(host_ + ":" + std::to_string(port_)),
        factory_(std::move(factory)),
        options_(std::move(options)),
        resolver_(impl.io()),
        socket_(impl.io()),
        timer_(impl.io()) {
    if (!options_.random) {
      options_.random = [rng = std::mt19937_64(std::random_device{}())]() mutable { return rng(); };
    }
  }

  void Start() {
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      std::weak_ptr<DialOp> weak = shared_from_this();
      asio::io_context* io = &impl_.io();
      state_->cancel_hook = [io, weak] {
        asio::post(*io, [weak] {
          if (auto self = weak.lock()) self->Cancel();
        });
      };
    }
    Attempt();
  }

  // Network thread; Stop() or DialHandle::Cancel().
  void Cancel() {
    cancelled_ = true;
    switch (phase_) {
      case Phase::kConnecting: {
        boost::system::error_code ignored;
        resolver_.cancel();
        socket_.close(ignored);  // the connect handler completes the dial
        break;
      }
      case Phase::kWaiting:
        Complete(Aborted("dial to " + label_ + " cancelled"));
        break;
      case Phase::kInSession:  // the session's end completes the dial
      case Phase::kDone:
        break;
    }
  }

  // After the network thread is gone (see Stop()): completes the dial without touching Asio.
  void Abandon() { state_->Finish(Aborted("network service stopped")); }

 private:
  enum class Phase { kConnecting, kWaiting, kInSession, kDone };

  bool Cancelled() {
    std::lock_guard<std::mutex> lock(state_->mu);
    return cancelled_ || state_->cancelled || impl_.stopping();
  }

  void Attempt() {
    if (Cancelled()) return Complete(Aborted("dial to " + label_ + " cancelled"));
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      attempt_ = ++state_->attempts;
    }
    phase_ = Phase::kConnecting;
    timed_out_ = false;
    timer_.expires_after(options_connect_timeout());
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->phase_ != Phase::kConnecting) return;
      self->timed_out_ = true;
      boost::system::error_code ignored;
      self->resolver_.cancel();
      self->socket_.close(ignored);
    });
    resolver_.async_resolve(host_, std::to_string(port_), tcp::resolver::numeric_service,
                            [self = shared_from_this()](const boost::system::error_code& ec,
                                                        tcp::resolver::results_type results) {
                              self->OnResolved(ec, std::move(results));
                            });
  }

  Ms options_connect_timeout() const { return impl_.options().connect_timeout; }

  std::string TimeoutMessage() const {
    return "cannot connect to " + label_ + ": no answer within " +
           std::to_string(options_connect_timeout().count()) + " ms";
  }

  void OnResolved(const boost::system::error_code& ec, tcp::resolver::results_type results) {
    if (phase_ != Phase::kConnecting) return;
    if (ec || results.empty()) {
      timer_.cancel();
      if (timed_out_) return AttemptFailed(IoError(TimeoutMessage()));
      return AttemptFailed(IoError("cannot resolve " + host_ + ": " +
                                   (ec ? ec.message() : std::string("no addresses"))));
    }
    asio::async_connect(socket_, results,
                        [self = shared_from_this()](const boost::system::error_code& e,
                                                    const tcp::endpoint& endpoint) {
                          self->OnConnected(e, endpoint);
                        });
  }

  void OnConnected(const boost::system::error_code& ec, const tcp::endpoint& endpoint) {
    if (phase_ != Phase::kConnecting) return;
    timer_.cancel();
    if (Cancelled()) {
      boost::system::error_code ignored;
      socket_.close(ignored);
      return Complete(Aborted("dial to " + label_ + " cancelled"));
    }
    if (ec) {
      if (timed_out_) return AttemptFailed(IoError(TimeoutMessage()));
      return AttemptFailed(IoError("cannot connect to " + label_ + ": " + ec.message()));
    }
    std::string why;
    if (!impl_.AdmitOutbound(&why)) {
      boost::system::error_code ignored;
      socket_.close(ignored);
      return AttemptFailed(LimitExceeded(why));
    }
    SessionInfo info{impl_.NextId(), Direction::kOutbound, FormatEndpoint(endpoint)};
    std::unique_ptr<Session> session = factory_(info);
    if (!session) {
      boost::system::error_code ignored;
      socket_.close(ignored);
      return Complete(Aborted("the session factory refused the connection to " + label_));
    }
    phase_ = Phase::kInSession;
    tcp::socket socket = std::move(socket_);
    socket_ = tcp::socket(impl_.io());
    impl_.StartConnection(
        std::move(socket), std::move(info), std::move(session),
        [self = shared_from_this()](const SessionReport& report) { self->OnSessionEnded(report); });
  }

  void OnSessionEnded(const SessionReport& report) {
    if (phase_ != Phase::kInSession) return;
    if (report.succeeded) return Complete(Status::Ok());
    AttemptFailed(
        ProtocolError("session with " + report.info.peer + " failed: " + report.close_reason));
  }

  void AttemptFailed(Status why) {
    if (impl_.stopping()) return Complete(Aborted(why.message()));
    if (Cancelled()) return Complete(Aborted("dial to " + label_ + " cancelled"));
    const bool may_retry =
        options_.retry && (options_.max_attempts <= 0 || attempt_ < options_.max_attempts);
    if (!may_retry) return Complete(std::move(why));
    const Ms delay = BackoffDelay(options_.backoff, attempt_, options_.random());
    impl_.events().OnDialRetry(label_, attempt_, why, delay);
    phase_ = Phase::kWaiting;
    timer_.expires_after(delay);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec && self->phase_ == Phase::kWaiting) self->Attempt();
    });
  }

  void Complete(Status status) {
    if (phase_ == Phase::kDone) return;
    phase_ = Phase::kDone;
    timer_.cancel();
    state_->Finish(std::move(status));
    impl_.DialFinished(shared_from_this());
  }

  NetworkCore& impl_;
  std::shared_ptr<DialHandle::State> state_;
  const std::string host_;
  const uint16_t port_;
  const std::string label_;
  SessionFactory factory_;
  DialOptions options_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  Phase phase_ = Phase::kConnecting;
  int attempt_ = 0;
  bool timed_out_ = false;
  bool cancelled_ = false;
};

// ---------------------------------------------------------------------------------------------

namespace {

uint64_t ComputeCheckPeriod(const NetworkOptions& o) {
  // Deadlines are checked a few times per shortest timeout, and at least every 250 ms.
  const int64_t shortest =
      std::min({o.idle_timeout.count(), o.stall_timeout.count(), o.write_timeout.count(),
                o.shutdown_grace.count(), o.close_linger.count()});
  return static_cast<uint64_t>(std::clamp<int64_t>(shortest / 4, 1, 250));
}

}  // namespace

NetworkCore::NetworkCore(NetworkOptions options, NetworkEvents* events)
    : options_(std::move(options)),
      events_(events ? events : &NoEvents()),
      check_period_ms_(ComputeCheckPeriod(options_)) {
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] { io_.run(); });
}

NetworkCore::~NetworkCore() { Stop(); }

Result<uint16_t> NetworkCore::Listen(const std::string& address, uint16_t port,
                                     SessionFactory factory) {
  boost::system::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(address, ec);
  if (ec) return InvalidArgument("cannot listen on \"" + address + "\": not an IP address");
  const std::string label =
      (ip.is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(port);

  std::promise<Result<uint16_t>> promise;
  std::future<Result<uint16_t>> future = promise.get_future();
  {
    std::lock_guard<std::mutex> lock(api_mu_);
    if (stopped_) return Aborted("cannot listen: the network service is stopped");
    asio::post(io_, [this, ip, port, label, &promise, factory = std::move(factory)]() mutable {
      if (stopping_) {
        promise.set_value(Aborted("cannot listen: the network service is stopped"));
        return;
      }
      tcp::acceptor acceptor(io_);
      const tcp::endpoint endpoint(ip, port);
      boost::system::error_code e;
      acceptor.open(endpoint.protocol(), e);
      if (!e) acceptor.set_option(tcp::acceptor::reuse_address(true), e);
      if (!e) acceptor.bind(endpoint, e);
      if (!e) acceptor.listen(asio::socket_base::max_listen_connections, e);
      if (e) {
        promise.set_value(IoError("cannot listen on " + label + ": " + e.message()));
        return;
      }
      const uint16_t bound = acceptor.local_endpoint(e).port();
      auto listener = std::make_shared<Listener>(*this, std::move(acceptor), std::move(factory));
      listeners_.push_back(listener);
      listener->Accept();
      promise.set_value(bound);
    });
  }
  return future.get();
}

DialHandle NetworkCore::Dial(const std::string& host, uint16_t port, SessionFactory factory,
                             DialOptions options) {
  auto state = std::make_shared<DialHandle::State>();
  std::lock_guard<std::mutex> lock(api_mu_);
  if (stopped_) {
    state->Finish(Aborted("cannot dial " + host + ": the network service is stopped"));
    return DialHandle(state);
  }
  asio::post(io_, [this, state, host, port, factory = std::move(factory),
                   options = std::move(options)]() mutable {
    auto op =
        std::make_shared<DialOp>(*this, state, host, port, std::move(factory), std::move(options));
    dials_.insert(op);
    op->Start();
  });
  return DialHandle(state);
}

bool NetworkCore::AdmitInbound(const std::string& ip, std::string* why) {
  if (connections_.size() >= options_.max_sessions && unauthenticated_.empty()) {
    *why = "too many sessions open (limit " + std::to_string(options_.max_sessions) + ")";
    return false;
  }
  auto it = inbound_per_ip_.find(ip);
  if (it != inbound_per_ip_.end() && it->second >= options_.max_sessions_per_ip) {
    *why = "too many sessions from " + ip + " (limit " +
           std::to_string(options_.max_sessions_per_ip) + ")";
    return false;
  }
  const uint64_t now = NowMs();
  if (auto cooling = cooling_down_.find(ip); cooling != cooling_down_.end()) {
    if (now < cooling->second) {
      *why = "connections from " + ip + " refused for a moment: its unauthenticated connection " +
             "was evicted";
      return false;
    }
    cooling_down_.erase(cooling);
  }
  auto pending = unauthenticated_per_ip_.find(ip);
  if (pending != unauthenticated_per_ip_.end() &&
      pending->second >= options_.max_unauthenticated_per_ip) {
    *why = "too many unauthenticated connections from " + ip + " (limit " +
           std::to_string(options_.max_unauthenticated_per_ip) + ")";
    return false;
  }
  // Room for the newcomer: strangers make way for it, oldest first, never contacts.
  while (!unauthenticated_.empty() && (unauthenticated_.size() >= options_.max_unauthenticated ||
                                       connections_.size() >= options_.max_sessions)) {
    // The oldest that the session never answered goes first (a sync responder answers only a
    // message 1 that proves the peer knows this device's key), then the oldest of the rest.
    std::shared_ptr<Connection> evicted;
    for (uint64_t id : unauthenticated_) {
      auto it = connections_.find(id);
      if (it == connections_.end()) continue;
      if (!evicted) evicted = it->second;
      if (it->second->produced_ == 0) {
        evicted = it->second;
        break;
      }
    }
    if (!evicted) {  // cannot happen; never loop on it
      unauthenticated_.clear();
      break;
    }
    if (cooling_down_.size() >= 4096)
      std::erase_if(cooling_down_, [&](const auto& entry) { return entry.second <= now; });
    if (cooling_down_.size() < 4096) {
      cooling_down_[evicted->ip_] = now + static_cast<uint64_t>(options_.eviction_cooldown.count());
    }
    evicted->Cut("evicted: too many unauthenticated connections (limit " +
                 std::to_string(options_.max_unauthenticated) + "); the oldest made way");
  }
  if (connections_.size() >= options_.max_sessions) {
    *why = "too many sessions open (limit " + std::to_string(options_.max_sessions) + ")";
    return false;
  }
  return true;
}

bool NetworkCore::AdmitOutbound(std::string* why) const {
  if (connections_.size() >= options_.max_sessions) {
    *why = "too many sessions open (limit " + std::to_string(options_.max_sessions) + ")";
    return false;
  }
  return true;
}

void NetworkCore::StartConnection(tcp::socket socket, SessionInfo info,
                                  std::unique_ptr<Session> session,
                                  std::function<void(const SessionReport&)> on_end) {
  // Per-IP accounting covers inbound sessions only; an empty key marks an outbound one.
  std::string ip;
  if (info.direction == Direction::kInbound) {
    boost::system::error_code ec;
    ip = socket.remote_endpoint(ec).address().to_string();
    ++inbound_per_ip_[ip];
    unauthenticated_.insert(info.id);
    ++unauthenticated_per_ip_[ip];
  }
  const uint64_t id = info.id;
  auto connection = std::make_shared<Connection>(*this, std::move(socket), std::move(info), ip,
                                                 std::move(session), std::move(on_end));
  connections_[id] = connection;
  session_count_ = connections_.size();
  connection->Start();
}

namespace {

void Decrement(std::map<std::string, size_t>& counts, const std::string& key) {
  auto it = counts.find(key);
  if (it != counts.end() && --it->second == 0) counts.erase(it);
}

}  // namespace

void NetworkCore::ConnectionAuthenticated(const Connection& connection) {
  if (unauthenticated_.erase(connection.info_.id) > 0) {
    Decrement(unauthenticated_per_ip_, connection.ip_);
  }
  events_->OnSessionAuthenticated(connection.info_);
}

void NetworkCore::ConnectionFinished(const SessionReport& report, const std::string& ip) {
  if (!ip.empty()) {
    Decrement(inbound_per_ip_, ip);
    if (unauthenticated_.erase(report.info.id) > 0) Decrement(unauthenticated_per_ip_, ip);
  }
  // Keep the connection alive until this call returns: it is the caller.
  auto it = connections_.find(report.info.id);
  std::shared_ptr<Connection> keep;
  if (it != connections_.end()) {
    keep = std::move(it->second);
    connections_.erase(it);
  }
  session_count_ = connections_.size();
  events_->OnSessionEnded(report);
  MaybeFinishStop();
}

void NetworkCore::DialFinished(const std::shared_ptr<DialOp>& op) {
  dials_.erase(op);
  MaybeFinishStop();
}

void NetworkCore::BeginStop() {
  stopping_ = true;
  for (auto& listener : listeners_) listener->Close();
  listeners_.clear();
  const std::vector<std::shared_ptr<DialOp>> dials(dials_.begin(), dials_.end());
  for (const auto& dial : dials) dial->Cancel();
  const uint64_t deadline = NowMs() + static_cast<uint64_t>(options_.shutdown_grace.count());
  std::vector<std::shared_ptr<Connection>> connections;
  for (auto& [id, connection] : connections_) connections.push_back(connection);
  for (auto& connection : connections) connection->BeginShutdown(deadline);
  // Backstop: every path above is bounded by the grace period, but never let a bug turn
  // Stop() into a hang.
  stop_backstop_.emplace(io_);
  stop_backstop_->expires_after(options_.shutdown_grace + Ms(1000));
  stop_backstop_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec) io_.stop();
  });
  work_.reset();
  MaybeFinishStop();
}

void NetworkCore::MaybeFinishStop() {
  if (stopping_ && connections_.empty() && dials_.empty() && stop_backstop_) {
    stop_backstop_->cancel();
  }
}

void NetworkCore::Stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  if (joined_) return;
  assert(std::this_thread::get_id() != thread_.get_id() &&
         "NetworkService::Stop() called from the network thread");
  {
    std::lock_guard<std::mutex> lock(api_mu_);
    stopped_ = true;
    asio::post(io_, [this] { BeginStop(); });
  }
  thread_.join();
  joined_ = true;
  // Leftovers exist only if the backstop stopped the io_context; nothing runs on the network
  // thread any more, so touching its state from here is safe.
  for (const auto& dial : dials_) dial->Abandon();
  dials_.clear();
  connections_.clear();
  listeners_.clear();
  session_count_ = 0;
}

// ---------------------------------------------------------------------------------------------

NetworkService::NetworkService(NetworkOptions options, NetworkEvents* events)
    : impl_(std::make_unique<NetworkCore>(std::move(options), events)) {}

NetworkService::~NetworkService() { impl_->Stop(); }

Result<uint16_t> NetworkService::Listen(const std::string& address, uint16_t port,
                                        SessionFactory factory) {
  return impl_->Listen(address, port, std::move(factory));
}

DialHandle NetworkService::Dial(const std::string& host, uint16_t port, SessionFactory factory,
                                DialOptions options) {
  return impl_->Dial(host, port, std::move(factory), std::move(options));
}

void NetworkService::Stop() { impl_->Stop(); }

size_t NetworkService::session_count() const { return impl_->session_count(); }

}  // namespace estelik::sync::net
