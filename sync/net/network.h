// NetworkService: runs sync sessions (sync/protocol/session.h) over TCP with Boost.Asio.
//
// It listens (Listen) and dials (Dial); for every connection it asks a SessionFactory for a
// fresh Session and drives it exactly as the Session contract says: received bytes go to
// Feed(), PendingOutput() is written out, Tick() runs on a timer, reading pauses while the
// session does not want input (TCP backpressure reaches the peer), and the socket closes once
// the session is closed and its output is flushed. The service knows nothing about what the
// session says; it never logs payload bytes.
//
// Threading: the service owns one io_context and one background thread, "the network
// thread", which runs every socket, timer and Session; a Session is only ever called from that
// thread. Listen, Dial, Stop, session_count and everything on DialHandle are thread-safe. The
// SessionFactory and NetworkEvents callbacks run on the network thread: they must return
// quickly and must not call Listen, Stop or destroy the service (that would deadlock).
//
// Backstops (NetworkOptions): the driver cuts a session, even one that would not close itself,
// when no byte moved either way for `idle_timeout`; when the peer keeps sending for
// `stall_timeout` without the session producing any output and without delivering
// `stall_progress_bytes` in that time (a slowloris peer trickling a message that never
// completes); when one write is not accepted by the peer within `write_timeout` (a peer that
// does not read). A session that legitimately stays quiet longer must send keep-alives. Output is
// bounded: the driver holds at most `write_chunk_size` bytes per connection and stops reading while
// the session holds `output_high_water` bytes or more of unsent output.
//
// Limits: at most `max_sessions` sessions (inbound and outbound together) and
// `max_sessions_per_ip` inbound sessions per remote IP address. An inbound connection beyond
// a limit is accepted and closed at once, and reported to NetworkEvents::OnConnectionRejected.
//
// Strangers (pre-authentication): an inbound session counts as unauthenticated until its
// Session says authenticated() (for sync: the handshake completed with a contact). At most
// `max_unauthenticated` inbound sessions are unauthenticated at once, at most
// `max_unauthenticated_per_ip` of them from one IP address. A new inbound connection that finds
// the unauthenticated budget or `max_sessions` full evicts the oldest unauthenticated inbound
// session that its Session never answered, else the oldest one (its report says "evicted"), so
// strangers can hold at most `max_unauthenticated` slots and never lock out a contact: the rest
// stay free for authenticated sessions, and a contact's connection only has to finish its handshake
// before that many newer strangers arrive. How long a session may stay unauthenticated is the
// session's own handshake deadline (ReplicationLimits::handshake_timeout_ms). A source over its
// per-IP limit is refused, so it cannot evict anybody; so is, for `eviction_cooldown`, a source
// whose connection was evicted, which bounds how fast strangers can churn the budget to about one
// eviction per source address and cooldown. NetworkEvents::OnSessionAuthenticated and
// SessionReport::authenticated say which sessions were a contact's: only those count as activity
// (sync::Orchestrator).
//
// Shutdown: Stop() (and the destructor) closes the listeners, cancels dials, lets sessions
// flush their pending output for up to `shutdown_grace`, then closes every socket and joins
// the network thread. Sessions still open are told TransportClosed("network service
// stopped").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"
#include "sync/net/backoff.h"
#include "sync/protocol/session.h"

namespace estelik::sync::net {

struct NetworkOptions {
  std::chrono::milliseconds connect_timeout{10'000};   // name resolution + TCP connect, per try
  std::chrono::milliseconds idle_timeout{60'000};      // nothing received or sent
  std::chrono::milliseconds stall_timeout{60'000};     // peer trickles, session never answers
  size_t stall_progress_bytes = 16 * 1024;             // ... this many bytes restart the clock
  std::chrono::milliseconds write_timeout{30'000};     // one write not accepted by the peer
  std::chrono::milliseconds shutdown_grace{1'000};     // Stop(): time sessions get to flush
  std::chrono::milliseconds close_linger{2'000};       // after our FIN, wait this long for theirs
  size_t read_buffer_size = 16 * 1024;                 // bytes read from the socket at once
  size_t write_chunk_size = 64 * 1024;                 // bytes the driver copies out at once
  size_t output_high_water = 1024 * 1024;              // stop reading above this much output
  size_t max_sessions = 64;                            // inbound + outbound
  size_t max_sessions_per_ip = 4;                      // inbound, per remote IP address
  size_t max_unauthenticated = 16;                     // inbound, not yet authenticated
  size_t max_unauthenticated_per_ip = 2;               // ... from one remote IP address
  std::chrono::milliseconds eviction_cooldown{1'000};  // an evicted stranger's IP is refused
};

enum class Direction { kInbound, kOutbound };

struct SessionInfo {
  uint64_t id = 0;  // unique within one NetworkService
  Direction direction = Direction::kInbound;
  std::string peer;  // remote address, "127.0.0.1:53211" or "[::1]:53211"
};

struct SessionReport {
  SessionInfo info;
  bool succeeded = false;      // the session succeeded and all its output was handed to the kernel
  bool authenticated = false;  // the session authenticated its peer (Session::authenticated)
  std::string close_reason;
  uint64_t bytes_in = 0;   // bytes received from the peer
  uint64_t bytes_out = 0;  // bytes sent to the peer
  std::chrono::milliseconds duration{0};
};

// "session with 127.0.0.1:53211 ended: done (12.3 KB in, 4.1 KB out, 1.2 s)"
std::string DescribeSessionEnd(const SessionReport& report);

// Observes the service; every method runs on the network thread (see above). The default
// implementations do nothing.
class NetworkEvents {
 public:
  virtual ~NetworkEvents() = default;
  virtual void OnSessionStarted(const SessionInfo& /*info*/) {}
  // The session's peer authenticated (Session::authenticated() became true); at most once per
  // session, before its OnSessionEnded.
  virtual void OnSessionAuthenticated(const SessionInfo& /*info*/) {}
  virtual void OnSessionEnded(const SessionReport& /*report*/) {}
  // An inbound connection was closed without a session ("too many sessions from 10.0.0.7").
  virtual void OnConnectionRejected(const std::string& /*peer*/, const std::string& /*why*/) {}
  // A dial attempt failed and the dialer will try again after `retry_in`.
  virtual void OnDialRetry(const std::string& /*peer*/, int /*attempt*/, const Status& /*why*/,
                           std::chrono::milliseconds /*retry_in*/) {}
};

// Creates the Session for a new connection, or returns nullptr to refuse it. Runs on the
// network thread.
using SessionFactory = std::function<std::unique_ptr<Session>(const SessionInfo& info)>;

struct DialOptions {
  // Try again (after BackoffDelay) when a connect fails or a session ends unsuccessfully,
  // until a session succeeds, `max_attempts` is reached, Cancel() or Stop(). The factory makes
  // a fresh session for every attempt; resuming where the last one stopped is its job.
  bool retry = false;
  int max_attempts = 0;  // with retry: 0 means no limit
  BackoffPolicy backoff;
  // Source of uniform 64-bit values for the jitter; called on the network thread. Default: a
  // generator seeded from std::random_device.
  std::function<uint64_t()> random;
};

// The outcome of a Dial(). Copies share the same dial. Dropping every copy does not cancel it.
class DialHandle {
 public:
  // Blocks until the dial is over. OK once a session succeeded; otherwise why the last attempt
  // failed: kIo (cannot connect, timed out), kLimitExceeded (too many sessions), kProtocol
  // (the session failed), kAborted (Cancel(), Stop(), or the factory refused).
  Status Wait() const;
  // Like Wait(), but returns nullopt if the dial is still going after `timeout`.
  std::optional<Status> WaitFor(std::chrono::milliseconds timeout) const;
  // Stops retrying and aborts a connect in progress. A session already running is left to
  // finish, and its outcome is the dial's outcome.
  void Cancel();
  // Connection attempts started so far.
  int attempts() const;

  struct State;
  explicit DialHandle(std::shared_ptr<State> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<State> state_;
};

class NetworkCore;  // network.cc

class NetworkService {
 public:
  // Starts the network thread. `events` may be null; otherwise it must outlive the service.
  explicit NetworkService(NetworkOptions options = {}, NetworkEvents* events = nullptr);
  ~NetworkService();  // Stop()
  NetworkService(const NetworkService&) = delete;
  NetworkService& operator=(const NetworkService&) = delete;

  // Listens on `address` (an IP literal, e.g. "127.0.0.1", "0.0.0.0", "::") and `port` (0 for
  // an ephemeral port) and returns the bound port. kInvalidArgument for a bad address, kIo if
  // the port cannot be bound, kAborted after Stop().
  Result<uint16_t> Listen(const std::string& address, uint16_t port, SessionFactory factory);

  // Connects to `host` (name or IP literal) and `port` and runs one session from `factory`,
  // retrying as `options` says.
  DialHandle Dial(const std::string& host, uint16_t port, SessionFactory factory,
                  DialOptions options = {});

  // Idempotent; see "Shutdown" above. Returns once the network thread has exited.
  void Stop();

  // Sessions currently open (a snapshot).
  size_t session_count() const;

 private:
  std::unique_ptr<NetworkCore> impl_;
};

}  // namespace estelik::sync::net
