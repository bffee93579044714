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
  // OpLog::Append draws the salt from the nonce source before the nonce: 16 x 0x24 here.
  body.set_salt(std::string(kBodySaltSize, '\x24'));
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
    "000000000000000000000000000000000000000000000000000000002a070880d095ffbc3132003a72242424"
    "2424242424242424242424242424242424242424242935f6908cfb400b0748f4197125bb51d04c3a5300813e"
    "fccfa82300fb9691cc28315abe7f8453d335658f9fdfe0c6204f36aff705c5f5ac22f3c31587b5b59e41686f"
    "2685998031842e1793e067d5fa2f399e924ea75fa0836a4a205481b3ba9de1bc8467095bbcbba3f6b29aeb6c"
    "972524922ec6299fa33354ba42";
constexpr char kVectorBodyCommitmentHex[] =
    "70d03801002a90635821df6bfc7b2bd33f0d2db37ddcc8bd8fbcc58cb311393d";
constexpr char kVectorHashHex[] =
    "40dc8e0f5b5573f3363d107e3f6ccf37761394036977b1127f722358bdaa4934";
constexpr char kVectorSignatureHex[] =
    "f59637646c1d90dc8ffb267e10cab8df71603af41e99c908ef1dfe82a9a78358000d5bf564f50e102ec5ee9b02207f"
    "1bb8a595091f7ec460e87b5a28e145f40e";

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

TEST(OpVectorTest, BodyCommitmentIsBlake2bOfTheContextAndTheExactBodyBytes) {
  // Pinned: BLAKE2b-256("estelik-body-v1\0" || "test").
  EXPECT_EQ(Hex(BodyCommitment("test")), kVectorBodyCommitmentHex);
  Identity id = std::move(Identity::FromSeed(Seed(1))).value();
  pb::Envelope env = SealAndSign(id, VectorHeader(id), VectorBody().SerializeAsString(),
                                 VectorKey(), VectorNonce());
  auto op = ParseOpHeader(env.op());
  ASSERT_TRUE(op.ok());
  EXPECT_EQ(op->body_hash(),
            std::string(reinterpret_cast<const char*>(
                            BodyCommitment(VectorBody().SerializeAsString()).data()),
                        kHashSize));
  EXPECT_TRUE(CheckBodyCommitment(*op, VectorBody().SerializeAsString()).ok());
  pb::OpBody other = VectorBody();
  other.set_salt(std::string(kBodySaltSize, '\x25'));  // same content, other salt
  Status st = CheckBodyCommitment(*op, other.SerializeAsString());
  EXPECT_EQ(st.code(), Code::kCorrupt);
  EXPECT_NE(st.message().find("seq 1: body does not match its signed commitment"),
            std::string::npos)
      << st.message();
  pb::Op bad = *op;
  bad.set_body_hash(std::string(31, 'x'));
  EXPECT_EQ(ParseOpHeader(bad.SerializeAsString()).status().code(), Code::kCorrupt);
  pb::Op legacy = *op;
  legacy.clear_body_hash();  // ops written before commitments still parse and open
  EXPECT_TRUE(ParseOpHeader(legacy.SerializeAsString()).ok());
  EXPECT_TRUE(CheckBodyCommitment(legacy, "anything").ok());
}

TEST(OpVectorTest, OpenBodyRejectsASealedBodyThatDiffersFromItsCommitment) {
  testing::Peer peer(1);
  Identity id = std::move(Identity::FromSeed(Seed(1))).value();
  // The author commits to one body and seals another (showing members X, investigators Y).
  pb::Op header = VectorHeader(id);
  OpHash claimed = BodyCommitment("what the investigator would be shown");
  header.set_body_hash(claimed.data(), claimed.size());
  std::string sealed_plain = VectorBody().SerializeAsString();
  header.set_sealed_body(SealBody(std::vector<uint8_t>(kBodyKeySize, 0xA1), VectorNonce(),
                                  BodyAssociatedData(header), sealed_plain));
  pb::Envelope env;
  env.set_op(header.SerializeAsString());
  std::string input(kSignContext);
  input += env.op();
  Signature sig = id.Sign(Bytes(input));
  env.set_signature(sig.data(), sig.size());
  auto body = peer->OpenBody(env);
  EXPECT_EQ(body.status().code(), Code::kCorrupt);
  EXPECT_NE(body.status().message().find("does not match its signed commitment"),
            std::string::npos);
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
