#include "core/log/op_codec.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include "core/bytes.h"
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

// Pinned: a change to any of these is a format change (bump Op.version, or for the body's
// encoding Op.body_codec). The 74-byte body deflates to 49 bytes, so this op has body_codec 1
// (the trailing `50 01`): sealed_body is nonce || XChaCha20-Poly1305(raw DEFLATE level 6 of the
// body) || tag, 89 bytes. derive_op_vectors.py (beside this file) re-derives these bytes.
constexpr char kVectorOpHex[] =
    "0801122079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad0496641801222000000000"
    "000000000000000000000000000000000000000000000000000000002a070880d095ffbc3132003a59242424"
    "242424242424242424242424242424242424242424c0321992edbe42485415b9c1a966c601c8c442dbebce9d"
    "87ae85378827acdc87e09b05c91cb90acc1b06ce5f8d253752573c71fb723c4f90f59557cb05c5f005214a20"
    "5481b3ba9de1bc8467095bbcbba3f6b29aeb6c972524922ec6299fa33354ba425001";
constexpr char kVectorBodyCommitmentHex[] =
    "70d03801002a90635821df6bfc7b2bd33f0d2db37ddcc8bd8fbcc58cb311393d";
constexpr char kVectorHashHex[] =
    "90311e57344fe04189e4379d6d2adb9dab9f4f21b8370157ff17dc19a524fd30";
constexpr char kVectorSignatureHex[] =
    "b54a38e9dd79cc7eff3ce40f953c80b4000e714f14329eca7ec580af698957a4f33269f3dddfb1860c09566427e50e"
    "08bb35ad454db56d3c667fe1a721355b0a";

// The same inputs as written before body_codec existed: the body sealed as it is (codec 0,
// field 10 absent). Ops like this are in every existing log and must keep opening.
constexpr char kPlainVectorOpHex[] =
    "0801122079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad0496641801222000000000"
    "000000000000000000000000000000000000000000000000000000002a070880d095ffbc3132003a72242424"
    "2424242424242424242424242424242424242424242935f6908cfb400b0748f4197125bb51d04c3a5300813e"
    "fccfa82300fb9691cc28315abe7f8453d335658f9fdfe0c6204f36aff705c5f5ac22f3c31587b5b59e41686f"
    "2685998031842e1793e067d5fa2f399e924ea75fa0836a4a205481b3ba9de1bc8467095bbcbba3f6b29aeb6c"
    "972524922ec6299fa33354ba42";
constexpr char kPlainVectorSignatureHex[] =
    "f59637646c1d90dc8ffb267e10cab8df71603af41e99c908ef1dfe82a9a78358000d5bf564f50e102ec5ee9b02207f"
    "1bb8a595091f7ec460e87b5a28e145f40e";

std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

pb::Envelope EnvelopeFromHex(std::string_view op_hex, std::string_view signature_hex) {
  pb::Envelope env;
  env.set_op(FromHex(op_hex));
  env.set_signature(FromHex(signature_hex));
  return env;
}

// The second vector: a testimony of about 500 bytes in Kazakh, Russian and English, long
// enough that deflating pays, sealed with the first vector's identity, key, nonce and salt.
pb::OpBody LongVectorBody() {
  pb::OpBody body = VectorBody();
  auto* fields = body.mutable_testimony_create()->mutable_fields();
  fields->set_title("Жаңаөзен, 16 желтоқсан 2011");
  fields->set_body(
      "Біз алаңда тұрдық, кенеттен оқ атылды. Адамдар жан-жаққа жүгірді. "
      "Мы стояли на площади, и вдруг начали стрелять. Люди бежали во все стороны. "
      "We were standing in the square when the shooting started. People ran in every "
      "direction. Көп адам жараланды. Many were wounded.");
  return body;
}

// Pinned: BLAKE2b-256 of the op bytes and of the serialized Envelope {op, signature}. Derived
// by running SealAndSign on the inputs above (system zlib 1.2.13) and re-derived without
// Estelik's code by derive_op_vectors.py (beside this file: protobuf by hand, Python's zlib at
// level 6, libsodium through ctypes), which prints these digests and the first vector's bytes.
// The DEFLATE stream itself is not the format (any complete raw DEFLATE stream opens): a zlib
// that deflates differently at level 6 (zlib-ng, say) writes other, equally valid bytes, and
// then only these writer-side pins change; CheckedInCompressedOpOpensToTheVectorBody still holds.
constexpr char kLongVectorHashHex[] =
    "641823a09b1d953777b4fa4bbe2e50e23d63e8b1343f83a1ae33dd06f9b6f632";
constexpr char kLongVectorEnvelopeDigestHex[] =
    "776dcf77a2a982c5c73839f5e4fb97089bb5f6589081eaed3795e0d42bf9c404";

TEST(OpVectorTest, FixedInputsGiveTheCheckedInOpBytesHashAndSignature) {
  Identity id = std::move(Identity::FromSeed(Seed(1))).value();
  pb::Envelope env = SealAndSign(id, VectorHeader(id), VectorBody().SerializeAsString(),
                                 VectorKey(), VectorNonce());
  EXPECT_EQ(Hex(env.op()), kVectorOpHex);
  EXPECT_EQ(Hex(HashOpBytes(env.op())), kVectorHashHex);
  EXPECT_EQ(Hex(env.signature()), kVectorSignatureHex);
}

TEST(OpVectorTest, AppendThroughTheOpLogProducesTheVectorBytes) {
  testing::Peer peer(1);
  // Peer(1) uses private key 0xA1 * 32, the vector's key.
  peer->SetNonceSourceForTesting([](std::span<uint8_t> n) { std::fill(n.begin(), n.end(), 0x24); });
  auto env = peer->Append(VectorBody(), Scope::Private(), kVectorWallMs);
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(Hex(env->op()), kVectorOpHex);
  EXPECT_EQ(Hex(env->signature()), kVectorSignatureHex);
}

TEST(OpVectorTest, CheckedInCompressedOpOpensToTheVectorBody) {
  testing::Peer peer(1);
  std::string plain;
  auto body = peer->OpenBody(EnvelopeFromHex(kVectorOpHex, kVectorSignatureHex), &plain);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(plain, VectorBody().SerializeAsString());  // the uncompressed bytes, as committed
  EXPECT_EQ(body->testimony_create().fields().title(), "Zhanaozen 2011");
}

TEST(OpVectorTest, OpsSealedBeforeBodyCodecExistedStillOpen) {
  pb::Envelope env = EnvelopeFromHex(kPlainVectorOpHex, kPlainVectorSignatureHex);
  auto op = ParseOpHeader(env.op());
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  EXPECT_EQ(op->body_codec(), kBodyCodecPlain);
  testing::Peer peer(1);
  std::string plain;
  auto body = peer->OpenBody(env, &plain);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(plain, VectorBody().SerializeAsString());
}

TEST(OpVectorTest, LongMultilingualBodyGivesTheCheckedInCompressedOp) {
  Identity id = std::move(Identity::FromSeed(Seed(1))).value();
  const std::string plain = LongVectorBody().SerializeAsString();
  ASSERT_GE(plain.size(), 480u);
  ASSERT_LE(plain.size(), 540u);
  pb::Envelope env = SealAndSign(id, VectorHeader(id), plain, VectorKey(), VectorNonce());
  EXPECT_EQ(Hex(HashOpBytes(env.op())), kLongVectorHashHex);
  EXPECT_EQ(Hex(HashOpBytes(env.SerializeAsString())), kLongVectorEnvelopeDigestHex);
  auto op = ParseOpHeader(env.op());
  ASSERT_TRUE(op.ok());
  EXPECT_EQ(op->body_codec(), kBodyCodecDeflate);
  EXPECT_LT(op->sealed_body().size(), plain.size());
  auto opened = OpenBodyBytes(*op, VectorKey());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, plain);
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
  Signature sig = id.Sign(AsBytes(input));
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
  pb::Op deflated = h;
  deflated.set_body_codec(kBodyCodecDeflate);
  EXPECT_TRUE(ParseOpHeader(deflated.SerializeAsString()).ok());
  pb::Op newer = h;
  newer.set_body_codec(2);
  auto refused = ParseOpHeader(newer.SerializeAsString());
  EXPECT_EQ(refused.status().code(), Code::kUnsupported);
  EXPECT_EQ(refused.status().message(), "op body codec 2 is newer than this app understands");
  EXPECT_EQ(OpenBodyBytes(newer, VectorKey()).status().code(), Code::kUnsupported);
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
  auto sig = mallory.Sign(AsBytes(std::string(kSignContext) + run.back().op()));
  run.back().set_signature(sig.data(), sig.size());
  EXPECT_EQ(VerifyChainRun(run).status().code(), Code::kCorrupt);
}

TEST_F(OpCodecTest, KeyGrantOpensOnlyForItsRecipientCircleAndEpoch) {
  Identity bob = std::move(Identity::FromSeed(Seed(2))).value();
  std::string circle(kCircleIdSize, 'c');
  std::vector<uint8_t> key(kBodyKeySize, 0x55);
  std::string grant = SealGrant(bob.x25519_public_key(), AsBytes(circle), 3, key);
  EXPECT_EQ(grant.size(), kGrantSize);
  auto opened = OpenGrant(bob, grant, AsBytes(circle), 3);
  ASSERT_TRUE(opened.has_value());
  EXPECT_TRUE(crypto::ConstantTimeEquals(opened->span(), key));
  EXPECT_FALSE(OpenGrant(id_, grant, AsBytes(circle), 3).has_value());
  EXPECT_FALSE(OpenGrant(bob, grant, AsBytes(circle), 4).has_value());
  EXPECT_FALSE(OpenGrant(bob, grant, AsBytes(std::string(kCircleIdSize, 'd')), 3).has_value());
}

}  // namespace
}  // namespace estelik::log
