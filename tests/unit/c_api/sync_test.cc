// The C API's sync, panic-lock and auto-lock promises, with real vaults and real sockets on
// 127.0.0.1: app calls from several threads keep working while a sync runs, callbacks may call
// back into the vault, a lock (by hand or by auto-lock) stops a running server, a continuous
// dial keeps a peer up to date, progress events count every step on both sides, a one-shot
// sync can be cancelled and resumed, and LAN discovery finds a listener to sync with.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "platform/c/estelik.h"
#include "platform/c/testing.h"
#include "proto/record.pb.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"
#include "tests/unit/c_api/c_api_test_util.h"

namespace {

using estelik::testing::WaitUntil;
using namespace std::chrono_literals;

using estelik::testing::Buffer;
using estelik::testing::Error;
constexpr auto& kPass = estelik::testing::kCApiPass;

// Events of one sync, recorded by its C callback (which runs on the network thread).
struct EventLog {
  std::mutex mu;
  int started = 0;
  int ended = 0;
  int ended_ok = 0;
  std::vector<std::string> reasons;

  static void OnEvent(void* user_data, const estelik_sync_event* event) {
    auto* log = static_cast<EventLog*>(user_data);
    std::lock_guard lock(log->mu);
    if (event->kind == ESTELIK_SYNC_SESSION_STARTED) ++log->started;
    if (event->kind == ESTELIK_SYNC_SESSION_ENDED) {
      ++log->ended;
      log->ended_ok += event->succeeded;
      log->reasons.emplace_back(event->reason);
    }
  }
  estelik_sync_callbacks Callbacks() { return {&EventLog::OnEvent, this}; }
};

// Every event of one sync, with the thread it came on. Event pointers are dropped (they live
// for the callback only); kinds, session ids and stats are kept.
struct StepLog {
  std::mutex mu;
  std::vector<estelik_sync_event> events;
  std::vector<std::thread::id> threads;
  std::vector<std::string> addresses;  // PEER_FOUND

  static void OnEvent(void* user_data, const estelik_sync_event* event) {
    auto* log = static_cast<StepLog*>(user_data);
    std::lock_guard lock(log->mu);
    log->events.push_back(*event);
    log->events.back().peer_address = nullptr;
    log->events.back().reason = nullptr;
    log->threads.push_back(std::this_thread::get_id());
    if (event->kind == ESTELIK_SYNC_PEER_FOUND) log->addresses.emplace_back(event->peer_address);
  }
  estelik_sync_callbacks Callbacks() { return {&StepLog::OnEvent, this}; }

  int Count(estelik_sync_event_kind kind) {
    std::lock_guard lock(mu);
    int n = 0;
    for (const auto& e : events) n += e.kind == kind;
    return n;
  }
  // The stats of the PROGRESS events (in order) and of the SESSION_ENDED event of `session`.
  std::vector<estelik_sync_stats> Progress(uint64_t session) {
    std::lock_guard lock(mu);
    std::vector<estelik_sync_stats> out;
    for (const auto& e : events) {
      if (e.kind == ESTELIK_SYNC_PROGRESS && e.session_id == session) out.push_back(e.stats);
    }
    return out;
  }
  std::optional<estelik_sync_event> LastEnded() {
    std::lock_guard lock(mu);
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->kind == ESTELIK_SYNC_SESSION_ENDED) return *it;
    }
    return std::nullopt;
  }
  bool NoneOn(std::thread::id thread) {
    std::lock_guard lock(mu);
    return std::find(threads.begin(), threads.end(), thread) == threads.end();
  }
};

// The steps a session's PROGRESS events report, checking the header's promise on the way:
// each event is exactly one step after the one before it (one of ops sent, ops received,
// chunks sent, chunks stored grew; a chunk count by exactly one).
struct Steps {
  int batches_sent = 0;
  int batches_received = 0;
  uint64_t chunks_sent = 0;
  uint64_t chunks_received = 0;
};
Steps CountSteps(const std::vector<estelik_sync_stats>& progress) {
  Steps steps;
  estelik_sync_stats prev{};
  for (const estelik_sync_stats& s : progress) {
    const bool sent = s.ops_sent > prev.ops_sent;
    const bool received = s.ops_received > prev.ops_received;
    const bool chunk_sent = s.chunks_sent > prev.chunks_sent;
    const bool chunk_stored = s.chunks_received > prev.chunks_received;
    EXPECT_EQ(sent + received + chunk_sent + chunk_stored, 1) << "not one step per event";
    EXPECT_TRUE(!chunk_sent || s.chunks_sent == prev.chunks_sent + 1);
    EXPECT_TRUE(!chunk_stored || s.chunks_received == prev.chunks_received + 1);
    steps.batches_sent += sent;
    steps.batches_received += received;
    steps.chunks_sent += chunk_sent;
    steps.chunks_received += chunk_stored;
    prev = s;
  }
  return steps;
}

// A socket of `type` bound to 127.0.0.1 on a free port, and that address in *address; -1 if
// it cannot be.
int LoopbackSocket(int type, std::string* address) {
  int fd = socket(AF_INET, type, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "cannot bind a socket on 127.0.0.1";
    if (fd >= 0) close(fd);
    return -1;
  }
  *address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  return fd;
}

// A real TCP listener on 127.0.0.1 that never speaks: the kernel completes a connection, and the
// handshake then waits for an answer that never comes.
class SilentListener {
 public:
  SilentListener() : fd_(LoopbackSocket(SOCK_STREAM, &address_)) {
    if (fd_ >= 0 && listen(fd_, 4) != 0) ADD_FAILURE() << "cannot listen on 127.0.0.1";
  }
  ~SilentListener() {
    if (fd_ >= 0) close(fd_);
  }
  const std::string& address() const { return address_; }

 private:
  std::string address_;
  int fd_;
};

// A bare UDP socket on 127.0.0.1 that beacons can be sent to.
class BeaconCatcher {
 public:
  BeaconCatcher() : fd_(LoopbackSocket(SOCK_DGRAM | SOCK_NONBLOCK, &address_)) {}
  ~BeaconCatcher() {
    if (fd_ >= 0) close(fd_);
  }
  const std::string& address() const { return address_; }
  // Reads every datagram waiting, without blocking; returns how many there were.
  int Drain() {
    uint8_t datagram[64];
    int n = 0;
    while (fd_ >= 0 && recv(fd_, datagram, sizeof datagram, 0) >= 0) ++n;
    return n;
  }

 private:
  std::string address_;
  int fd_;
};

// The clock auto-lock of one vault reads, moved by the test instead of sleeping. Shared with
// the vault, which may still read it after the test's ManualClock is gone.
class ManualClock {
 public:
  explicit ManualClock(estelik_vault* vault) {
    estelik::capi::SetClockForTesting(vault, [now = now_] { return now->load(); });
  }
  void Advance(std::chrono::steady_clock::duration by) { *now_ = now_->load() + by; }

 private:
  std::shared_ptr<std::atomic<std::chrono::steady_clock::time_point>> now_ =
      std::make_shared<std::atomic<std::chrono::steady_clock::time_point>>();
};

// Two vaults that are each other's contacts, A the admin of a circle B is in.
class SyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Error err;
    ASSERT_EQ(estelik_vault_create(dir.File("a").c_str(), kPass, sizeof kPass - 1,
                                   ESTELIK_KDF_TEST_ONLY, &a, &err.e),
              ESTELIK_OK)
        << err.message();
    ASSERT_EQ(estelik_vault_create(dir.File("b").c_str(), kPass, sizeof kPass - 1,
                                   ESTELIK_KDF_TEST_ONLY, &b, &err.e),
              ESTELIK_OK);
    uint8_t key_a[ESTELIK_PUBLIC_KEY_SIZE], key_b[ESTELIK_PUBLIC_KEY_SIZE];
    ASSERT_EQ(estelik_identity_public_key(a, key_a, nullptr), ESTELIK_OK);
    ASSERT_EQ(estelik_identity_public_key(b, key_b, nullptr), ESTELIK_OK);
    ASSERT_EQ(estelik_contact_add(a, key_b, "B", nullptr), ESTELIK_OK);
    ASSERT_EQ(estelik_contact_add(b, key_a, "A", nullptr), ESTELIK_OK);
    ASSERT_EQ(estelik_circle_create(a, "circle", circle, nullptr), ESTELIK_OK);
    ASSERT_EQ(estelik_circle_add_member(a, circle, key_b, nullptr), ESTELIK_OK);
  }
  void TearDown() override {
    estelik_sync_free(server);
    estelik_vault_close(a);
    estelik_vault_close(b);
  }

  // Adds a testimony to A and shares it into the circle; returns its id.
  std::string AddShared(estelik_vault* vault, const std::string& title) {
    char* id = nullptr;
    Error err;
    EXPECT_EQ(
        estelik_testimony_add_simple(vault, "en", title.c_str(), "testimony body", &id, &err.e),
        ESTELIK_OK)
        << err.message();
    std::string out = id != nullptr ? id : "";
    estelik_string_free(id);
    EXPECT_EQ(estelik_testimony_share(vault, out.c_str(), circle, &err.e), ESTELIK_OK)
        << err.message();
    return out;
  }

  // Number of hits for `text` in `vault` (-1 on error).
  static int Hits(estelik_vault* vault, const std::string& text) {
    estelik::pb::SearchQuery query;
    query.set_text(text);
    query.mutable_page()->set_limit(1000);
    const std::string q = query.SerializeAsString();
    Buffer page;
    if (estelik_testimony_search(vault, reinterpret_cast<const uint8_t*>(q.data()), q.size(),
                                 &page.b, nullptr) != ESTELIK_OK) {
      return -1;
    }
    estelik::pb::SearchPage parsed;
    if (!parsed.ParseFromArray(page.b.data, static_cast<int>(page.b.size))) return -1;
    return parsed.hits_size();
  }

  // Adds an attachment of `chunks` full 64 KiB chunks to testimony `id` of `vault`.
  static void Attach(estelik_vault* vault, const std::string& id, size_t chunks) {
    estelik_attachment_writer* writer = nullptr;
    Error err;
    ASSERT_EQ(estelik_attachment_begin(vault, id.c_str(), "hearing.m4a", nullptr,
                                       ESTELIK_ATTACHMENT_GUESS, &writer, &err.e),
              ESTELIK_OK)
        << err.message();
    std::vector<uint8_t> chunk(64 * 1024);
    for (size_t i = 0; i < chunks; ++i) {
      for (size_t j = 0; j < chunk.size(); ++j) chunk[j] = static_cast<uint8_t>((i * 131 + j) >> 3);
      ASSERT_EQ(estelik_attachment_write(writer, chunk.data(), chunk.size(), &err.e), ESTELIK_OK);
    }
    ASSERT_EQ(estelik_attachment_finish(writer, nullptr, &err.e), ESTELIK_OK) << err.message();
  }

  // ESTELIK_OK if `vault` holds testimony `id`'s first attachment whole and authentic.
  static estelik_status VerifyAttachment(estelik_vault* vault, const std::string& id) {
    estelik_attachment_reader* reader = nullptr;
    estelik_status s = estelik_attachment_open(vault, id.c_str(), 0, &reader, nullptr);
    if (s == ESTELIK_OK) s = estelik_attachment_verify(reader, nullptr);
    estelik_attachment_close(reader);
    return s;
  }

  void Listen(estelik_vault* vault, const estelik_sync_callbacks* callbacks = nullptr) {
    Error err;
    ASSERT_EQ(estelik_sync_listen(vault, "127.0.0.1:0", nullptr, callbacks, &server, &err.e),
              ESTELIK_OK)
        << err.message();
    address = "127.0.0.1:" + std::to_string(estelik_sync_port(server));
  }

  estelik_status SyncOnce(estelik_vault* vault, std::string* why = nullptr,
                          const estelik_sync_callbacks* callbacks = nullptr) {
    Error err;
    estelik_status s =
        estelik_sync_once(vault, address.c_str(), nullptr, callbacks, nullptr, &err.e);
    if (why != nullptr) *why = err.message();
    return s;
  }

  estelik::testing::TempDir dir;
  estelik_vault* a = nullptr;
  estelik_vault* b = nullptr;
  uint8_t circle[ESTELIK_CIRCLE_ID_SIZE] = {};
  estelik_sync* server = nullptr;
  std::string address;
};

TEST_F(SyncTest, AppCallsFromSeveralThreadsKeepWorkingWhileSyncsRunAndNothingIsLost) {
  constexpr int kWriters = 3;
  constexpr int kPerWriter = 12;
  Listen(a);
  std::atomic<bool> writing{true};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  // Writers on A (shared testimonies) and on B (private ones) while B syncs with A.
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        if (AddShared(a, "convoy w" + std::to_string(w) + " n" + std::to_string(i)).empty()) {
          ++failures;
        }
        char* id = nullptr;
        if (estelik_testimony_add_simple(b, "en", "private note", "kept on B", &id, nullptr) !=
            ESTELIK_OK) {
          ++failures;
        }
        estelik_string_free(id);
      }
    });
  }
  // A reader on both while the writers and syncs run.
  std::thread reader([&] {
    while (writing) {
      if (Hits(a, "convoy") < 0 || Hits(b, "convoy") < 0) ++failures;
    }
  });
  std::thread syncer([&] {
    while (writing) {
      std::string why;
      if (SyncOnce(b, &why) != ESTELIK_OK) {
        ADD_FAILURE() << why;
        ++failures;
      }
    }
  });
  for (auto& t : threads) t.join();
  writing = false;
  reader.join();
  syncer.join();
  ASSERT_EQ(failures, 0);

  // A last sync brings every shared testimony; B's private ones stayed on B.
  ASSERT_EQ(SyncOnce(b), ESTELIK_OK);
  EXPECT_EQ(Hits(b, "convoy"), kWriters * kPerWriter);
  EXPECT_EQ(Hits(a, "private"), 0);
}

TEST_F(SyncTest, CallbacksMayCallTheVaultAndStopTheirOwnSync) {
  AddShared(a, "river crossing");
  struct Reentrant {
    estelik_vault* vault;
    estelik_sync** own;
    std::atomic<int> calls_ok{0};
    std::atomic<int> stops{0};
  } state{b, nullptr};
  estelik_sync_callbacks callbacks{
      [](void* user_data, const estelik_sync_event* event) {
        auto* s = static_cast<Reentrant*>(user_data);
        Buffer list;
        if (estelik_testimony_list(s->vault, nullptr, 0, nullptr, 0, &list.b, nullptr) ==
            ESTELIK_OK) {
          ++s->calls_ok;
        }
        if (event->kind == ESTELIK_SYNC_SESSION_ENDED && s->own != nullptr && *s->own) {
          if (estelik_sync_stop(*s->own, nullptr) == ESTELIK_OK) ++s->stops;
        }
      },
      &state};
  Listen(a);
  // One-shot: the callback lists B's testimonies from the network thread.
  ASSERT_EQ(SyncOnce(b, nullptr, &callbacks), ESTELIK_OK);
  EXPECT_GT(state.calls_ok, 0);
  EXPECT_EQ(Hits(b, "river"), 1);

  // Continuous dial whose callback stops it after the first session.
  estelik_sync* dial = nullptr;
  state.own = &dial;
  estelik_sync_options options = ESTELIK_SYNC_OPTIONS_INIT;
  options.interval_ms = 50;
  ASSERT_EQ(estelik_sync_dial(b, address.c_str(), &options, &callbacks, &dial, nullptr),
            ESTELIK_OK);
  EXPECT_TRUE(WaitUntil([&] { return state.stops > 0; })) << "the callback never stopped its dial";
  estelik_sync_free(dial);
  EXPECT_EQ(state.stops, 1);
}

TEST_F(SyncTest, ACallbackMayPanicLockTheVaultAndFreeItsOwnServer) {
  AddShared(a, "arrest at dawn");
  struct Context {
    estelik_vault* vault;
    estelik_sync* server = nullptr;
    std::atomic<bool> ready{false};
    std::atomic<int> events_after_free{0};
    std::atomic<bool> freed{false};
  } ctx{a};
  estelik_sync_callbacks callbacks{
      [](void* user_data, const estelik_sync_event* event) {
        auto* c = static_cast<Context*>(user_data);
        if (c->freed) ++c->events_after_free;
        if (event->kind != ESTELIK_SYNC_SESSION_ENDED || !c->ready || c->freed) return;
        estelik_vault_lock(c->vault);  // from the network thread: keys go at once
        estelik_sync_free(c->server);  // and the server frees itself
        c->freed = true;
      },
      &ctx};
  ASSERT_EQ(estelik_sync_listen(a, "127.0.0.1:0", nullptr, &callbacks, &ctx.server, nullptr),
            ESTELIK_OK);
  address = "127.0.0.1:" + std::to_string(estelik_sync_port(ctx.server));
  ctx.ready = true;
  ASSERT_EQ(SyncOnce(b), ESTELIK_OK);
  EXPECT_TRUE(WaitUntil([&] { return ctx.freed.load(); })) << "the callback never ran";
  EXPECT_TRUE(estelik_vault_is_locked(a));
  // The stop completes on its own once the callback returned: the port closes.
  EXPECT_TRUE(WaitUntil([&] { return SyncOnce(b) == ESTELIK_IO; })) << "the port stayed open";
  EXPECT_EQ(ctx.events_after_free, 0);
  EXPECT_EQ(Hits(b, "arrest"), 1);
}

TEST_F(SyncTest, ContinuousDialBringsNewTestimoniesUntilStopped) {
  Listen(a);
  estelik_sync* dial = nullptr;
  estelik_sync_options options = ESTELIK_SYNC_OPTIONS_INIT;
  options.interval_ms = 50;
  EventLog log;
  estelik_sync_callbacks callbacks = log.Callbacks();
  ASSERT_EQ(estelik_sync_dial(b, address.c_str(), &options, &callbacks, &dial, nullptr),
            ESTELIK_OK);
  AddShared(a, "first leaflet");
  EXPECT_TRUE(WaitUntil([&] { return Hits(b, "leaflet") >= 1; }));
  AddShared(a, "second leaflet");
  EXPECT_TRUE(WaitUntil([&] { return Hits(b, "leaflet") >= 2; }));
  ASSERT_EQ(estelik_sync_stop(dial, nullptr), ESTELIK_OK);
  estelik_sync_free(dial);
  std::lock_guard lock(log.mu);
  // The second leaflet may arrive in the session that the stop cut short, so only one session
  // is sure to have completed; every session that started reported its end.
  EXPECT_GE(log.ended_ok, 1);
  EXPECT_EQ(log.started, log.ended);
}

// Transport v2: a listening device answers only a dialer that names its key. B names A
// (peer_key) and syncs; B naming another contact gets NOT_FOUND (A sent nothing); without a
// peer_key B tries its contacts (A and C) in turn and finds A.
TEST_F(SyncTest, DialsNameTheContactOrTryEachInTurn) {
  estelik_vault* c = nullptr;
  ASSERT_EQ(estelik_vault_create(dir.File("c").c_str(), kPass, sizeof kPass - 1,
                                 ESTELIK_KDF_TEST_ONLY, &c, nullptr),
            ESTELIK_OK);
  uint8_t key_a[ESTELIK_PUBLIC_KEY_SIZE], key_c[ESTELIK_PUBLIC_KEY_SIZE];
  ASSERT_EQ(estelik_identity_public_key(a, key_a, nullptr), ESTELIK_OK);
  ASSERT_EQ(estelik_identity_public_key(c, key_c, nullptr), ESTELIK_OK);
  estelik_vault_close(c);
  ASSERT_EQ(estelik_contact_add(b, key_c, "C", nullptr), ESTELIK_OK);
  Listen(a);
  AddShared(a, "named leaflet");

  Error err;
  estelik_sync_options options = ESTELIK_SYNC_OPTIONS_INIT;
  options.peer_key = key_c;
  estelik_sync_stats summary;
  EXPECT_EQ(estelik_sync_once(b, address.c_str(), &options, nullptr, &summary, &err.e),
            ESTELIK_NOT_FOUND);
  EXPECT_NE(err.message().find("did not answer"), std::string::npos) << err.message();
  EXPECT_EQ(summary.bytes_in, 0u);  // A sent nothing at all to a dialer expecting C
  EXPECT_EQ(Hits(b, "leaflet"), 0);

  options.peer_key = key_a;
  ASSERT_EQ(estelik_sync_once(b, address.c_str(), &options, nullptr, &summary, &err.e), ESTELIK_OK)
      << err.message();
  EXPECT_EQ(Hits(b, "leaflet"), 1);
  ASSERT_EQ(summary.has_peer, 1);
  EXPECT_EQ(std::memcmp(summary.peer_key, key_a, sizeof key_a), 0);

  AddShared(a, "second leaflet");
  ASSERT_EQ(estelik_sync_once(b, address.c_str(), nullptr, nullptr, &summary, &err.e), ESTELIK_OK)
      << err.message();
  EXPECT_EQ(Hits(b, "leaflet"), 2);
}

TEST_F(SyncTest, PanicLockStopsARunningServerAndItsSessions) {
  AddShared(a, "evidence of the raid");
  EventLog log;
  estelik_sync_callbacks callbacks = log.Callbacks();
  Listen(a, &callbacks);
  ASSERT_EQ(SyncOnce(b), ESTELIK_OK);
  // A lock from another thread while B keeps syncing: once B's next session has started.
  std::atomic<bool> locked{false};
  std::thread syncer([&] {
    while (!locked) (void)SyncOnce(b);
  });
  EXPECT_TRUE(WaitUntil([&] {
    std::lock_guard lock(log.mu);
    return log.started >= 2;
  })) << "B's syncs never reached A";
  estelik_vault_lock(a);
  locked = true;
  syncer.join();
  // The server is gone: nothing answers on its port any more.
  std::string why;
  EXPECT_EQ(SyncOnce(b, &why), ESTELIK_IO) << why;
  EXPECT_EQ(estelik_sync_stop(server, nullptr), ESTELIK_OK);
  std::lock_guard lock(log.mu);
  EXPECT_EQ(log.started, log.ended);
  // Unlocking does not bring the old server back, and A's data is intact.
  ASSERT_EQ(estelik_vault_unlock(a, kPass, sizeof kPass - 1, nullptr), ESTELIK_OK);
  EXPECT_EQ(SyncOnce(b), ESTELIK_IO);
  EXPECT_EQ(Hits(a, "raid"), 1);
}

TEST_F(SyncTest, LockingTheVaultAbortsASyncOnceInProgressWithLocked) {
  // The handshake waits for an answer that never comes, until B is locked.
  SilentListener silent;
  address = silent.address();

  EventLog log;
  estelik_sync_callbacks callbacks = log.Callbacks();
  std::atomic<estelik_status> result{ESTELIK_OK};
  std::string why;
  std::thread once([&] { result = SyncOnce(b, &why, &callbacks); });
  EXPECT_TRUE(WaitUntil([&] {
    std::lock_guard lock(log.mu);
    return log.started > 0;
  })) << "the sync never started";
  estelik_vault_lock(b);
  once.join();
  EXPECT_EQ(result, ESTELIK_LOCKED) << why;
  std::lock_guard lock(log.mu);
  EXPECT_EQ(log.ended, 1);
  EXPECT_EQ(log.ended_ok, 0);
}

TEST_F(SyncTest, AutoLockLocksAnIdleVaultAtTheNextCallAndKeepsTheSetting) {
  ManualClock clock(a);
  ASSERT_EQ(estelik_vault_set_auto_lock(a, 1, nullptr), ESTELIK_OK);
  std::string id = AddShared(a, "kept");
  Buffer got;
  // Every app call restarts the idle time; is_locked and tick are not app calls.
  clock.Advance(999ms);
  EXPECT_FALSE(estelik_vault_is_locked(a));
  EXPECT_EQ(estelik_testimony_get(a, id.c_str(), &got.b, nullptr), ESTELIK_OK);
  estelik_buffer_free(&got.b);  // the buffer is reused below
  clock.Advance(999ms);
  EXPECT_EQ(estelik_vault_tick(a), 0);
  clock.Advance(1ms);  // one second idle: the next call locks
  EXPECT_EQ(estelik_testimony_get(a, id.c_str(), &got.b, nullptr), ESTELIK_LOCKED);
  EXPECT_TRUE(estelik_vault_is_locked(a));
  uint32_t seconds = 0;
  ASSERT_EQ(estelik_vault_get_auto_lock(a, &seconds, nullptr), ESTELIK_OK);
  EXPECT_EQ(seconds, 1u);
  // The setting is in the vault: unlocking (or reopening) applies it again.
  ASSERT_EQ(estelik_vault_unlock(a, kPass, sizeof kPass - 1, nullptr), ESTELIK_OK);
  EXPECT_EQ(estelik_testimony_get(a, id.c_str(), &got.b, nullptr), ESTELIK_OK);
  clock.Advance(1s);
  EXPECT_EQ(estelik_vault_tick(a), 1);
  ASSERT_EQ(estelik_vault_unlock(a, kPass, sizeof kPass - 1, nullptr), ESTELIK_OK);
  ASSERT_EQ(estelik_vault_set_auto_lock(a, 0, nullptr), ESTELIK_OK);
  clock.Advance(24h);
  EXPECT_EQ(estelik_vault_tick(a), 0);
}

TEST_F(SyncTest, AutoLockTickStopsARunningServerEvenThoughPeersKeepSyncing) {
  ManualClock clock(a);
  AddShared(a, "night search");
  Listen(a);
  ASSERT_EQ(estelik_vault_set_auto_lock(a, 1, nullptr), ESTELIK_OK);
  clock.Advance(500ms);
  ASSERT_EQ(SyncOnce(b), ESTELIK_OK);  // sync traffic is not app activity
  clock.Advance(499ms);
  EXPECT_EQ(estelik_vault_tick(a), 0);
  clock.Advance(1ms);  // one second since the app's last call, half of it since the sync
  EXPECT_EQ(estelik_vault_tick(a), 1);
  EXPECT_EQ(SyncOnce(b), ESTELIK_IO);  // the server stopped with the lock
  EXPECT_EQ(Hits(b, "night"), 1);
}

// Issue #15 item 6: A sends ops and a 70-chunk attachment, B receives them. Each side gets one
// PROGRESS event per step (batch or chunk), on the network thread, and the two ends' stats
// agree, circles included (B joins the circle in this very session).
TEST_F(SyncTest, ProgressIsOneEventPerStepOnBothSidesAndTheTwoEndsAgree) {
  constexpr uint64_t kChunks = 70;  // more than two runs of 32 stored chunks
  const std::string id = AddShared(a, "tribunal recording");
  Attach(a, id, kChunks);
  StepLog a_log, b_log;
  estelik_sync_callbacks a_callbacks = a_log.Callbacks(), b_callbacks = b_log.Callbacks();
  Listen(a, &a_callbacks);
  estelik_sync_stats b_end;
  Error err;
  ASSERT_EQ(estelik_sync_once(b, address.c_str(), nullptr, &b_callbacks, &b_end, &err.e),
            ESTELIK_OK)
      << err.message();
  ASSERT_TRUE(WaitUntil([&] { return a_log.LastEnded().has_value(); }));
  const estelik_sync_event a_ended = *a_log.LastEnded();
  const estelik_sync_stats& a_end = a_ended.stats;
  ASSERT_TRUE(a_ended.succeeded);

  // B, the receiver: one event per batch received and per chunk stored.
  const Steps b_steps = CountSteps(b_log.Progress(b_log.LastEnded()->session_id));
  EXPECT_EQ(b_end.chunks_wanted, kChunks);
  EXPECT_EQ(b_end.chunks_received, kChunks);
  EXPECT_EQ(b_steps.chunks_received, kChunks);
  EXPECT_GT(b_steps.batches_received, 0);
  // A, the sender: one event per batch sent and per chunk sent.
  const Steps a_steps = CountSteps(a_log.Progress(a_ended.session_id));
  EXPECT_EQ(a_end.chunks_sent, kChunks);
  EXPECT_EQ(a_steps.chunks_sent, kChunks);
  EXPECT_EQ(a_steps.batches_sent, b_steps.batches_received);
  EXPECT_EQ(a_steps.batches_received, b_steps.batches_sent);

  // The two ends tell the same story.
  EXPECT_EQ(a_end.ops_sent, b_end.ops_received);
  EXPECT_EQ(a_end.ops_received, b_end.ops_sent);
  EXPECT_EQ(a_end.chunks_sent, b_end.chunks_received);
  EXPECT_EQ(a_end.attachment_bytes_sent, b_end.attachment_bytes_received);
  EXPECT_GT(b_end.attachment_bytes_received, kChunks * 64 * 1024);  // sealed: tags included
  EXPECT_EQ(a_end.circles, 1u);
  EXPECT_EQ(b_end.circles, 1u);
  // Callbacks came on the network threads, never on the thread that called estelik_sync_once.
  EXPECT_TRUE(a_log.NoneOn(std::this_thread::get_id()));
  EXPECT_TRUE(b_log.NoneOn(std::this_thread::get_id()));
  EXPECT_EQ(VerifyAttachment(b, id), ESTELIK_OK);
}

// Issue #15 item 5: a one-shot sync the app cancels from its callback (here: after 40 chunks)
// returns ABORTED; what was stored stays, and the next sync fetches only the rest.
TEST_F(SyncTest, ACancelledOneShotSyncReturnsAbortedAndTheNextOneResumesTheAttachment) {
  constexpr uint64_t kChunks = 200;
  const std::string id = AddShared(a, "long hearing");
  Attach(a, id, kChunks);
  Listen(a);
  struct Canceller {
    std::mutex mu;  // `sync` is written by the test thread, read by the network thread
    estelik_sync* sync = nullptr;
    std::atomic<int> stops{0};
    std::chrono::steady_clock::time_point stopped_at;
  } cancel;
  estelik_sync_callbacks callbacks{
      [](void* user_data, const estelik_sync_event* event) {
        auto* c = static_cast<Canceller*>(user_data);
        if (event->kind != ESTELIK_SYNC_PROGRESS || event->stats.chunks_received < 40) return;
        std::lock_guard lock(c->mu);
        if (c->stops > 0) return;
        c->stopped_at = std::chrono::steady_clock::now();
        if (estelik_sync_stop(c->sync, nullptr) == ESTELIK_OK) ++c->stops;
      },
      &cancel};
  {
    std::lock_guard lock(cancel.mu);
    ASSERT_EQ(
        estelik_sync_start_once(b, address.c_str(), nullptr, &callbacks, &cancel.sync, nullptr),
        ESTELIK_OK);
  }
  estelik_sync_stats first;
  Error err;
  EXPECT_EQ(estelik_sync_wait(cancel.sync, &first, &err.e), ESTELIK_ABORTED) << err.message();
  {
    // Prompt: the session stops at its next step and the peer closes with it (measured 15-23
    // ms); 1 s is the grace a stop gives a peer that does not answer, never needed here.
    std::lock_guard lock(cancel.mu);
    EXPECT_LT(std::chrono::steady_clock::now() - cancel.stopped_at, 1s);
  }
  EXPECT_NE(err.message().find("cancelled"), std::string::npos) << err.message();
  EXPECT_EQ(estelik_sync_wait(cancel.sync, nullptr, nullptr), ESTELIK_ABORTED);  // again
  estelik_sync_free(cancel.sync);
  EXPECT_EQ(cancel.stops, 1);
  EXPECT_GE(first.chunks_received, 40u);
  EXPECT_LT(first.chunks_received, kChunks);

  // The vault is consistent and open: the testimony is there, its attachment not yet whole.
  EXPECT_FALSE(estelik_vault_is_locked(b));
  EXPECT_EQ(Hits(b, "hearing"), 1);
  EXPECT_NE(VerifyAttachment(b, id), ESTELIK_OK);
  estelik_sync_stats second;
  ASSERT_EQ(estelik_sync_once(b, address.c_str(), nullptr, nullptr, &second, &err.e), ESTELIK_OK)
      << err.message();
  EXPECT_EQ(second.chunks_received, kChunks - first.chunks_received);
  EXPECT_EQ(VerifyAttachment(b, id), ESTELIK_OK);
}

// Cancelling from another thread (the app's Cancel button) while the sync waits on a peer that
// never answers: stop returns once the sync's thread is gone, and wait then says ABORTED at once.
TEST_F(SyncTest, AOneShotSyncCancelledFromAnotherThreadReturnsAbortedAndLeavesTheVaultOpen) {
  SilentListener silent;
  StepLog log;
  estelik_sync_callbacks callbacks = log.Callbacks();
  estelik_sync* sync = nullptr;
  ASSERT_EQ(
      estelik_sync_start_once(b, silent.address().c_str(), nullptr, &callbacks, &sync, nullptr),
      ESTELIK_OK);
  ASSERT_TRUE(WaitUntil([&] { return log.Count(ESTELIK_SYNC_SESSION_STARTED) > 0; }));
  ASSERT_EQ(estelik_sync_stop(sync, nullptr), ESTELIK_OK);
  const auto before_wait = std::chrono::steady_clock::now();
  estelik_sync_stats summary;
  EXPECT_EQ(estelik_sync_wait(sync, &summary, nullptr), ESTELIK_ABORTED);
  EXPECT_LT(std::chrono::steady_clock::now() - before_wait, 1s);  // settled before stop returned
  estelik_sync_free(sync);
  EXPECT_EQ(log.Count(ESTELIK_SYNC_SESSION_ENDED), 1);
  EXPECT_FALSE(estelik_vault_is_locked(b));
  EXPECT_EQ(summary.ops_received, 0u);

  // wait is for one-shot syncs only, and a listener may not be waited for.
  Listen(a);
  Error err;
  EXPECT_EQ(estelik_sync_wait(server, nullptr, &err.e), ESTELIK_INVALID_ARGUMENT);
}

// Issue #16 item 4: discovery never runs under the public default network key (anyone could
// read "an Estelik device listens on port P"), neither announcing nor browsing.
TEST_F(SyncTest, DiscoveryIsRefusedUnderThePublicDefaultNetworkKey) {
  Error err;
  estelik_sync* browser = nullptr;
  EXPECT_EQ(estelik_sync_browse(b, "127.0.0.1:0", nullptr, nullptr, &browser, &err.e),
            ESTELIK_INVALID_ARGUMENT);
  EXPECT_EQ(browser, nullptr);
  EXPECT_NE(err.message().find("public default"), std::string::npos) << err.message();
  ASSERT_EQ(estelik_sync_listen(a, "127.0.0.1:0", nullptr, nullptr, &server, &err.e), ESTELIK_OK);
  EXPECT_EQ(estelik_sync_advertise(server, "127.0.0.1:9", 20, &err.e), ESTELIK_INVALID_ARGUMENT);
  EXPECT_NE(err.message().find("public default"), std::string::npos) << err.message();
}

// Issue #15 item 5: LAN discovery. A's listener announces itself (to the browser's port on
// 127.0.0.1: broadcast on loopback is not dependable on CI machines); B's browser, with the same
// network key, reports A's TCP address, and B syncs there. A browser with another key hears
// nothing; a panic-lock stops the browser and the announcing listener.
TEST_F(SyncTest, ABrowserFindsAnAnnouncingListenerToSyncWithUnderTheSameNetworkKeyOnly) {
  AddShared(a, "found on the LAN");
  uint8_t network_key[32], other_key[32];
  std::memset(network_key, 0x5a, sizeof network_key);
  std::memset(other_key, 0x77, sizeof other_key);
  estelik_sync_options options = ESTELIK_SYNC_OPTIONS_INIT;
  options.network_key = network_key;
  estelik_sync_options other = ESTELIK_SYNC_OPTIONS_INIT;
  other.network_key = other_key;

  StepLog found, stranger_log;
  estelik_sync_callbacks found_callbacks = found.Callbacks();
  estelik_sync_callbacks stranger_callbacks = stranger_log.Callbacks();
  estelik_sync *browser = nullptr, *stranger = nullptr, *second = nullptr;
  Error err;
  ASSERT_EQ(estelik_sync_browse(b, "127.0.0.1:0", &options, &found_callbacks, &browser, &err.e),
            ESTELIK_OK)
      << err.message();
  ASSERT_EQ(estelik_sync_browse(b, "127.0.0.1:0", &other, &stranger_callbacks, &stranger, &err.e),
            ESTELIK_OK);
  ASSERT_NE(estelik_sync_port(browser), 0);
  ASSERT_EQ(estelik_sync_listen(a, "127.0.0.1:0", &options, nullptr, &server, &err.e), ESTELIK_OK);
  address = "127.0.0.1:" + std::to_string(estelik_sync_port(server));
  const std::string to_browser = "127.0.0.1:" + std::to_string(estelik_sync_port(browser));
  const std::string to_stranger = "127.0.0.1:" + std::to_string(estelik_sync_port(stranger));
  ASSERT_EQ(estelik_sync_advertise(server, to_browser.c_str(), 20, &err.e), ESTELIK_OK)
      << err.message();
  EXPECT_EQ(estelik_sync_advertise(server, to_browser.c_str(), 20, &err.e), ESTELIK_ALREADY_EXISTS);
  // A second listener of A announces to the stranger, under A's key.
  ASSERT_EQ(estelik_sync_listen(a, "127.0.0.1:0", &options, nullptr, &second, &err.e), ESTELIK_OK);
  ASSERT_EQ(estelik_sync_advertise(second, to_stranger.c_str(), 20, &err.e), ESTELIK_OK);

  ASSERT_TRUE(WaitUntil([&] { return found.Count(ESTELIK_SYNC_PEER_FOUND) >= 3; }));
  std::string peer;
  {
    std::lock_guard lock(found.mu);
    for (const std::string& heard : found.addresses) EXPECT_EQ(heard, address);
    peer = found.addresses.front();
  }
  EXPECT_EQ(stranger_log.Count(ESTELIK_SYNC_PEER_FOUND), 0);  // ~3 of A's beacons came by
  ASSERT_EQ(estelik_sync_once(b, peer.c_str(), &options, nullptr, nullptr, &err.e), ESTELIK_OK)
      << err.message();
  EXPECT_EQ(Hits(b, "LAN"), 1);

  // Only listeners announce; a browser is not one.
  EXPECT_EQ(estelik_sync_advertise(browser, to_browser.c_str(), 20, &err.e),
            ESTELIK_INVALID_ARGUMENT);
  EXPECT_EQ(estelik_sync_advertise(server, "255.255.255.255", 20, &err.e),
            ESTELIK_INVALID_ARGUMENT);

  // Panic-lock of A: its listeners stop announcing for good. A third one announces to a bare
  // socket; once the lock has returned, every beacon it sent is already queued there (loopback
  // delivers during the send), so after draining it ten beacon intervals must bring none.
  BeaconCatcher catcher;
  estelik_sync* third = nullptr;
  ASSERT_EQ(estelik_sync_listen(a, "127.0.0.1:0", &options, nullptr, &third, &err.e), ESTELIK_OK);
  ASSERT_EQ(estelik_sync_advertise(third, catcher.address().c_str(), 20, &err.e), ESTELIK_OK);
  EXPECT_TRUE(WaitUntil([&] { return catcher.Drain() > 0; }));
  estelik_vault_lock(a);
  EXPECT_EQ(estelik_sync_advertise(second, nullptr, 0, &err.e), ESTELIK_LOCKED);
  catcher.Drain();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(catcher.Drain(), 0);
  estelik_sync_free(third);
  // Panic-lock of B stops its browsers (their keys are wiped); the handles are still freed.
  estelik_vault_lock(b);
  EXPECT_EQ(estelik_sync_stop(browser, nullptr), ESTELIK_OK);
  estelik_sync_free(second);
  estelik_sync_free(stranger);
  estelik_sync_free(browser);
}

}  // namespace
