// sync::Orchestrator over real TCP on 127.0.0.1, as the shells run it: a listening device,
// dial rounds that try each contact and remember who answered, refusing and halting; and
// ArchiveReplica's Access, the lock every shell puts around each Replica call.
#include "sync/orchestrator/orchestrator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "sync/orchestrator/archive_replica.h"
#include "sync/protocol/replication.h"
#include "tests/support/wait.h"
#include "tests/unit/sync/sim_link.h"

namespace estelik {
namespace {

using sync::Orchestrator;
using sync::OrchestratorOptions;
using sync::SyncOutcome;
using sync::net::ContactKey;
using testing::Befriend;
using testing::MakeSimPeer;

// Counts the sessions a service started (network thread).
class SessionCount : public sync::net::NetworkEvents {
 public:
  void OnSessionStarted(const sync::net::SessionInfo&) override { ++started; }
  std::atomic<int> started{0};
};

OrchestratorOptions Options(sync::net::NetworkEvents* events = nullptr) {
  OrchestratorOptions options;
  options.network_key = sync::DefaultNetworkKey();
  options.events = events;
  return options;
}

// Alice has two contacts, Bob and Carol; Bob serves at 127.0.0.1:port.
class OrchestratorAtBobs : public ::testing::Test {
 protected:
  void SetUp() override {
    alice = MakeSimPeer("alice");
    bob = MakeSimPeer("bob");
    carol = MakeSimPeer("carol");
    ASSERT_TRUE(alice && bob && carol);
    Befriend(*alice, *bob);
    Befriend(*alice, *carol);
    server = std::make_unique<Orchestrator>(*bob->replica, Options());
    Result<uint16_t> bound = server->Listen({"127.0.0.1", 0});
    ASSERT_TRUE(bound.ok()) << bound.status().ToString();
    port = *bound;
  }

  std::unique_ptr<testing::SimPeer> alice, bob, carol;
  std::unique_ptr<Orchestrator> server;
  uint16_t port = 0;
};

TEST_F(OrchestratorAtBobs, RoundsTryEachContactAndDialTheOneThatAnsweredFirstNextTime) {
  SessionCount sessions;
  Orchestrator client(*alice->replica, Options(&sessions));
  std::vector<SyncOutcome> outcomes;
  std::vector<int> sessions_per_round;
  sync::Rounds rounds;
  rounds.target = {"127.0.0.1", port};
  rounds.candidates = [&]() -> Result<std::vector<ContactKey>> {
    return std::vector<ContactKey>{carol->key(), bob->key()};  // Carol is not there
  };
  rounds.after_round = [&](const SyncOutcome& outcome) {
    outcomes.push_back(outcome);
    sessions_per_round.push_back(sessions.started.exchange(0));
    return outcomes.size() < 2;
  };
  rounds.pause = [] { return true; };
  client.RunRounds(rounds);

  ASSERT_EQ(outcomes.size(), 2u);
  for (const SyncOutcome& outcome : outcomes) {
    EXPECT_TRUE(outcome.ok) << outcome.reason;
    ASSERT_TRUE(outcome.peer.has_value());
    EXPECT_EQ(*outcome.peer, bob->key());
  }
  EXPECT_EQ(sessions_per_round, (std::vector<int>{2, 1}));  // Carol, Bob; then Bob at once
}

TEST_F(OrchestratorAtBobs, NobodyAnsweringIsNotFoundAndARefusingDeviceAnswersNobody) {
  Orchestrator client(*alice->replica, Options());
  std::shared_ptr<sync::DialRun> wrong =
      client.StartDial({"127.0.0.1", port}, {carol->key()}, /*retry=*/false);
  ASSERT_TRUE(wrong);
  const SyncOutcome nobody = wrong->Wait();
  EXPECT_FALSE(nobody.ok);
  EXPECT_EQ(nobody.code, Code::kNotFound) << nobody.reason;
  EXPECT_FALSE(nobody.peer.has_value());

  server->Refuse();  // a locked vault: no new session
  std::shared_ptr<sync::DialRun> refused =
      client.StartDial({"127.0.0.1", port}, {bob->key()}, /*retry=*/false);
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->Wait().ok);
}

TEST(Orchestrator, HaltEndsThePauseBetweenRoundsAndLaterDials) {
  auto alice = MakeSimPeer("alice");
  ASSERT_TRUE(alice);
  Orchestrator client(*alice->replica, Options());
  sync::Rounds rounds;
  rounds.target = {"127.0.0.1", 9};
  rounds.interval = std::chrono::hours(1);
  std::atomic<int> rounds_run{0};
  rounds.candidates = [&]() -> Result<std::vector<ContactKey>> {
    return Status(Code::kNotFound, "no contacts");  // the round fails before dialing
  };
  rounds.after_round = [&](const SyncOutcome& outcome) {
    EXPECT_EQ(outcome.code, Code::kNotFound);
    ++rounds_run;
    return true;
  };
  const auto started = std::chrono::steady_clock::now();
  std::thread halter([&] {
    // Once the first round is over (the pause is starting, or has started).
    EXPECT_TRUE(estelik::testing::WaitUntil([&] { return rounds_run > 0; }));
    client.Halt();
  });
  client.RunRounds(rounds);  // returns at Halt, not after an hour
  halter.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  EXPECT_EQ(rounds_run, 1);
  EXPECT_EQ(client.StartDial({"127.0.0.1", 9}, {}, false), nullptr);
  EXPECT_TRUE(client.refusing());
}

TEST(OrchestratorArchiveReplica, AnAccessWithoutAnArchiveFailsClosed) {
  auto alice = MakeSimPeer("alice");
  auto bob = MakeSimPeer("bob");
  ASSERT_TRUE(alice && bob);
  Befriend(*alice, *bob);
  bool locked = false;
  int calls = 0;
  std::mutex mu;
  sync::ArchiveReplica replica([&](const sync::ArchiveReplica::Use& use) -> Status {
    std::lock_guard lock(mu);  // as the C API holds its handle's mutex
    ++calls;
    if (locked) return Status(Code::kLocked, "vault is locked");
    return use(*alice->archive);
  });
  EXPECT_TRUE(replica.IsContact(bob->key()));
  EXPECT_FALSE(replica.IdentitySecretKey().empty());
  Result<std::vector<log::PublicKey>> contacts = replica.ContactKeys();
  ASSERT_TRUE(contacts.ok());
  EXPECT_EQ(*contacts, std::vector<log::PublicKey>{bob->key()});

  locked = true;
  EXPECT_FALSE(replica.IsContact(bob->key()));
  EXPECT_TRUE(replica.IdentitySecretKey().empty());
  EXPECT_FALSE(replica.KnowsCircle(std::string(32, 'c')));
  EXPECT_EQ(replica.Versions(std::string(32, 'c')).status().code(), Code::kLocked);
  EXPECT_EQ(replica.ContactKeys().status().code(), Code::kLocked);
  EXPECT_EQ(calls, 8);  // every call went through the Access
}

}  // namespace
}  // namespace estelik
