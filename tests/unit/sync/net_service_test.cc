// NetworkService over real TCP sockets on 127.0.0.1 with small test sessions.
//
// Timeouts are short (hundreds of ms) so the suite is quick, and every wait has a generous
// upper bound so a loaded machine does not make a test flaky: the tests assert outcomes
// (who was cut, with what reason), never how long something took.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sync/net/network.h"
#include "sync/protocol/session.h"
#include "tests/support/wait.h"

namespace estelik::sync::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto kPatience = 20s;  // upper bound for anything that should happen "soon"

// ---------------------------------------------------------------------------------------------
// Test sessions.

// Output buffer, close state and the reaction to a lost transport that every test session has.
class TestSession : public Session {
 public:
  void Tick(uint64_t) override {}
  std::span<const uint8_t> PendingOutput() const override { return out_; }
  void ConsumeOutput(size_t n) override { out_.erase(out_.begin(), out_.begin() + n); }
  bool WantsInput() const override { return !closed_; }
  void TransportClosed(const std::string& why) override {
    Close("transport closed: " + why, false);
  }
  bool closed() const override { return closed_; }
  const std::string& close_reason() const override { return reason_; }
  bool succeeded() const override { return succeeded_; }
  uint64_t TickIntervalMs() const override { return 20; }
  // No handshake: these sessions count as a contact's from the start, so the limits tested
  // here are the general ones, not the pre-authentication budget (strangers_test.cc).
  bool authenticated() const override { return true; }

 protected:
  void Send(const std::string& text) { out_.insert(out_.end(), text.begin(), text.end()); }
  void Close(const std::string& reason, bool ok) {
    if (closed_) return;
    closed_ = true;
    reason_ = reason;
    succeeded_ = ok;
  }

 private:
  std::vector<uint8_t> out_;
  bool closed_ = false;
  bool succeeded_ = false;
  std::string reason_;
};

// Splits input into '\n'-terminated lines, whatever the transport's split.
class LineSession : public TestSession {
 public:
  void Feed(std::span<const uint8_t> bytes, uint64_t) override {
    for (uint8_t b : bytes) {
      if (closed()) return;
      if (b != '\n') {
        line_.push_back(static_cast<char>(b));
        continue;
      }
      OnLine(line_);
      line_.clear();
    }
  }

 protected:
  virtual void OnLine(const std::string& line) = 0;

 private:
  std::string line_;
};

// Echoes `rounds` lines back, then closes with "done".
class EchoServerSession : public LineSession {
 public:
  explicit EchoServerSession(int rounds) : rounds_(rounds) {}

 protected:
  void OnLine(const std::string& line) override {
    Send(line + "\n");
    if (++echoed_ == rounds_) Close("done", true);
  }

 private:
  const int rounds_;
  int echoed_ = 0;
};

// Sends "ping <i>" and waits for its echo, `rounds` times, then closes with "done".
class PingClientSession : public LineSession {
 public:
  explicit PingClientSession(int rounds) : rounds_(rounds) { SendPing(); }

 protected:
  void OnLine(const std::string& line) override {
    if (line != "ping " + std::to_string(sent_ - 1)) return Close("wrong echo: " + line, false);
    if (sent_ == rounds_) return Close("done", true);
    SendPing();
  }

 private:
  void SendPing() { Send("ping " + std::to_string(sent_++) + "\n"); }
  const int rounds_;
  int sent_ = 0;
};

// Wants input, never answers, never closes by itself. Counts what it was fed.
class SilentSession : public TestSession {
 public:
  explicit SilentSession(std::shared_ptr<std::atomic<uint64_t>> fed = nullptr)
      : fed_(std::move(fed)) {}
  void Feed(std::span<const uint8_t> bytes, uint64_t) override {
    if (fed_) *fed_ += bytes.size();
  }

 private:
  std::shared_ptr<std::atomic<uint64_t>> fed_;
};

// Takes `appetite` bytes, then never wants input again (and never closes by itself).
class SatedSession : public SilentSession {
 public:
  SatedSession(std::shared_ptr<std::atomic<uint64_t>> fed, uint64_t appetite)
      : SilentSession(fed), fed_(std::move(fed)), appetite_(appetite) {}
  bool WantsInput() const override { return *fed_ < appetite_; }

 private:
  std::shared_ptr<std::atomic<uint64_t>> fed_;
  const uint64_t appetite_;
};

// The byte at offset `i` of a flood: a pattern that catches reordered or lost chunks.
uint8_t FloodByte(uint64_t i) { return static_cast<uint8_t>((i * 31 + i / 251) % 251); }

// Offers `limit` bytes of the flood pattern (unbounded if 0) without ever holding more than a
// 64 KiB window: what it has produced is exactly what the driver took from it.
class FloodSession : public TestSession {
 public:
  FloodSession(uint64_t limit, std::shared_ptr<std::atomic<uint64_t>> taken)
      : limit_(limit), taken_(std::move(taken)) {
    Refill();
  }
  void Feed(std::span<const uint8_t>, uint64_t) override {}
  std::span<const uint8_t> PendingOutput() const override { return window_; }
  void ConsumeOutput(size_t n) override {
    *taken_ += n;
    offset_ += n;
    window_.erase(window_.begin(), window_.begin() + n);
    if (window_.empty()) Refill();
  }

 private:
  void Refill() {
    if (limit_ != 0 && offset_ >= limit_) return Close("done", true);
    uint64_t n = 64 * 1024;
    if (limit_ != 0) n = std::min(n, limit_ - offset_);
    window_.resize(n);
    for (uint64_t i = 0; i < n; ++i) window_[i] = FloodByte(offset_ + i);
  }

  const uint64_t limit_;
  std::shared_ptr<std::atomic<uint64_t>> taken_;
  uint64_t offset_ = 0;
  std::vector<uint8_t> window_;
};

// Sends `per_tick` bytes on each of its first `ticks` Tick()s, then closes with "done": a
// steady one-way stream with nothing to answer.
class PacedSenderSession : public TestSession {
 public:
  PacedSenderSession(int ticks, size_t per_tick) : ticks_(ticks), per_tick_(per_tick) {}
  void Feed(std::span<const uint8_t>, uint64_t) override {}
  void Tick(uint64_t) override {
    if (closed()) return;
    if (ticks_-- == 0) return Close("done", true);
    Send(std::string(per_tick_, 's'));
  }

 private:
  int ticks_;
  const size_t per_tick_;
};

// Receives `expected` bytes of the flood pattern and checks every one.
class FloodSinkSession : public TestSession {
 public:
  explicit FloodSinkSession(uint64_t expected) : expected_(expected) {}
  void Feed(std::span<const uint8_t> bytes, uint64_t) override {
    for (uint8_t b : bytes) {
      if (closed()) return;
      if (b != FloodByte(received_)) return Close("corrupt at " + std::to_string(received_), false);
      if (++received_ == expected_) Close("done", true);
    }
  }

 private:
  const uint64_t expected_;
  uint64_t received_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Helpers.

// Records what the service reports, for the test thread to wait on.
class Recorder : public NetworkEvents {
 public:
  void OnSessionStarted(const SessionInfo&) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++started_;
    cv_.notify_all();
  }
  void OnSessionEnded(const SessionReport& report) override {
    std::lock_guard<std::mutex> lock(mu_);
    ended_.push_back(report);
    cv_.notify_all();
  }
  void OnConnectionRejected(const std::string& peer, const std::string& why) override {
    std::lock_guard<std::mutex> lock(mu_);
    rejected_.push_back(peer + ": " + why);
    cv_.notify_all();
  }

  // Waits (bounded) until `done` holds; returns whether it did.
  bool WaitUntil(const std::function<bool()>& done) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kPatience, done);
  }
  bool WaitForEnded(size_t n) {
    return WaitUntil([&] { return ended_.size() >= n; });
  }
  bool WaitForStarted(size_t n) {
    return WaitUntil([&] { return started_ >= n; });
  }
  bool WaitForRejected(size_t n) {
    return WaitUntil([&] { return rejected_.size() >= n; });
  }
  std::vector<SessionReport> ended() {
    std::lock_guard<std::mutex> lock(mu_);
    return ended_;
  }
  std::vector<std::string> rejected() {
    std::lock_guard<std::mutex> lock(mu_);
    return rejected_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t started_ = 0;
  std::vector<SessionReport> ended_;
  std::vector<std::string> rejected_;
};

NetworkOptions QuickOptions() {
  NetworkOptions options;
  options.connect_timeout = 5s;
  options.idle_timeout = 400ms;
  options.stall_timeout = 600ms;
  options.write_timeout = 400ms;
  options.shutdown_grace = 300ms;
  options.close_linger = 300ms;
  return options;
}

// A port on 127.0.0.1 that nothing listens on (bound once, then released).
uint16_t ClosedPort() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

// A plain blocking client socket, for peers that misbehave below the session level.
struct RawClient {
  asio::io_context io;
  tcp::socket socket{io};
  explicit RawClient(uint16_t port) {
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  // True once the server has closed the connection (EOF or reset), waiting up to kPatience.
  bool WaitUntilClosedByServer() {
    socket.non_blocking(true);
    uint8_t buffer[4096];
    return estelik::testing::WaitUntil(
        [&] {
          boost::system::error_code ec;
          socket.read_some(asio::buffer(buffer), ec);
          return ec && ec != asio::error::would_block;
        },
        kPatience);
  }
};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

SessionFactory Echo(int rounds) {
  return [rounds](const SessionInfo&) { return std::make_unique<EchoServerSession>(rounds); };
}
SessionFactory Ping(int rounds) {
  return [rounds](const SessionInfo&) { return std::make_unique<PingClientSession>(rounds); };
}

// ---------------------------------------------------------------------------------------------

TEST(NetworkServiceTest, FiftyConcurrentPeersAllCompleteTheirExchange) {
  constexpr int kPeers = 50;
  constexpr int kRounds = 20;
  NetworkOptions options;  // production timeouts: nothing here should time out
  options.max_sessions = 128;
  options.max_sessions_per_ip = 128;
  Recorder server_events;
  NetworkService server(options, &server_events);
  auto port = server.Listen("127.0.0.1", 0, Echo(kRounds));
  ASSERT_TRUE(port.ok()) << port.status().ToString();

  NetworkService client(options);
  std::vector<DialHandle> dials;
  for (int i = 0; i < kPeers; ++i) dials.push_back(client.Dial("127.0.0.1", *port, Ping(kRounds)));
  for (auto& dial : dials) {
    const Status status = dial.Wait();
    EXPECT_TRUE(status.ok()) << status.ToString();
  }
  ASSERT_TRUE(server_events.WaitForEnded(kPeers));
  for (const SessionReport& report : server_events.ended()) {
    EXPECT_TRUE(report.succeeded) << DescribeSessionEnd(report);
    EXPECT_EQ(report.close_reason, "done");
    EXPECT_EQ(report.info.direction, Direction::kInbound);
    EXPECT_TRUE(Contains(report.info.peer, "127.0.0.1:"));
    EXPECT_GT(report.bytes_in, 0u);
    EXPECT_EQ(report.bytes_in, report.bytes_out);  // an echo
  }
}

TEST(NetworkServiceTest, ClientThatSendsNothingIsCutByTheIdleTimeoutWhileOthersProceed) {
  NetworkOptions options = QuickOptions();
  options.max_sessions_per_ip = 16;
  Recorder events;
  NetworkService server(options, &events);
  auto silent_port = server.Listen(
      "127.0.0.1", 0, [](const SessionInfo&) { return std::make_unique<SilentSession>(); });
  auto echo_port = server.Listen("127.0.0.1", 0, Echo(3));
  ASSERT_TRUE(silent_port.ok() && echo_port.ok());

  RawClient idle(*silent_port);
  NetworkService client;
  DialHandle busy = client.Dial("127.0.0.1", *echo_port, Ping(3));
  EXPECT_TRUE(busy.Wait().ok());

  EXPECT_TRUE(idle.WaitUntilClosedByServer());
  ASSERT_TRUE(events.WaitForEnded(2));
  int idle_cuts = 0;
  for (const SessionReport& report : events.ended()) {
    if (Contains(report.close_reason, "idle timeout")) {
      ++idle_cuts;
      EXPECT_FALSE(report.succeeded);
      EXPECT_EQ(report.bytes_in, 0u);
    } else {
      EXPECT_EQ(report.close_reason, "done");
    }
  }
  EXPECT_EQ(idle_cuts, 1);
}

TEST(NetworkServiceTest, SlowlorisPeerTricklingBytesIsCutByTheStallTimeout) {
  NetworkOptions options = QuickOptions();
  options.idle_timeout = 5s;  // the trickle keeps the connection "active": idle never fires
  options.stall_timeout = 500ms;
  Recorder events;
  NetworkService server(options, &events);
  auto fed = std::make_shared<std::atomic<uint64_t>>(0);
  auto port = server.Listen(
      "127.0.0.1", 0, [fed](const SessionInfo&) { return std::make_unique<SilentSession>(fed); });
  ASSERT_TRUE(port.ok());

  RawClient slowloris(*port);
  std::atomic<bool> cut{false};
  std::thread trickle([&] {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (!cut && std::chrono::steady_clock::now() < deadline) {
      boost::system::error_code ec;
      const uint8_t byte = 'x';
      asio::write(slowloris.socket, asio::buffer(&byte, 1), ec);
      if (ec) break;
      std::this_thread::sleep_for(100ms);  // the trickle itself: slow on purpose, not a wait
    }
  });
  const bool ended = events.WaitForEnded(1);
  cut = true;
  trickle.join();
  ASSERT_TRUE(ended);
  const SessionReport report = events.ended()[0];
  EXPECT_TRUE(Contains(report.close_reason, "stall timeout")) << report.close_reason;
  EXPECT_FALSE(report.succeeded);
  EXPECT_GT(*fed, 0u);  // it was fed the trickle, so the idle timeout was not what cut it
}

TEST(NetworkServiceTest, PeerStreamingAtAUsefulRateIsNotMistakenForASlowloris) {
  NetworkOptions options = QuickOptions();
  options.idle_timeout = 5s;
  options.stall_timeout = 300ms;  // far shorter than the stream, which the session never answers
  Recorder events;
  NetworkService server(options, &events);
  auto fed = std::make_shared<std::atomic<uint64_t>>(0);
  auto port = server.Listen(
      "127.0.0.1", 0, [fed](const SessionInfo&) { return std::make_unique<SilentSession>(fed); });
  ASSERT_TRUE(port.ok());
  static constexpr int kTicks = 40;
  static constexpr size_t kPerTick = 32 * 1024;
  NetworkService client(QuickOptions());
  const Status status = client
                            .Dial("127.0.0.1", *port,
                                  [](const SessionInfo&) {
                                    return std::make_unique<PacedSenderSession>(kTicks, kPerTick);
                                  })
                            .Wait();
  EXPECT_TRUE(status.ok()) << status.ToString();
  ASSERT_TRUE(events.WaitForEnded(1));
  const SessionReport report = events.ended()[0];
  EXPECT_EQ(report.close_reason, "transport closed: peer closed the connection");
  EXPECT_EQ(*fed, kTicks * kPerTick);
}

TEST(NetworkServiceTest, PeerThatNeverReadsIsCutByTheWriteTimeoutWithBoundedOutput) {
  NetworkOptions options = QuickOptions();
  Recorder events;
  NetworkService server(options, &events);
  auto taken = std::make_shared<std::atomic<uint64_t>>(0);
  auto port = server.Listen("127.0.0.1", 0, [taken](const SessionInfo&) {
    return std::make_unique<FloodSession>(/*limit=*/0, taken);
  });
  ASSERT_TRUE(port.ok());

  RawClient deaf(*port);  // connects and never reads
  ASSERT_TRUE(events.WaitForEnded(1));
  const SessionReport report = events.ended()[0];
  EXPECT_TRUE(Contains(report.close_reason, "write timeout")) << report.close_reason;
  EXPECT_FALSE(report.succeeded);
  // The session would produce forever; the driver took only what the kernel buffers absorbed
  // plus one chunk, instead of queueing the flood in memory.
  EXPECT_LE(*taken, report.bytes_out + options.write_chunk_size);
  EXPECT_LT(*taken, 64u * 1024 * 1024);
}

TEST(NetworkServiceTest, LargeOutputArrivesIntactAndInOrder) {
  static constexpr uint64_t kBytes = 8 * 1024 * 1024;
  NetworkOptions options;
  options.write_chunk_size = 10'000;  // not a divisor of anything: chunk boundaries everywhere
  options.read_buffer_size = 3'000;
  Recorder events;
  NetworkService server(options, &events);
  auto taken = std::make_shared<std::atomic<uint64_t>>(0);
  auto port = server.Listen("127.0.0.1", 0, [taken](const SessionInfo&) {
    return std::make_unique<FloodSession>(kBytes, taken);
  });
  ASSERT_TRUE(port.ok());
  NetworkService client(options);
  DialHandle dial = client.Dial("127.0.0.1", *port, [](const SessionInfo&) {
    return std::make_unique<FloodSinkSession>(kBytes);
  });
  const Status status = dial.Wait();
  EXPECT_TRUE(status.ok()) << status.ToString();
  ASSERT_TRUE(events.WaitForEnded(1));
  EXPECT_TRUE(events.ended()[0].succeeded) << DescribeSessionEnd(events.ended()[0]);
  EXPECT_EQ(events.ended()[0].bytes_out, kBytes);
}

TEST(NetworkServiceTest, SessionThatStopsWantingInputIsNotFedAndThePeerIsHeldBack) {
  NetworkOptions options = QuickOptions();
  options.read_buffer_size = 4096;
  options.idle_timeout = 10s;  // the client's write timeout must be what ends this
  Recorder server_events;
  NetworkService server(options, &server_events);
  auto fed = std::make_shared<std::atomic<uint64_t>>(0);
  static constexpr uint64_t kAppetite = 1000;
  auto port = server.Listen("127.0.0.1", 0, [fed](const SessionInfo&) {
    return std::make_unique<SatedSession>(fed, kAppetite);
  });
  ASSERT_TRUE(port.ok());

  // The client would send forever; backpressure must stop it, and its write timeout cuts it.
  Recorder client_events;
  NetworkService client(QuickOptions(), &client_events);
  auto sent = std::make_shared<std::atomic<uint64_t>>(0);
  DialHandle dial = client.Dial("127.0.0.1", *port, [sent](const SessionInfo&) {
    return std::make_unique<FloodSession>(/*limit=*/0, sent);
  });
  const Status status = dial.Wait();
  EXPECT_EQ(status.code(), Code::kProtocol) << status.ToString();
  EXPECT_TRUE(Contains(status.message(), "write timeout")) << status.ToString();
  // One read may complete after the appetite is reached, never more.
  EXPECT_GE(*fed, kAppetite);
  EXPECT_LT(*fed, kAppetite + options.read_buffer_size);
}

TEST(NetworkServiceTest, ConnectionsBeyondThePerIpLimitAreClosedAndReported) {
  NetworkOptions options = QuickOptions();
  options.idle_timeout = 10s;
  options.stall_timeout = 10s;
  options.max_sessions_per_ip = 2;
  Recorder events;
  NetworkService server(options, &events);
  auto port = server.Listen("127.0.0.1", 0,
                            [](const SessionInfo&) { return std::make_unique<SilentSession>(); });
  ASSERT_TRUE(port.ok());

  RawClient first(*port);
  RawClient second(*port);
  ASSERT_TRUE(events.WaitForStarted(2));
  RawClient third(*port);
  EXPECT_TRUE(third.WaitUntilClosedByServer());
  ASSERT_TRUE(events.WaitForRejected(1));
  EXPECT_TRUE(Contains(events.rejected()[0], "too many sessions from 127.0.0.1 (limit 2)"))
      << events.rejected()[0];
  EXPECT_EQ(server.session_count(), 2u);
  EXPECT_TRUE(events.ended().empty());  // the two admitted sessions are untouched
}

TEST(NetworkServiceTest, ConnectionsBeyondTheTotalLimitAreClosedAndReported) {
  NetworkOptions options = QuickOptions();
  options.idle_timeout = 10s;
  options.max_sessions = 1;
  Recorder events;
  NetworkService server(options, &events);
  auto port = server.Listen("127.0.0.1", 0,
                            [](const SessionInfo&) { return std::make_unique<SilentSession>(); });
  ASSERT_TRUE(port.ok());
  RawClient first(*port);
  ASSERT_TRUE(events.WaitForStarted(1));
  RawClient second(*port);
  EXPECT_TRUE(second.WaitUntilClosedByServer());
  ASSERT_TRUE(events.WaitForRejected(1));
  EXPECT_TRUE(Contains(events.rejected()[0], "too many sessions open (limit 1)"));
}

TEST(NetworkServiceTest, StopWithSessionsInFlightEndsEverySessionAndReturns) {
  NetworkOptions options = QuickOptions();
  options.idle_timeout = 30s;
  options.stall_timeout = 30s;
  options.max_sessions_per_ip = 16;
  Recorder events;
  auto server = std::make_unique<NetworkService>(options, &events);
  auto port = server->Listen("127.0.0.1", 0,
                             [](const SessionInfo&) { return std::make_unique<SilentSession>(); });
  ASSERT_TRUE(port.ok());
  auto taken = std::make_shared<std::atomic<uint64_t>>(0);
  auto flood_port = server->Listen("127.0.0.1", 0, [taken](const SessionInfo&) {
    return std::make_unique<FloodSession>(0, taken);
  });
  ASSERT_TRUE(flood_port.ok());

  std::vector<std::unique_ptr<RawClient>> peers;
  for (int i = 0; i < 5; ++i) peers.push_back(std::make_unique<RawClient>(*port));
  peers.push_back(std::make_unique<RawClient>(*flood_port));  // its output never drains
  ASSERT_TRUE(events.WaitForStarted(peers.size()));

  server->Stop();  // must not wait for the idle timeout (30 s) or the flood to end
  ASSERT_EQ(events.ended().size(), peers.size());
  for (const SessionReport& report : events.ended()) {
    EXPECT_TRUE(Contains(report.close_reason, "network service stopped")) << report.close_reason;
  }
  EXPECT_EQ(server->session_count(), 0u);
  for (auto& peer : peers) EXPECT_TRUE(peer->WaitUntilClosedByServer());
  // After Stop(), the service refuses new work instead of hanging.
  EXPECT_EQ(server->Listen("127.0.0.1", 0, Echo(1)).status().code(), Code::kAborted);
  EXPECT_EQ(server->Dial("127.0.0.1", *port, Ping(1)).Wait().code(), Code::kAborted);
  server->Stop();  // idempotent
  server.reset();
}

TEST(NetworkServiceTest, DialToAClosedPortFailsWithAClearError) {
  NetworkService client(QuickOptions());
  const uint16_t port = ClosedPort();
  const Status status = client.Dial("127.0.0.1", port, Ping(1)).Wait();
  EXPECT_EQ(status.code(), Code::kIo);
  EXPECT_TRUE(Contains(status.message(), "cannot connect to 127.0.0.1:" + std::to_string(port)))
      << status.message();
  EXPECT_TRUE(Contains(status.message(), "refused")) << status.message();
}

TEST(NetworkServiceTest, ListenOnABadAddressFailsWithAClearError) {
  NetworkService service;
  auto result = service.Listen("not-an-ip", 0, Echo(1));
  EXPECT_EQ(result.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Contains(result.status().message(), "not an IP address"));
}

TEST(NetworkServiceTest, DialWithRetrySucceedsOnceTheServerAppears) {
  const uint16_t port = ClosedPort();
  NetworkService client(QuickOptions());
  DialOptions retry;
  retry.retry = true;
  retry.backoff.initial = 20ms;
  retry.backoff.max = 100ms;
  retry.random = [] { return uint64_t{0x8000000000000000}; };
  DialHandle dial = client.Dial("127.0.0.1", port, Ping(5), retry);

  // Let it fail a few times before the server exists.
  ASSERT_TRUE(estelik::testing::WaitUntil([&] { return dial.attempts() >= 3; }, kPatience));
  NetworkService server(QuickOptions());
  ASSERT_TRUE(server.Listen("127.0.0.1", port, Echo(5)).ok());

  const Status status = dial.Wait();
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_GE(dial.attempts(), 3);
}

TEST(NetworkServiceTest, DialWithRetryGivesUpAfterMaxAttempts) {
  NetworkService client(QuickOptions());
  DialOptions retry;
  retry.retry = true;
  retry.max_attempts = 3;
  retry.backoff.initial = 5ms;
  retry.backoff.max = 10ms;
  const Status status = client.Dial("127.0.0.1", ClosedPort(), Ping(1), retry).Wait();
  EXPECT_EQ(status.code(), Code::kIo) << status.ToString();
}

TEST(NetworkServiceTest, CancelStopsARetryingDial) {
  NetworkService client(QuickOptions());
  DialOptions retry;
  retry.retry = true;
  retry.backoff.initial = 10s;  // it will be waiting when cancelled
  retry.backoff.max = 10s;
  DialHandle dial = client.Dial("127.0.0.1", ClosedPort(), Ping(1), retry);
  EXPECT_TRUE(estelik::testing::WaitUntil([&] { return dial.attempts() >= 1; }, kPatience));
  dial.Cancel();
  const std::optional<Status> status = dial.WaitFor(kPatience);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code(), Code::kAborted) << status->ToString();
}

TEST(NetworkServiceTest, FailedSessionIsRetriedWithAFreshSession) {
  // The first server session refuses with an error; the second one completes.
  NetworkService server(QuickOptions());
  auto count = std::make_shared<std::atomic<int>>(0);
  auto port =
      server.Listen("127.0.0.1", 0, [count](const SessionInfo&) -> std::unique_ptr<Session> {
        if ((*count)++ == 0) return nullptr;  // closes the first connection at once
        return std::make_unique<EchoServerSession>(2);
      });
  ASSERT_TRUE(port.ok());
  NetworkService client(QuickOptions());
  auto sessions = std::make_shared<std::atomic<int>>(0);
  DialOptions retry;
  retry.retry = true;
  retry.backoff.initial = 10ms;
  DialHandle dial = client.Dial(
      "127.0.0.1", *port,
      [sessions](const SessionInfo&) {
        ++*sessions;
        return std::make_unique<PingClientSession>(2);
      },
      retry);
  const Status status = dial.Wait();
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(*sessions, 2);
}

TEST(NetworkServiceTest, SessionEndIsDescribedWithAddressReasonAndSizesOnly) {
  SessionReport report;
  report.info.peer = "127.0.0.1:53211";
  report.close_reason = "done";
  report.bytes_in = 12'345;
  report.bytes_out = 4'100;
  report.duration = 1'234ms;
  EXPECT_EQ(DescribeSessionEnd(report),
            "session with 127.0.0.1:53211 ended: done (12.1 KiB in, 4.0 KiB out, 1.2 s)");
  report.bytes_in = 999;
  report.bytes_out = 5'600'000;
  EXPECT_EQ(DescribeSessionEnd(report),
            "session with 127.0.0.1:53211 ended: done (999 B in, 5.3 MiB out, 1.2 s)");
}

}  // namespace
}  // namespace estelik::sync::net
