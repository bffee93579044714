// Message sizes in replication (docs/PROTOCOL.md "Limits"): a sender never sends a message
// larger than the max_message_size its peer advertised in the handshake, whatever its own batch
// size; a peer advertising less than kMinMaxMessageSize (below which a maximal op could not
// travel) is refused when the session opens; and the default that sessions advertise is the
// documented one.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "tests/unit/sync/hostile_harness.h"

namespace estelik::testing {
namespace {

// `size` bytes of printable ASCII words that body compression cannot shrink much (random
// letters, digits and punctuation), the same for a given seed.
std::string RandomText(size_t size, uint64_t seed) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?-+*/=()[]{}<>@#$%&_~";
  std::mt19937_64 random(seed);
  std::string text;
  text.reserve(size);
  while (text.size() < size) {
    text += random() % 8 == 0 ? ' ' : kAlphabet[random() % (sizeof(kAlphabet) - 1)];
  }
  return text;
}

// Alma sends Bota many ~30 KB ops; Bota advertises the smallest max_message_size allowed.
// Alma's own batch size is no limit at all, so only Bota's limit can close her batches.
TEST(ReplicationMessageSize, LargeOpsReachAPeerAtTheMinimumLimitInMessagesThatFitIt) {
  constexpr size_t kOps = 80;
  for (bool deflate : {false, true}) {
    SCOPED_TRACE(deflate ? "deflate/1 negotiated" : "plain messages");
    auto a = MakeSimPeer("alma");
    auto b = MakeSimPeer("bota");
    ASSERT_TRUE(a && b);
    Befriend(*a, *b);
    const std::string circle = MakeCircle(*a, {b.get()}, {a.get(), b.get()});
    ASSERT_FALSE(circle.empty());
    ASSERT_TRUE(SyncPeers(*a, *b).a_ok);  // Bota joins
    for (size_t i = 0; i < kOps; ++i) {
      ASSERT_TRUE(Post(*a, circle, 1, RandomText(36 * 1024, i)).ok());
    }
    // The ops really are ~30 KB each, sealed (incompressible) whatever the text.
    auto ops = a->archive->OpsAfter(circle, TakeSnapshot(*b, {circle}).versions[0], 1000);
    ASSERT_TRUE(ops.ok());
    ASSERT_EQ(ops->size(), kOps);
    size_t op_bytes = 0;
    for (const pb::Envelope& envelope : *ops) {
      EXPECT_GT(envelope.ByteSizeLong(), 25'000u);
      EXPECT_LT(envelope.ByteSizeLong(), 40'000u);
      op_bytes += envelope.ByteSizeLong();
    }
    ASSERT_GT(op_bytes, 2 * sync::kMinMaxMessageSize);  // several messages' worth

    SyncOutcome out = SyncPeers(*a, *b, {}, {}, [&](auto& ca, auto& cb) {
      ca.limits.batch_target_bytes = size_t{64} << 20;
      ca.deflate = deflate;
      cb.limits.max_message_size = sync::kMinMaxMessageSize;
    });
    ASSERT_TRUE(out.a_ok && out.b_ok) << out.a_reason << " / " << out.b_reason;
    EXPECT_EQ(TakeSnapshot(*a, {circle}), TakeSnapshot(*b, {circle}));
    EXPECT_EQ(out.a.ops_sent, kOps);
    EXPECT_EQ(out.b.ops_accepted, kOps);
    // What Bota's channel delivered (and what Alma sent) never exceeded Bota's limit...
    EXPECT_LE(out.b.largest_message_received, sync::kMinMaxMessageSize);
    EXPECT_LE(out.a.largest_message_sent, sync::kMinMaxMessageSize);
    EXPECT_EQ(out.a.largest_message_sent, out.b.largest_message_received);
    // ...and it was that limit that closed the batches: they came within one op of it.
    EXPECT_GT(out.a.largest_message_sent + 40'000, sync::kMinMaxMessageSize);
    EXPECT_GE(out.a.batches_sent, op_bytes / sync::kMinMaxMessageSize + 1);
    if (deflate) {
      EXPECT_EQ(out.a.messages_deflated_sent, out.a.batches_sent);
    } else {
      EXPECT_EQ(out.a.messages_deflated_sent, 0u);
    }
  }
}

TEST(ReplicationMessageSize, ASessionCannotBeConfiguredBelowTheMinimum) {
  auto a = MakeSimPeer("alma");
  ASSERT_TRUE(a);
  sync::ReplicationConfig config;
  config.network_key = SimNetworkKey();
  config.limits.max_message_size = sync::kMinMaxMessageSize - 1;
  auto session = sync::ReplicationSession::Create(*a->replica, std::move(config));
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), Code::kInvalidArgument);
}

// Mallory completes a genuine handshake with her own channel, advertising what a test says.
class MessageSizeHostile : public ReplicationHostile {
 protected:
  // Like Connect(), but expects nothing from the victim (it may close at once).
  void Handshake() {
    mallory_capabilities_ = {sync::kReplicationCapability, sync::kDeflateCapability};
    OpenSession();
    if (HasFatalFailure()) return;
    before_ = Snap();
    Pump();
  }
};

// The issue #12 case: a peer that advertises 64 KiB would get 122 KB batches. It is refused
// before anything is sent, as a protocol violation (it is not the one over a limit).
TEST_F(MessageSizeHostile, APeerAdvertisingLessThanTheMinimumIsRefusedWhenTheSessionOpens) {
  mallory_max_message_size_ = 65'536;
  Handshake();
  ASSERT_TRUE(session_->closed());
  EXPECT_FALSE(session_->succeeded());
  const std::string reason = "peer accepts messages of at most 65536 bytes; replication needs " +
                             std::string("at least ") + std::to_string(sync::kMinMaxMessageSize);
  EXPECT_EQ(session_->close_reason(), reason);
  ASSERT_TRUE(channel_->is_closed());
  EXPECT_EQ(channel_->close_reason().code(), Code::kProtocol)
      << channel_->close_reason().ToString();
  EXPECT_NE(channel_->close_reason().message().find(reason), std::string::npos);
  EXPECT_TRUE(received_.empty());  // not even a Hello
  EXPECT_EQ(session_->stats().message_bytes_sent, 0u);
  EXPECT_EQ(Snap(), before_);
}

TEST_F(MessageSizeHostile, APeerAdvertisingExactlyTheMinimumIsServed) {
  mallory_max_message_size_ = sync::kMinMaxMessageSize;
  Handshake();
  EXPECT_FALSE(session_->closed()) << session_->close_reason();
  ASSERT_FALSE(received_.empty());
  EXPECT_TRUE(received_[0].has_hello());
}

// docs/PROTOCOL.md "Limits": a replication session advertises 2 MiB by default, and the
// minimum it accepts is 1 MiB + 64 KiB.
TEST_F(MessageSizeHostile, TheDocumentedDefaultIsWhatASessionAdvertises) {
  EXPECT_EQ(sync::ReplicationLimits{}.max_message_size, size_t{2} << 20);
  EXPECT_EQ(sync::kMinMaxMessageSize, 1'114'112u);
  Handshake();
  ASSERT_TRUE(channel_->is_open());
  EXPECT_EQ(channel_->peer_max_message_size(), size_t{2} << 20);
}

}  // namespace
}  // namespace estelik::testing
