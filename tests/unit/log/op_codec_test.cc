#include "core/log/op_codec.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include "tests/unit/log/log_test_util.h"

namespace estelik::log {
namespace {

using testing::Seed;

// The fixed inputs of the format vector (docs/FORMAT.md "Ops and envelopes").
constexpr uint64_t kVectorWallMs = 1700000000000;

pb::OpBody VectorBody() {
  pb::OpBody body;
  auto* c = body.mutable_testimony_create();
  c->set_testimony_id(std::string(16, '\x01'));
  c->mutable_fields()->set_language("kk");
  c->mutable_fields()->set_title("Zhanaozen 2011");
  c->mutable_fields()->set_body("test");
  c->set_recorded_unix_ms(1323561600000);
  return body;
}

pb::Op VectorHeader(const Identity& id) {
  pb::Op op;
  op.set_version(kOpVersion);
  op.set_author(testing::KeyBytes(id.public_key()));
  op.set_seq(1);
  op.set_prev(std::string(kHashSize, '\0'));
  op.mutable_hlc()->set_wall_ms(kVectorWallMs);
  op.mutable_hlc()->set_counter(0);
  op.mutable_scope();  // private scope: present and empty, as Append writes it
  return op;
}

std::vector<uint8_t> VectorKey() { return std::vector<uint8_t>(kBodyKeySize, 0xA1); }
std::vector<uint8_t> VectorNonce() { return std::vector<uint8_t>(kNonceSize, 0x24); }

// Pinned: a change to any of these is a format change (bump Op.version).
constexpr char kVectorOpHex[] =
    "0801122079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad0496641801222000000000"
    "000000000000000000000000000000000000000000000000000000002a070880d095ffbc3132003a5f242424"
    "2424242424242424242424242424242424242424242935f6908cfb400b0748f4197125bb51d04c3a5300813e"
    "fccfa82300fb9691cc28315abe7f8453d335658f9fdfe0c6204f36aff705c5f57321c432fe15727d0cc5e329"
    "b0d193da";
constexpr char kVectorHashHex[] =
    "40dffbc621f0e55ee6b1db1d4f726ddc68964c40d2533881976eefc2d2fb3403";
constexpr char kVectorSignatureHex[] =
    "06329d7544f075c63acddd8dbcf4719d77ab078444b139ce36b29ad9f294acc10e3c09b24be360d444aa7e5ce568f0"
    "72cdaddf2fd53fef9d18c476fd394ea207";

TEST(OpVectorTest, FixedInputsGiveTheCheckedInOpBytesHashAndSignature) {
  Identity id = std::move(Identity::FromSeed(Seed(1))).value();
  pb::Envelope env = SealAndSign(id, VectorHeader(id), VectorBody().SerializeAsString(),
                                 VectorKey(), VectorNonce());
  EXPECT_EQ(Hex(Bytes(env.op())), kVectorOpHex);
  EXPECT_EQ(Hex(HashOpBytes(env.op())), kVectorHashHex);
  EXPECT_EQ(Hex(Bytes(env.signature())), kVectorSignatureHex);
}

TEST(OpVectorTest, AppendThroughTheOpLogProducesTheVectorBytes) {
  testing::Peer peer(1);
  // Peer(1) uses private key 0xA1 * 32, the vector's key.
  peer->SetNonceSourceForTesting([](std::span<uint8_t> n) { std::fill(n.begin(), n.end(), 0x24); });
  auto env = peer->Append(VectorBody(), Scope::Private(), kVectorWallMs);
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(Hex(Bytes(env->op())), kVectorOpHex);
  EXPECT_EQ(Hex(Bytes(env->signature())), kVectorSignatureHex);
}

class OpCodecTest : public ::testing::Test {
 protected:
  Identity id_ = std::move(Identity::FromSeed(Seed(1))).value();
  pb::Envelope Make(uint64_t seq, const std::string& prev) {
    pb::Op h = VectorHeader(id_);
    h.set_seq(seq);
    h.set_prev(prev);
    std::vector<uint8_t> nonce(kNonceSize);
    randombytes_buf(nonce.data(), nonce.size());
    return SealAndSign(id_, h, "body " + std::to_string(seq), VectorKey(), nonce);
  }
  std::vector<pb::Envelope> Chain(size_t n) {
    std::vector<pb::Envelope> run;
    std::string prev(kHashSize, '\0');
    for (size_t i = 1; i <= n; ++i) {
      run.push_back(Make(i, prev));
      OpHash h = HashOpBytes(run.back().op());
      prev.assign(reinterpret_cast<const char*>(h.data()), h.size());
    }
    return run;
  }
};

TEST_F(OpCodecTest, SignedOpVerifiesAndItsBodyOpensWithTheScopeKey) {
  pb::Envelope env = Make(1, std::string(kHashSize, '\0'));
  auto op = ParseOpHeader(env.op());
  ASSERT_TRUE(op.ok());
  EXPECT_TRUE(VerifyEnvelopeSignature(env, *op).ok());
  auto body = OpenSealed(VectorKey(), BodyAssociatedData(*op), op->sealed_body());
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, "body 1");
  std::vector<uint8_t> other(kBodyKeySize, 0x01);
  EXPECT_EQ(OpenSealed(other, BodyAssociatedData(*op), op->sealed_body()).status().code(),
            Code::kCorrupt);
}

TEST_F(OpCodecTest, ChangingAnyByteOfTheOpOrSignatureIsRejected) {
  pb::Envelope env = Make(1, std::string(kHashSize, '\0'));
  size_t total = env.op().size() + env.signature().size();
  for (size_t i = 0; i < total; ++i) {
    pb::Envelope t = env;
    std::string* field = i < env.op().size() ? t.mutable_op() : t.mutable_signature();
    size_t at = i < env.op().size() ? i : i - env.op().size();
    (*field)[at] = static_cast<char>((*field)[at] ^ 0x01);
    auto op = ParseOpHeader(t.op());
    bool accepted = op.ok() && VerifyEnvelopeSignature(t, *op).ok();
    EXPECT_FALSE(accepted) << "flipping byte " << i << " was not detected";
  }
}

TEST_F(OpCodecTest, MalformedHeadersAreRejectedBeforeAnyCryptography) {
  EXPECT_EQ(ParseOpHeader("\xff\xff\xff").status().code(), Code::kCorrupt);
  EXPECT_EQ(ParseOpHeader(std::string(kMaxOpBytes + 1, '\0')).status().code(),
            Code::kLimitExceeded);
  pb::Op h = VectorHeader(id_);
  h.set_sealed_body(std::string(40, 'x'));
  EXPECT_TRUE(ParseOpHeader(h.SerializeAsString()).ok());
  pb::Op v = h;
  v.set_version(2);
  EXPECT_EQ(ParseOpHeader(v.SerializeAsString()).status().code(), Code::kUnsupported);
  pb::Op s = h;
  s.set_seq(2);  // seq 2 with an all-zero prev
  EXPECT_EQ(ParseOpHeader(s.SerializeAsString()).status().code(), Code::kCorrupt);
  pb::Op a = h;
  a.set_author("short");
  EXPECT_EQ(ParseOpHeader(a.SerializeAsString()).status().code(), Code::kCorrupt);
  pb::Op g = h;
  g.add_key_grants("too short");
  EXPECT_EQ(ParseOpHeader(g.SerializeAsString()).status().code(), Code::kCorrupt);
}

TEST_F(OpCodecTest, ChainRunOfHonestOpsVerifiesWithOneSignature) {
  auto run = Chain(20);
  auto v = VerifyChainRun(run);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->ops.size(), 20u);
  EXPECT_EQ(v->hashes.back(), HashOpBytes(run.back().op()));
}

TEST_F(OpCodecTest, ChainRunWithAnAlteredMiddleOpIsRejected) {
  auto run = Chain(10);
  // Re-sign a different op 5 with the right prev: only the chain (op 6's prev) catches it.
  std::string prev4 = ParseOpHeader(run[4].op())->prev();
  run[4] = Make(5, prev4);
  auto v = VerifyChainRun(run);
  EXPECT_EQ(v.status().code(), Code::kCorrupt);
  EXPECT_NE(v.status().message().find("seq 6"), std::string::npos) << v.status().message();
}

TEST_F(OpCodecTest, ChainRunWithAForgedHeadSignatureIsRejected) {
  auto run = Chain(10);
  Identity mallory = std::move(Identity::FromSeed(Seed(9))).value();
  auto sig = mallory.Sign(Bytes(std::string(kSignContext) + run.back().op()));
  run.back().set_signature(sig.data(), sig.size());
  EXPECT_EQ(VerifyChainRun(run).status().code(), Code::kCorrupt);
}

TEST_F(OpCodecTest, KeyGrantOpensOnlyForItsRecipientCircleAndEpoch) {
  Identity bob = std::move(Identity::FromSeed(Seed(2))).value();
  std::string circle(kCircleIdSize, 'c');
  std::vector<uint8_t> key(kBodyKeySize, 0x55);
  std::string grant = SealGrant(bob.x25519_public_key(), Bytes(circle), 3, key);
  EXPECT_EQ(grant.size(), kGrantSize);
  auto opened = OpenGrant(bob, grant, Bytes(circle), 3);
  ASSERT_TRUE(opened.has_value());
  EXPECT_TRUE(crypto::ConstantTimeEquals(opened->span(), key));
  EXPECT_FALSE(OpenGrant(id_, grant, Bytes(circle), 3).has_value());
  EXPECT_FALSE(OpenGrant(bob, grant, Bytes(circle), 4).has_value());
  EXPECT_FALSE(OpenGrant(bob, grant, Bytes(std::string(kCircleIdSize, 'd')), 3).has_value());
}

}  // namespace
}  // namespace estelik::log
