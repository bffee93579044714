// A hostile contact at the replication layer: Mallory completes a genuine handshake (she is a
// contact) and then sends hand-made replication messages. Every violation must close the
// session with a stated reason and leave the victim's vault exactly as it was.
#include <gtest/gtest.h>

#include <optional>

#include "tests/unit/sync/hostile_harness.h"

namespace estelik::testing {
namespace {

TEST_F(ReplicationHostile, AWellBehavedBatchFromTheSameHarnessIsAccepted) {
  // The control: the harness itself does not make sessions fail.
  Connect();
  Send(Batch(ours_, Fresh(0, 5)));
  EXPECT_FALSE(session_->closed()) << session_->close_reason();
  EXPECT_EQ(OpCount(Snap().versions[0]), OpCount(before_.versions[0]) + 5);
}

TEST_F(ReplicationHostile, GarbageBytesAfterTheHandshakeCloseTheSession) {
  Connect();
  const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02};
  SendRaw(garbage);
  ExpectClosedWith("malformed replication message");
  EXPECT_EQ(Snap(), before_);
}

TEST_F(ReplicationHostile, AMessageBeforeHelloClosesTheSession) {
  Connect({}, /*send_hello=*/false);
  Send(Batch(ours_, Fresh(0, 1)));
  ExpectClosedWith("before its Hello");
  EXPECT_EQ(Snap(), before_);
}

TEST_F(ReplicationHostile, AnOversizedBatchClosesTheSessionAndAppliesNothing) {
  sync::ReplicationLimits limits;
  limits.max_ops_per_batch = 16;
  Connect(limits);
  Send(Batch(ours_, Fresh(0, 17)));
  ExpectClosedWith("batch of 17 ops; the limit is 16");
  EXPECT_EQ(Snap(), before_);
}

TEST_F(ReplicationHostile, AnOpFloodBeyondTheRateLimitClosesTheSession) {
  sync::ReplicationLimits limits;
  limits.max_ops_per_second = 10;  // a burst of 20
  Connect(limits);
  Send(Batch(ours_, Fresh(0, 15)));
  ASSERT_FALSE(session_->closed()) << session_->close_reason();
  Snapshot within_limit = Snap();
  Send(Batch(ours_, Fresh(15, 15)));  // same instant: 30 ops > 20
  ExpectClosedWith("ops per second");
  EXPECT_EQ(Snap(), within_limit);  // the offending batch changed nothing
}

TEST_F(ReplicationHostile, AForgedOpClosesTheSessionWithTheRejectionReason) {
  Connect();
  std::vector<pb::Envelope> forged = Fresh(0, 1);
  std::string signature = forged[0].signature();
  signature[5] = static_cast<char>(signature[5] ^ 0x40);
  forged[0].set_signature(signature);
  Send(Batch(ours_, forged));
  ExpectClosedWith("peer sent an op we rejected");
  EXPECT_EQ(Snap(), before_);
}

TEST_F(ReplicationHostile, ABatchWithOneBadOpInTheMiddleIsRolledBackWhole) {
  Connect();
  // Ops 1..10 of one author: a run the receiver authenticates by its newest signature and the
  // hash chain. Op 6's signature is forged; the rest are genuine.
  std::vector<pb::Envelope> batch = Fresh(0, 10);
  std::string signature = batch[5].signature();
  signature[9] = static_cast<char>(signature[9] ^ 0x01);
  batch[5].set_signature(signature);
  Send(Batch(ours_, batch));
  ExpectClosedWith("peer sent an op we rejected");
  EXPECT_EQ(Snap(), before_) << "the five good ops before the forged one were kept";
}

TEST_F(ReplicationHostile, ABatchWithABrokenChainInTheMiddleIsRolledBackWhole) {
  Connect();
  std::vector<pb::Envelope> batch = Fresh(0, 10);
  std::string op = batch[6].op();
  // Op 7's bytes altered: its hash no longer matches op 8's prev, nor its own signature.
  op[op.size() - 3] = static_cast<char>(op[op.size() - 3] ^ 0x10);
  batch[6].set_op(op);
  Send(Batch(ours_, batch));
  ExpectClosedWith("peer sent an op we rejected");
  EXPECT_EQ(Snap(), before_);
}

TEST_F(ReplicationHostile, TheVictimTellsThePeerWhyWithACloseCode) {
  sync::ReplicationLimits limits;
  limits.max_ops_per_batch = 16;
  Connect(limits);
  Send(Batch(ours_, Fresh(0, 17)));
  ASSERT_TRUE(channel_->is_closed());
  // Mallory's channel reports the victim's code (2: she exceeded a limit) and reason.
  EXPECT_EQ(channel_->close_reason().code(), Code::kLimitExceeded);
  EXPECT_EQ(channel_->close_reason().message(),
            "peer closed the channel because we exceeded its limits: peer sent a batch of 17 ops; "
            "the limit is 16");
}

TEST_F(ReplicationHostile, AForgedOpIsReportedToThePeerAsAProtocolViolation) {
  Connect();
  std::vector<pb::Envelope> forged = Fresh(0, 1);
  std::string signature = forged[0].signature();
  signature[0] = static_cast<char>(signature[0] ^ 0x01);
  forged[0].set_signature(signature);
  Send(Batch(ours_, forged));
  ASSERT_TRUE(channel_->is_closed());
  EXPECT_EQ(channel_->close_reason().code(), Code::kProtocol);
  EXPECT_NE(channel_->close_reason().message().find(
                "peer closed the channel, reporting a protocol violation: peer sent an op we "
                "rejected"),
            std::string::npos)
      << channel_->close_reason().ToString();
}

TEST_F(ReplicationHostile, OpsOfACircleNotSharedAreReportedToThePeerAsARefusal) {
  Connect();
  auto theirs = carol_->archive->OpsAfter(others_, {}, 1);
  ASSERT_TRUE(theirs.ok() && !theirs->empty());
  Send(Batch(others_, *theirs));
  ASSERT_TRUE(channel_->is_closed());
  EXPECT_EQ(channel_->close_reason().code(), Code::kPermissionDenied)
      << channel_->close_reason().ToString();
}

TEST_F(ReplicationHostile, ReorderedOpsWaitForTheGapInsteadOfFailing) {
  Connect();
  Send(Batch(ours_, Fresh(2, 3)));  // seq gap: held pending
  EXPECT_FALSE(session_->closed()) << session_->close_reason();
  Send(Batch(ours_, Fresh(0, 2)));  // fills the gap
  EXPECT_FALSE(session_->closed()) << session_->close_reason();
  EXPECT_EQ(OpCount(Snap().versions[0]), OpCount(before_.versions[0]) + 5);
}

TEST_F(ReplicationHostile, OpsOfACircleNotSharedWithThePeerCloseTheSession) {
  // Carol's genuine, signed ops of the circle she shares with the victim, relayed by Mallory.
  auto carols = carol_->archive->OpsAfter(others_, {}, 10);
  ASSERT_TRUE(carols.ok());
  ASSERT_FALSE(carols->empty());
  Connect();
  Send(Batch(others_, *carols));
  ExpectClosedWith("which we do not share with it");
  EXPECT_EQ(Snap(), before_);
}

TEST_F(ReplicationHostile, AChunkThatWasNeverAskedForClosesTheSession) {
  Connect();
  pb::ReplicationMessage message;
  message.mutable_chunk()->set_attachment_id(std::string(16, '\x07'));
  message.mutable_chunk()->set_index(0);
  message.mutable_chunk()->set_sealed(std::string(1000, 'z'));
  Send(message);
  ExpectClosedWith("which we did not ask for");
  EXPECT_EQ(Snap(), before_);
}

TEST_F(ReplicationHostile, WantingMoreChunksThanAllowedClosesTheSession) {
  sync::ReplicationLimits limits;
  limits.max_wanted_chunks = 4;
  Connect(limits);
  pb::ReplicationMessage message;
  message.mutable_want()->set_attachment_id(std::string(16, '\x09'));
  auto* range = message.mutable_want()->add_ranges();
  range->set_first(0);
  range->set_count(5);
  Send(message);
  ExpectClosedWith("more than 4 chunks");
  EXPECT_EQ(Snap(), before_);
}

TEST_F(ReplicationHostile, AWantForAnAttachmentWeDoNotOfferIsAnsweredUnavailable) {
  Connect();
  pb::ReplicationMessage message;
  message.mutable_want()->set_attachment_id(std::string(16, '\x0a'));
  auto* range = message.mutable_want()->add_ranges();
  range->set_first(3);
  range->set_count(2);
  Send(message);
  EXPECT_FALSE(session_->closed()) << session_->close_reason();
  size_t unavailable = 0;
  for (const auto& m : received_) {
    if (m.has_chunk()) {
      EXPECT_TRUE(m.chunk().unavailable());
      EXPECT_TRUE(m.chunk().sealed().empty());
      ++unavailable;
    }
  }
  EXPECT_EQ(unavailable, 2u);
}

TEST_F(ReplicationHostile, ASecondHelloClosesTheSession) {
  Connect();
  pb::ReplicationMessage hello;
  hello.mutable_hello()->set_version(1);
  Send(hello);
  ExpectClosedWith("second Hello");
  EXPECT_EQ(Snap(), before_);
}

TEST_F(ReplicationHostile, AWaitingSessionSendsKeepAlivesAndCutsASilentPeer) {
  Connect();
  const size_t before = received_.size();
  now_ += 16'000;  // longer than the keep-alive interval
  session_->Tick(now_);
  Pump();
  bool keep_alive = false;
  for (size_t i = before; i < received_.size(); ++i) keep_alive |= received_[i].has_keep_alive();
  EXPECT_TRUE(keep_alive);
  EXPECT_FALSE(session_->closed());
  now_ += 120'000;  // Mallory says nothing at all
  session_->Tick(now_);
  ExpectClosedWithoutPeerNotice("peer silent for 120 s");
  EXPECT_EQ(Snap(), before_);
}

}  // namespace
}  // namespace estelik::testing
