// Strangers cannot lock contacts out (issue #16 item 3), over real TCP on loopback: from more
// than 50 source addresses (127.0.0.2 and up) strangers keep half-open connections at a
// listening device, reconnecting as soon as one is closed, while a contact syncs again and
// again. And a stranger's connection is never sync activity (ContactActivity, auto-lock).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sync/orchestrator/orchestrator.h"
#include "sync/protocol/replication.h"
#include "tests/support/wait.h"
#include "tests/unit/sync/raw_peer.h"
#include "tests/unit/sync/sim_link.h"

namespace estelik {
namespace {

using namespace std::chrono_literals;
using sync::Orchestrator;
using sync::OrchestratorOptions;
using testing::Befriend;
using testing::MakeSimPeer;

// Counts evictions and sessions on the server (network thread).
class ServerEvents : public sync::net::NetworkEvents {
 public:
  void OnSessionAuthenticated(const sync::net::SessionInfo&) override { ++authenticated; }
  void OnSessionEnded(const sync::net::SessionReport& report) override {
    if (report.close_reason.find("evicted") != std::string::npos) ++evicted;
  }
  void OnConnectionRejected(const std::string&, const std::string&) override { ++rejected; }
  std::atomic<int> authenticated{0};
  std::atomic<int> evicted{0};
  std::atomic<int> rejected{0};
};

OrchestratorOptions Options(sync::net::NetworkEvents* events = nullptr) {
  OrchestratorOptions options;
  options.network_key = sync::DefaultNetworkKey();
  options.events = events;
  return options;
}

// What strangers send and then hold: nothing, a frame header promising more, or (knowing the
// device's public key, as anyone with one of its exports may) an authentic handshake message 1,
// after which the device answers and waits for message 3 that never comes.
enum class Opening { kSilent, kPartialFrame, kHalfHandshake, kGarbage };

std::vector<uint8_t> OpeningBytes(Opening opening, const log::PublicKey& device) {
  switch (opening) {
    case Opening::kSilent:
      return {};
    case Opening::kPartialFrame:
      return {0x00, 0x00, 0x00, 0x30, 0x01, 0x02};
    case Opening::kGarbage:
      return std::vector<uint8_t>(52, 0x5a);
    case Opening::kHalfHandshake: {
      static const sync::testing::Identity stranger = sync::testing::Identity::FromSeed(0x66);
      const crypto::SecretBytes key = sync::DefaultNetworkKey();
      sync::testing::RawPeer peer(/*initiator=*/true, stranger, key.span(), device);
      return sync::testing::Frame(peer.WriteHandshake());
    }
  }
  return {};
}

// Connects from `source` (an IPv4 literal) to 127.0.0.1:port and sends `bytes`; -1 on failure.
int ConnectFrom(const std::string& source, uint16_t port, const std::vector<uint8_t>& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  if (!bytes.empty() && ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) < 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Strangers at 127.0.0.2 .. 127.0.0.(1 + addresses), `per_address` connections each, every one
// reopened as soon as the device closes it (or, with `every` set, reopened by the stranger
// itself after that long). Runs on its own thread until destroyed.
class Strangers {
 public:
  Strangers(uint16_t port, const log::PublicKey& device, int addresses, int per_address,
            std::chrono::milliseconds every = 0ms)
      : port_(port), every_(every) {
    for (int a = 0; a < addresses; ++a) {
      for (int c = 0; c < per_address; ++c) {
        Slot slot;
        slot.source = "127.0.0." + std::to_string(2 + a);
        slot.bytes = OpeningBytes(static_cast<Opening>((a + c) % 4), device);
        slots_.push_back(std::move(slot));
      }
    }
    thread_ = std::thread([this] { Run(); });
  }
  ~Strangers() {
    stop_ = true;
    thread_.join();
    for (Slot& slot : slots_) {
      if (slot.fd >= 0) ::close(slot.fd);
    }
  }
  int connections() const { return connections_.load(); }

 private:
  struct Slot {
    std::string source;
    std::vector<uint8_t> bytes;
    int fd = -1;
    std::chrono::steady_clock::time_point opened;
  };

  void Run() {
    std::vector<pollfd> fds;
    while (!stop_) {
      const auto now = std::chrono::steady_clock::now();
      for (Slot& slot : slots_) {
        if (slot.fd >= 0 && every_ > 0ms && now - slot.opened >= every_) {
          ::close(slot.fd);
          slot.fd = -1;
        }
        if (slot.fd < 0) {
          slot.fd = ConnectFrom(slot.source, port_, slot.bytes);
          slot.opened = now;
          if (slot.fd >= 0) ++connections_;
        }
      }
      fds.clear();
      for (const Slot& slot : slots_) {
        if (slot.fd >= 0) fds.push_back({slot.fd, POLLIN, 0});
      }
      ::poll(fds.data(), fds.size(), 5);
      for (const pollfd& p : fds) {
        if ((p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        uint8_t buffer[2048];
        const ssize_t n = ::recv(p.fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0) continue;  // message 2 of a half handshake: never answered
        for (Slot& slot : slots_) {
          if (slot.fd == p.fd) {
            ::close(slot.fd);
            slot.fd = -1;
          }
        }
      }
    }
  }

  const uint16_t port_;
  const std::chrono::milliseconds every_;
  std::vector<Slot> slots_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

class StrangersAtBobs : public ::testing::Test {
 protected:
  void SetUp() override {
    alice = MakeSimPeer("alice");
    bob = MakeSimPeer("bob");
    ASSERT_TRUE(alice && bob);
    Befriend(*alice, *bob);
    server = std::make_unique<Orchestrator>(*bob->replica, Options(&events));
    Result<uint16_t> bound = server->Listen({"127.0.0.1", 0});
    ASSERT_TRUE(bound.ok()) << bound.status().ToString();
    port = *bound;
  }

  // One dial of Alice's at Bob's, no retry: true if it synced.
  bool AliceSyncs(Orchestrator& client, std::string* why) {
    std::shared_ptr<sync::DialRun> run =
        client.StartDial({"127.0.0.1", port}, {bob->key()}, /*retry=*/false);
    if (!run) return false;
    const sync::SyncOutcome outcome = run->Wait();
    *why = outcome.reason;
    return outcome.ok;
  }

  ServerEvents events;
  std::unique_ptr<testing::SimPeer> alice, bob;
  std::unique_ptr<Orchestrator> server;
  uint16_t port = 0;
};

TEST_F(StrangersAtBobs, NetworkStrangersFromFiftyAddressesCannotLockAContactOut) {
  // 60 addresses x 2 connections: more than every session slot (64) if they were admitted.
  Strangers strangers(port, bob->key(), /*addresses=*/60, /*per_address=*/2);
  ASSERT_TRUE(estelik::testing::WaitUntil([&] { return strangers.connections() >= 120; }));
  Orchestrator client(*alice->replica, Options());
  for (int i = 0; i < 12; ++i) {
    std::string why;
    EXPECT_TRUE(AliceSyncs(client, &why)) << "sync " << i << ": " << why;
  }
  // The attack was real: strangers kept coming, and made way for each other.
  EXPECT_GT(strangers.connections(), 120);
  EXPECT_GT(events.evicted.load(), 0);
  EXPECT_EQ(events.authenticated.load(), 12);
}

TEST_F(StrangersAtBobs, NetworkStrangersAreNeverActivityAndAContactsSessionIs) {
  Strangers strangers(port, bob->key(), /*addresses=*/4, /*per_address=*/1, /*every=*/300ms);
  ASSERT_TRUE(estelik::testing::WaitUntil([&] { return strangers.connections() >= 12; }));
  // A second of strangers reconnecting every 0.3 s: the device has been idle all along.
  std::this_thread::sleep_for(1s);
  EXPECT_GE(server->ContactIdle(), 1s);
  Orchestrator client(*alice->replica, Options());
  std::string why;
  ASSERT_TRUE(AliceSyncs(client, &why)) << why;
  EXPECT_LT(server->ContactIdle(), 500ms);  // a contact's session just ended
}

}  // namespace
}  // namespace estelik
