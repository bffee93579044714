// Replication between real Archives over a simulated link: convergence in pairs, stars and
// chains, resumption after a dead connection, and O(missing) incremental sync.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/archive/back_door.h"
#include "tests/unit/sync/sim_link.h"

namespace estelik::testing {
namespace {

class ReplicationConvergence : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = MakeSimPeer("alma");
    b_ = MakeSimPeer("bota");
    c_ = MakeSimPeer("dana");
    ASSERT_TRUE(a_ && b_ && c_);
    Befriend(*a_, *b_);
    Befriend(*a_, *c_);
    Befriend(*b_, *c_);
  }
  std::vector<SimPeer*> All() { return {a_.get(), b_.get(), c_.get()}; }

  std::unique_ptr<SimPeer> a_, b_, c_;
};

TEST_F(ReplicationConvergence, TwoVaultsConvergeOnTheCircleTheyShare) {
  std::string circle = MakeCircle(*a_, {b_.get()}, All());
  ASSERT_FALSE(circle.empty());
  ASSERT_TRUE(Post(*a_, circle, 40).ok());

  SyncOutcome s = SyncPeers(*a_, *b_);
  EXPECT_TRUE(s.a_ok) << s.a_reason;
  EXPECT_TRUE(s.b_ok) << s.b_reason;
  EXPECT_EQ(s.a_reason, "done");
  EXPECT_EQ(s.a.ops_sent, 42u);  // create + add member + 40 posts
  EXPECT_EQ(OpCount(TakeSnapshot(*b_, {circle}).versions[0]), 42u);
  EXPECT_EQ(TakeSnapshot(*a_, {circle}), TakeSnapshot(*b_, {circle}));
  // Bota learned the circle from its invitation, keys included.
  auto info = b_->archive->GetCircle(circle);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_FALSE(info->carrier_only);
}

TEST_F(ReplicationConvergence, BothSidesSendWhatTheOtherLacksInOneSession) {
  std::string circle = MakeCircle(*a_, {b_.get()}, All());
  ASSERT_TRUE(SyncPeers(*a_, *b_).a_ok);
  ASSERT_TRUE(Post(*a_, circle, 7).ok());
  ASSERT_TRUE(Post(*b_, circle, 5).ok());

  SyncOutcome s = SyncPeers(*b_, *a_);
  ASSERT_TRUE(s.a_ok && s.b_ok) << s.a_reason << " / " << s.b_reason;
  EXPECT_EQ(s.a.ops_sent, 5u);
  EXPECT_EQ(s.b.ops_sent, 7u);
  EXPECT_EQ(TakeSnapshot(*a_, {circle}), TakeSnapshot(*b_, {circle}));
}

TEST_F(ReplicationConvergence, ResyncOfAlreadySyncedStateSendsNoOpsAndChangesNothing) {
  std::string circle = MakeCircle(*a_, {b_.get()}, All());
  ASSERT_TRUE(Post(*a_, circle, 30).ok());
  ASSERT_TRUE(SyncPeers(*a_, *b_).a_ok);
  Snapshot before = TakeSnapshot(*b_, {circle});

  for (int replay = 0; replay < 3; ++replay) {
    SyncOutcome s = replay % 2 == 0 ? SyncPeers(*a_, *b_) : SyncPeers(*b_, *a_);
    ASSERT_TRUE(s.a_ok && s.b_ok) << s.a_reason << " / " << s.b_reason;
    EXPECT_EQ(s.a.ops_sent + s.b.ops_sent, 0u);
    // Handshake plus two Hellos with one author each: a few hundred bytes, not the history.
    EXPECT_LT(s.link.total(), 2048u);
  }
  EXPECT_EQ(TakeSnapshot(*b_, {circle}), before);
}

TEST_F(ReplicationConvergence, IncrementalSyncSendsOnlyTheMissingOps) {
  std::string circle = MakeCircle(*a_, {b_.get()}, All());
  ASSERT_TRUE(Post(*a_, circle, 150).ok());
  SyncOutcome first = SyncPeers(*a_, *b_);
  ASSERT_TRUE(first.a_ok) << first.a_reason;

  ASSERT_TRUE(Post(*a_, circle, 10).ok());
  SyncOutcome second = SyncPeers(*a_, *b_);
  ASSERT_TRUE(second.a_ok && second.b_ok) << second.a_reason;
  EXPECT_EQ(second.a.ops_sent, 10u);
  EXPECT_EQ(second.b.ops_accepted, 10u);
  // 10 ops of ~300 bytes plus the fixed cost of a session; far below the 150-op history.
  EXPECT_LT(second.link.total(), 8 * 1024u);
  EXPECT_LT(second.link.total() * 5, first.link.total());
  EXPECT_EQ(TakeSnapshot(*a_, {circle}), TakeSnapshot(*b_, {circle}));
}

TEST_F(ReplicationConvergence, ArbitrarySplitsAndASlowLinkStillConverge) {
  std::string circle = MakeCircle(*a_, {b_.get()}, All());
  ASSERT_TRUE(Post(*a_, circle, 25).ok());
  ASSERT_TRUE(Post(*b_, circle, 0).ok());
  SimLinkOptions slow;
  slow.seed = 7;
  slow.max_split = 3;
  slow.bytes_per_tick = 200;
  slow.tick_ms = 20;
  SyncOutcome s = SyncPeers(*b_, *a_, slow);
  ASSERT_TRUE(s.a_ok && s.b_ok) << s.a_reason << " / " << s.b_reason;
  EXPECT_EQ(TakeSnapshot(*a_, {circle}), TakeSnapshot(*b_, {circle}));
}

TEST_F(ReplicationConvergence, ATransferCutMidwayResumesWithoutResendingWhatArrived) {
  std::string circle = MakeCircle(*a_, {b_.get()}, All());
  // Text that does not deflate, so op bodies stay ~600 bytes whatever the op codec compresses.
  std::mt19937 random(7);
  std::string text(600, ' ');
  for (char& c : text) c = static_cast<char>('!' + random() % 94);
  ASSERT_TRUE(Post(*a_, circle, 200, text).ok());
  sync::ReplicationLimits small_batches;
  small_batches.max_ops_per_batch = 20;
  SimLinkOptions cut;
  cut.cut_after_bytes = 80 * 1024;  // dies after a few batches
  SyncOutcome broken = SyncPeers(*a_, *b_, cut, small_batches);
  EXPECT_FALSE(broken.a_ok);
  EXPECT_FALSE(broken.b_ok);
  EXPECT_NE(broken.b_reason.find("transport closed"), std::string::npos) << broken.b_reason;
  uint64_t got = OpCount(TakeSnapshot(*b_, {circle}).versions[0]);
  ASSERT_GT(got, 0u);
  ASSERT_LT(got, 202u);

  SyncOutcome resumed = SyncPeers(*a_, *b_, {}, small_batches);
  ASSERT_TRUE(resumed.a_ok && resumed.b_ok) << resumed.a_reason;
  EXPECT_EQ(resumed.a.ops_sent, 202u - got);
  EXPECT_EQ(TakeSnapshot(*a_, {circle}), TakeSnapshot(*b_, {circle}));
}

TEST_F(ReplicationConvergence, ThreeVaultsConvergeInAStar) {
  std::string circle = MakeCircle(*a_, {b_.get(), c_.get()}, All());
  ASSERT_TRUE(SyncPeers(*b_, *a_).a_ok);
  ASSERT_TRUE(SyncPeers(*c_, *a_).a_ok);
  ASSERT_TRUE(Post(*a_, circle, 5).ok());
  ASSERT_TRUE(Post(*b_, circle, 6).ok());
  ASSERT_TRUE(Post(*c_, circle, 7).ok());

  // Hub a: b and c each sync with a, then b again to pick up c's ops through a.
  ASSERT_TRUE(SyncPeers(*b_, *a_).a_ok);
  ASSERT_TRUE(SyncPeers(*c_, *a_).a_ok);
  ASSERT_TRUE(SyncPeers(*b_, *a_).a_ok);
  Snapshot sa = TakeSnapshot(*a_, {circle});
  EXPECT_EQ(OpCount(sa.versions[0]), 3u + 5 + 6 + 7);
  EXPECT_EQ(sa, TakeSnapshot(*b_, {circle}));
  EXPECT_EQ(sa, TakeSnapshot(*c_, {circle}));
}

TEST_F(ReplicationConvergence, AChainConvergesAfterItsMiddleWasOffline) {
  // a - b - c: a and c never meet. b is away while both of them write.
  std::string circle = MakeCircle(*a_, {b_.get(), c_.get()}, All());
  ASSERT_TRUE(SyncPeers(*a_, *b_).a_ok);
  ASSERT_TRUE(SyncPeers(*b_, *c_).a_ok);
  ASSERT_TRUE(Post(*a_, circle, 9).ok());
  ASSERT_TRUE(Post(*c_, circle, 4).ok());
  EXPECT_NE(TakeSnapshot(*a_, {circle}), TakeSnapshot(*c_, {circle}));  // partitioned

  ASSERT_TRUE(SyncPeers(*a_, *b_).a_ok);
  ASSERT_TRUE(SyncPeers(*c_, *b_).a_ok);
  ASSERT_TRUE(SyncPeers(*b_, *a_).a_ok);
  Snapshot sa = TakeSnapshot(*a_, {circle});
  EXPECT_EQ(OpCount(sa.versions[0]), 3u + 9 + 4);
  EXPECT_EQ(sa, TakeSnapshot(*b_, {circle}));
  EXPECT_EQ(sa, TakeSnapshot(*c_, {circle}));
}

TEST_F(ReplicationConvergence, TheOrderInWhichPeersMeetDoesNotChangeTheOutcome) {
  std::string circle = MakeCircle(*a_, {b_.get(), c_.get()}, All());
  ASSERT_TRUE(SyncPeers(*a_, *b_).a_ok);
  ASSERT_TRUE(SyncPeers(*a_, *c_).a_ok);
  std::vector<std::pair<SimPeer*, SimPeer*>> pairs = {
      {a_.get(), b_.get()}, {b_.get(), c_.get()}, {c_.get(), a_.get()}};
  std::mt19937 random(3);
  for (int round = 0; round < 4; ++round) {
    ASSERT_TRUE(Post(*a_, circle, 1 + round).ok());
    ASSERT_TRUE(Post(*b_, circle, 2).ok());
    ASSERT_TRUE(Post(*c_, circle, round % 2).ok());
    std::shuffle(pairs.begin(), pairs.end(), random);
    for (auto [x, y] : pairs) {
      SyncOutcome s = SyncPeers(*x, *y);
      ASSERT_TRUE(s.a_ok && s.b_ok) << x->name << "-" << y->name << ": " << s.a_reason;
    }
  }
  // Two full rounds of gossip after the last write reach everyone.
  for (auto [x, y] : pairs) ASSERT_TRUE(SyncPeers(*x, *y).a_ok);
  Snapshot sa = TakeSnapshot(*a_, {circle});
  EXPECT_EQ(sa, TakeSnapshot(*b_, {circle}));
  EXPECT_EQ(sa, TakeSnapshot(*c_, {circle}));
}

TEST_F(ReplicationConvergence, PrivateOpsAndUnsharedCirclesNeverLeaveTheDevice) {
  std::string ab = MakeCircle(*a_, {b_.get()}, All());
  std::string ac = MakeCircle(*a_, {c_.get()}, All());
  ASSERT_TRUE(Post(*a_, ac, 3).ok());
  pb::TestimonyFields fields;
  fields.set_title("private note");
  ASSERT_TRUE(a_->archive->AddTestimony(fields).ok());

  SyncOutcome s = SyncPeers(*a_, *b_);
  ASSERT_TRUE(s.a_ok) << s.a_reason;
  EXPECT_EQ(s.a.ops_sent, 2u);  // circle ab: create + add member
  EXPECT_FALSE(b_->archive->GetCircle(ac).ok());
  auto private_b =
      archive::ArchiveBackDoor::log(*b_->archive).GetVersionVector(log::Scope::Private());
  ASSERT_TRUE(private_b.ok());
  EXPECT_EQ(private_b->count(std::string(a_->key().begin(), a_->key().end())), 0u);
  (void)ab;
}

TEST_F(ReplicationConvergence, AStrangerIsRefusedAtTheHandshake) {
  auto stranger = MakeSimPeer("eve");
  ASSERT_TRUE(stranger);
  (void)archive::ArchiveBackDoor::log(*stranger->archive)
      .AddContact(a_->key(), "alma", SimClockMs());
  SyncOutcome s = SyncPeers(*stranger, *a_);
  EXPECT_FALSE(s.a_ok);
  EXPECT_FALSE(s.b_ok);
  EXPECT_EQ(s.a.ops_sent + s.b.ops_sent, 0u);
}

}  // namespace
}  // namespace estelik::testing
