// A hostile contact at the replication layer: Mallory completes a genuine handshake (she is a
// contact) and then sends hand-made replication messages. Every violation must close the
// session with a stated reason and leave the victim's vault exactly as it was.
#include <gtest/gtest.h>

#include <optional>

#include "tests/unit/sync/sim_link.h"

namespace estelik::testing {
namespace {

class ReplicationHostile : public ::testing::Test {
 protected:
  void SetUp() override {
    victim_ = MakeSimPeer("vika");
    mallory_ = MakeSimPeer("mallory");
    carol_ = MakeSimPeer("carol");
    ASSERT_TRUE(victim_ && mallory_ && carol_);
    Befriend(*victim_, *mallory_);
    Befriend(*victim_, *carol_);
    std::vector<SimPeer*> all = {victim_.get(), mallory_.get(), carol_.get()};
    ours_ = MakeCircle(*mallory_, {victim_.get()}, all);  // mallory and victim
    others_ = MakeCircle(*carol_, {victim_.get()}, all);  // carol and victim only
    ASSERT_TRUE(SyncPeers(*mallory_, *victim_).a_ok);
    ASSERT_TRUE(Post(*carol_, others_, 2).ok());
    ASSERT_TRUE(SyncPeers(*carol_, *victim_).a_ok);
    ASSERT_TRUE(Post(*mallory_, ours_, 40).ok());
    // Mallory's ops the victim does not have yet, in seq order.
    auto vv = victim_->archive->log().GetVersionVector(log::Scope::Circle(ours_));
    ASSERT_TRUE(vv.ok());
    auto fresh = mallory_->archive->log().OpsAfter(*vv, log::Scope::Circle(ours_), 1000);
    ASSERT_TRUE(fresh.ok());
    fresh_ = *fresh;
    ASSERT_EQ(fresh_.size(), 40u);
  }

  // Opens a session on the victim and completes the handshake and Hellos as Mallory.
  void Connect(const sync::ReplicationLimits& limits = {}, bool send_hello = true) {
    sync::ReplicationConfig config;
    config.network_key = SimNetworkKey();
    config.limits = limits;
    auto session = sync::ReplicationSession::Create(*victim_->replica, std::move(config));
    ASSERT_TRUE(session.ok());
    session_ = std::move(*session);
    sync::SecureChannelConfig channel;
    channel.initiator = true;
    channel.identity_secret_key = mallory_->replica->IdentitySecretKey();
    channel.network_key = SimNetworkKey();
    channel.is_contact = [](const sync::Ed25519PublicKey&) { return true; };
    channel.limits.max_message_size = size_t{4} << 20;
    auto created = sync::SecureChannel::Create(std::move(channel));
    ASSERT_TRUE(created.ok());
    channel_.emplace(std::move(*created));
    Pump();
    ASSERT_TRUE(channel_->is_open());
    ASSERT_FALSE(received_.empty());
    ASSERT_TRUE(received_[0].has_hello());
    if (send_hello) {
      pb::ReplicationMessage hello;
      hello.mutable_hello()->set_version(1);
      // Claims to hold nothing, so the victim's own sending is small and predictable.
      Send(hello);
    }
    before_ = Snap();
  }

  Snapshot Snap() { return TakeSnapshot(*victim_, {ours_, others_}); }

  void Pump() {
    for (int i = 0; i < 10'000; ++i) {
      bool moved = false;
      now_ += 10;
      std::vector<uint8_t> out = channel_->TakeOutput();
      if (!out.empty()) {
        session_->Feed(out, now_);
        moved = true;
      }
      std::span<const uint8_t> pending = session_->PendingOutput();
      if (!pending.empty()) {
        std::vector<uint8_t> copy(pending.begin(), pending.end());
        session_->ConsumeOutput(copy.size());
        (void)channel_->Feed(copy);
        moved = true;
      }
      for (sync::ChannelEvent& event : channel_->TakeEvents()) {
        if (event.kind != sync::ChannelEvent::Kind::kMessage) continue;
        pb::ReplicationMessage message;
        if (message.ParseFromArray(event.message.data(), static_cast<int>(event.message.size())))
          received_.push_back(std::move(message));
      }
      if (!moved) break;
    }
  }

  void SendRaw(std::span<const uint8_t> bytes) {
    ASSERT_TRUE(channel_->Send(bytes).ok());
    Pump();
  }
  void Send(const pb::ReplicationMessage& message) {
    std::string bytes = message.SerializeAsString();
    SendRaw({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  }
  pb::ReplicationMessage Batch(const std::string& circle, const std::vector<pb::Envelope>& ops) {
    pb::ReplicationMessage message;
    message.mutable_op_batch()->set_circle_id(circle);
    for (const auto& op : ops) *message.mutable_op_batch()->add_envelopes() = op;
    return message;
  }
  std::vector<pb::Envelope> Fresh(size_t from, size_t count) {
    return {fresh_.begin() + static_cast<ptrdiff_t>(from),
            fresh_.begin() + static_cast<ptrdiff_t>(from + count)};
  }
  void ExpectClosedWithoutPeerNotice(const std::string& words) {
    EXPECT_TRUE(session_->closed());
    EXPECT_FALSE(session_->succeeded());
    EXPECT_NE(session_->close_reason().find(words), std::string::npos)
        << "reason: " << session_->close_reason();
  }
  void ExpectClosedWith(const std::string& words) {
    EXPECT_TRUE(session_->closed());
    EXPECT_FALSE(session_->succeeded());
    EXPECT_NE(session_->close_reason().find(words), std::string::npos)
        << "reason: " << session_->close_reason();
    // Mallory is told why.
    EXPECT_TRUE(channel_->is_closed());
  }

  std::unique_ptr<SimPeer> victim_, mallory_, carol_;
  std::string ours_, others_;
  std::vector<pb::Envelope> fresh_;
  std::unique_ptr<sync::ReplicationSession> session_;
  std::optional<sync::SecureChannel> channel_;
  std::vector<pb::ReplicationMessage> received_;
  Snapshot before_;
  uint64_t now_ = 5'000'000;
};

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
  auto theirs = carol_->archive->log().OpsAfter({}, log::Scope::Circle(others_), 1);
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
  auto carols = carol_->archive->log().OpsAfter({}, log::Scope::Circle(others_), 10);
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
