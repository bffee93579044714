// Compressed replication messages (docs/PROTOCOL.md "Compression"): OpBatch messages travel
// as raw DEFLATE between peers that both advertise "deflate/1", never to a peer that did not,
// and a hostile peer's compressed message is held to the same limits as a plain one.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/deflate.h"
#include "tests/unit/sync/hostile_harness.h"

namespace estelik::testing {
namespace {

// Alma posts `count` testimonies to a circle she shares with Bota, who posts `count` back; then
// one session (Alma dials) with the given configs. Same names, texts and op sizes every run.
struct Exchange {
  SyncOutcome outcome;
  bool converged = false;
};
Exchange RunExchange(size_t count, const ConfigureSides& configure) {
  Exchange out;
  auto a = MakeSimPeer("alma");
  auto b = MakeSimPeer("bota");
  if (!a || !b) return out;
  Befriend(*a, *b);
  std::string circle = MakeCircle(*a, {b.get()}, {a.get(), b.get()});
  if (!SyncPeers(*a, *b).a_ok) return out;  // Bota joins (plain-size either way: 2 ops)
  if (!Post(*a, circle, count).ok() || !Post(*b, circle, count).ok()) return out;
  out.outcome = SyncPeers(*a, *b, {}, {}, configure);
  out.converged = TakeSnapshot(*a, {circle}) == TakeSnapshot(*b, {circle}) &&
                  OpCount(TakeSnapshot(*a, {circle}).versions[0]) == 2 + 2 * count;
  return out;
}

void DeflateOff(sync::ReplicationConfig& config) { config.deflate = false; }

TEST(DeflateSession, CompressedBatchesConvergeInFewerBytesThanPlainOnes) {
  constexpr size_t kOps = 40;
  Exchange compressed = RunExchange(kOps, {});
  Exchange plain = RunExchange(kOps, [](auto& a, auto&) { DeflateOff(a); });
  for (const Exchange* run : {&compressed, &plain}) {
    ASSERT_TRUE(run->outcome.a_ok && run->outcome.b_ok)
        << run->outcome.a_reason << " / " << run->outcome.b_reason;
    EXPECT_TRUE(run->converged);
    EXPECT_EQ(run->outcome.a.ops_sent, kOps);
    EXPECT_EQ(run->outcome.b.ops_sent, kOps);
  }
  const sync::ReplicationStats& ca = compressed.outcome.a;
  const sync::ReplicationStats& cb = compressed.outcome.b;
  const sync::ReplicationStats& pa = plain.outcome.a;
  const sync::ReplicationStats& pb = plain.outcome.b;
  // Both directions sent every batch compressed, and each side inflated what the other sent.
  EXPECT_EQ(ca.messages_deflated_sent, ca.batches_sent);
  EXPECT_EQ(cb.messages_deflated_sent, cb.batches_sent);
  EXPECT_EQ(cb.messages_deflated_received, ca.messages_deflated_sent);
  EXPECT_EQ(pa.messages_deflated_sent + pb.messages_deflated_sent, 0u);
  // Each op header repeats a 32-byte author and a 32-byte circle id: at least 40 bytes of
  // every op go away, in both directions, and the framed bytes on the wire shrink with them.
  EXPECT_LT(ca.batch_bytes_sent + 40 * kOps, pa.batch_bytes_sent)
      << ca.batch_bytes_sent << " vs " << pa.batch_bytes_sent;
  EXPECT_LT(cb.batch_bytes_sent + 40 * kOps, pb.batch_bytes_sent)
      << cb.batch_bytes_sent << " vs " << pb.batch_bytes_sent;
  EXPECT_LT(compressed.outcome.link.total() + 2 * 40 * kOps, plain.outcome.link.total())
      << compressed.outcome.link.total() << " vs " << plain.outcome.link.total();
  EXPECT_EQ(ca.wire_bytes_sent, compressed.outcome.link.bytes_a_to_b);
}

TEST(DeflateSession, APeerWithoutDeflateGetsNoCompressedMessageAndStillConverges) {
  // Either role may be the one that does not advertise deflate/1; both directions carry ops.
  const std::vector<ConfigureSides> mixes = {[](auto& a, auto&) { DeflateOff(a); },
                                             [](auto&, auto& b) { DeflateOff(b); }};
  for (const ConfigureSides& mix : mixes) {
    Exchange run = RunExchange(10, mix);
    ASSERT_TRUE(run.outcome.a_ok && run.outcome.b_ok)
        << run.outcome.a_reason << " / " << run.outcome.b_reason;
    EXPECT_TRUE(run.converged);
    EXPECT_EQ(run.outcome.a.ops_sent, 10u);
    EXPECT_EQ(run.outcome.b.ops_sent, 10u);
    EXPECT_EQ(run.outcome.a.messages_deflated_sent, 0u);
    EXPECT_EQ(run.outcome.b.messages_deflated_sent, 0u);
    EXPECT_EQ(run.outcome.a.messages_deflated_received, 0u);
    EXPECT_EQ(run.outcome.b.messages_deflated_received, 0u);
  }
}

// Mallory advertises deflate/1 unless a test says otherwise.
class DeflateHostile : public ReplicationHostile {
 protected:
  DeflateHostile() {
    mallory_capabilities_ = {sync::kReplicationCapability, sync::kDeflateCapability};
  }

  static pb::ReplicationMessage Deflated(std::string_view inner) {
    pb::ReplicationMessage message;
    message.set_deflated(DeflateRaw(inner));
    return message;
  }
  static pb::ReplicationMessage Deflated(const pb::ReplicationMessage& inner) {
    return Deflated(inner.SerializeAsString());
  }
  // Mallory's channel reports the victim's close code and reason.
  void ExpectPeerTold(Code code, const std::string& reason) {
    ASSERT_TRUE(channel_->is_closed());
    EXPECT_EQ(channel_->close_reason().code(), code) << channel_->close_reason().ToString();
    EXPECT_NE(channel_->close_reason().message().find(reason), std::string::npos)
        << channel_->close_reason().ToString();
  }
};

TEST_F(DeflateHostile, ACompressedBatchFromAPeerThatNegotiatedIsApplied) {
  Connect();
  Send(Deflated(Batch(ours_, Fresh(0, 5))));
  EXPECT_FALSE(session_->closed()) << session_->close_reason();
  EXPECT_EQ(OpCount(Snap().versions[0]), OpCount(before_.versions[0]) + 5);
  EXPECT_EQ(session_->stats().messages_deflated_received, 1u);
}

TEST_F(DeflateHostile, TheVictimsOwnBatchesReachAPeerThatNegotiatedCompressed) {
  Connect();  // Mallory's Hello claims nothing, so the victim sends her the circle's ops
  size_t batches = 0;
  for (const pb::ReplicationMessage& message : received_) {
    EXPECT_FALSE(message.has_op_batch());
    if (!message.has_deflated()) continue;
    auto inflated = InflateRaw(message.deflated(), size_t{2} << 20, "batch");
    ASSERT_TRUE(inflated.ok()) << inflated.status().ToString();
    pb::ReplicationMessage inner;
    ASSERT_TRUE(inner.ParseFromString(*inflated));
    EXPECT_TRUE(inner.has_op_batch());
    EXPECT_EQ(inner.op_batch().circle_id(), ours_);
    ++batches;
  }
  EXPECT_EQ(batches, 1u);
  EXPECT_EQ(session_->stats().messages_deflated_sent, 1u);
}

TEST_F(DeflateHostile, APeerThatDidNotAdvertiseDeflateGetsPlainBatches) {
  mallory_capabilities_ = {sync::kReplicationCapability};
  Connect();
  bool plain = false;
  for (const pb::ReplicationMessage& message : received_) {
    EXPECT_FALSE(message.has_deflated());
    plain |= message.has_op_batch();
  }
  EXPECT_TRUE(plain);
  EXPECT_EQ(session_->stats().messages_deflated_sent, 0u);
}

// A batch too large for the peer is never squeezed under its limit by compression: batches
// are closed before their plain form would pass the peer's max_message_size
// (replication_message_size_test.cc), which the peer inflates to at most.

TEST_F(DeflateHostile, ACompressedMessageFromAPeerThatDidNotAdvertiseDeflateIsAViolation) {
  mallory_capabilities_ = {sync::kReplicationCapability};
  Connect();
  Send(Deflated(Batch(ours_, Fresh(0, 5))));
  ExpectClosedWith("peer sent a compressed message without negotiating deflate/1");
  ExpectPeerTold(Code::kProtocol, "without negotiating deflate/1");
  EXPECT_EQ(Snap(), before_);
}

TEST_F(DeflateHostile, ACompressedMessageToAVictimThatDidNotOfferDeflateIsAViolation) {
  victim_deflate_ = false;
  Connect();
  Send(Deflated(Batch(ours_, Fresh(0, 5))));
  ExpectClosedWith("peer sent a compressed message without negotiating deflate/1");
  ExpectPeerTold(Code::kProtocol, "without negotiating deflate/1");
  EXPECT_EQ(Snap(), before_);
}

TEST_F(DeflateHostile, ACompressedMessageInsideACompressedMessageIsAViolation) {
  Connect();
  Send(Deflated(Deflated(Batch(ours_, Fresh(0, 5)))));
  ExpectClosedWith("peer sent a compressed message inside a compressed message");
  ExpectPeerTold(Code::kProtocol, "inside a compressed message");
  EXPECT_EQ(Snap(), before_);
}

TEST_F(DeflateHostile, ACompressionBombStopsAtTheMessageLimitWithTheLimitCode) {
  sync::ReplicationLimits limits;
  limits.max_message_size = sync::kMinMaxMessageSize;
  Connect(limits);
  // 16 MiB of zeros deflate to about 16 KiB: well within the limit as sent.
  pb::ReplicationMessage bomb = Deflated(std::string(size_t{16} << 20, '\0'));
  ASSERT_LT(bomb.ByteSizeLong(), limits.max_message_size);
  Send(bomb);
  const std::string limit = std::to_string(sync::kMinMaxMessageSize);
  ExpectClosedWith("peer's compressed message inflates to more than " + limit + " bytes");
  ExpectPeerTold(Code::kLimitExceeded, "inflates to more than " + limit + " bytes");
  EXPECT_EQ(Snap(), before_);
}

TEST_F(DeflateHostile, AMessageThatInflatesToExactlyTheLimitIsAccepted) {
  sync::ReplicationLimits limits;
  limits.max_message_size = sync::kMinMaxMessageSize;
  Connect(limits);
  // A KeepAlive padded with an unknown field (kept aside by protobuf) to exactly the limit.
  std::string inner = "\x3a";  // keep_alive, length-delimited, empty
  inner += '\0';
  const size_t pad = limits.max_message_size - inner.size() - 5;  // tag 0xfa 0x3f + 3-byte len
  ASSERT_GE(pad, size_t{1} << 14);
  ASSERT_LT(pad, size_t{1} << 21);
  inner += "\xfa\x3f";  // field 1023, length-delimited
  inner += static_cast<char>(0x80 | (pad & 0x7f));
  inner += static_cast<char>(0x80 | ((pad >> 7) & 0x7f));
  inner += static_cast<char>(pad >> 14);
  inner += std::string(pad, 'x');
  ASSERT_EQ(inner.size(), limits.max_message_size);
  Send(Deflated(inner));
  EXPECT_FALSE(session_->closed()) << session_->close_reason();
  EXPECT_EQ(session_->stats().messages_deflated_received, 1u);
}

TEST_F(DeflateHostile, GarbageInsteadOfADeflateStreamIsAProtocolViolation) {
  Connect();
  pb::ReplicationMessage garbage;
  garbage.set_deflated(std::string("\xff\xff\xff\xff\x0f\x01\x02", 7));  // reserved block type
  Send(garbage);
  ExpectClosedWith("peer's compressed message is not a complete DEFLATE stream");
  ExpectPeerTold(Code::kProtocol, "not a complete DEFLATE stream");
  EXPECT_EQ(Snap(), before_);
}

TEST_F(DeflateHostile, ATruncatedDeflateStreamIsAProtocolViolation) {
  Connect();
  pb::ReplicationMessage truncated = Deflated(Batch(ours_, Fresh(0, 5)));
  truncated.mutable_deflated()->resize(truncated.deflated().size() - 8);
  Send(truncated);
  ExpectClosedWith("peer's compressed message is not a complete DEFLATE stream");
  ExpectPeerTold(Code::kProtocol, "not a complete DEFLATE stream");
  EXPECT_EQ(Snap(), before_);
}

TEST_F(DeflateHostile, BytesAfterTheDeflateStreamAreAProtocolViolation) {
  Connect();
  pb::ReplicationMessage trailing = Deflated(Batch(ours_, Fresh(0, 5)));
  trailing.mutable_deflated()->append("\x00", 1);
  Send(trailing);
  ExpectClosedWith("peer's compressed message has bytes after its DEFLATE stream");
  ExpectPeerTold(Code::kProtocol, "bytes after its DEFLATE stream");
  EXPECT_EQ(Snap(), before_);
}

TEST_F(DeflateHostile, ADeflateStreamThatHoldsNoReplicationMessageIsAProtocolViolation) {
  Connect();
  Send(Deflated(std::string("\xff\xff\xff\xff\x0f\x01\x02", 7)));
  ExpectClosedWith("peer sent a compressed message that holds no replication message (7 bytes");
  ExpectPeerTold(Code::kProtocol, "holds no replication message");
  EXPECT_EQ(Snap(), before_);
}

TEST_F(DeflateHostile, TheInnerMessageIsHeldToEveryLimitOfAPlainOne) {
  sync::ReplicationLimits limits;
  limits.max_ops_per_batch = 16;
  Connect(limits);
  Send(Deflated(Batch(ours_, Fresh(0, 17))));
  ExpectClosedWith("peer sent a batch of 17 ops; the limit is 16");
  ExpectPeerTold(Code::kLimitExceeded, "batch of 17 ops");
  EXPECT_EQ(Snap(), before_);
}

TEST_F(DeflateHostile, TheSessionByteLimitCountsACompressedMessageAtItsInflatedSize) {
  const std::string inner = Batch(ours_, Fresh(0, 20)).SerializeAsString();
  const size_t outer = Deflated(inner).ByteSizeLong();
  ASSERT_LT(outer + 1000, inner.size());
  sync::ReplicationLimits limits;
  limits.max_session_bytes = outer + 100;  // Mallory's Hello and the compressed form fit
  Connect(limits);
  Send(Deflated(inner));
  ExpectClosedWith("peer sent more than " + std::to_string(outer + 100) + " bytes in one session");
  EXPECT_EQ(Snap(), before_);
}

// The framing pinned from docs/PROTOCOL.md alone: field 8 (tag 0x42), a varint length, then a
// raw DEFLATE stream; here one final stored block (0x01, LEN and ~LEN little-endian), which
// any RFC 1951 encoder may emit and every decoder must accept.
TEST_F(DeflateHostile, AStoredBlockCompressedMessageWrittenFromTheSpecIsApplied) {
  Connect();
  const std::string inner = Batch(ours_, Fresh(0, 3)).SerializeAsString();
  ASSERT_LT(inner.size(), 0x3f00u);  // the length varint below has two bytes
  const size_t len = inner.size();
  std::string stream = {'\x01', static_cast<char>(len & 0xff), static_cast<char>(len >> 8),
                        static_cast<char>(~len & 0xff), static_cast<char>((~len >> 8) & 0xff)};
  stream += inner;
  std::string message = {'\x42', static_cast<char>(0x80 | (stream.size() & 0x7f)),
                         static_cast<char>(stream.size() >> 7)};
  message += stream;
  pb::ReplicationMessage parsed;
  ASSERT_TRUE(parsed.ParseFromString(message));
  ASSERT_EQ(parsed.SerializeAsString(), message);  // what the implementation writes, too
  SendRaw({reinterpret_cast<const uint8_t*>(message.data()), message.size()});
  EXPECT_FALSE(session_->closed()) << session_->close_reason();
  EXPECT_EQ(OpCount(Snap().versions[0]), OpCount(before_.versions[0]) + 3);
}

}  // namespace
}  // namespace estelik::testing
