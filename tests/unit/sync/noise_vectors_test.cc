// The Noise implementation against the standard cacophony vectors for
// Noise_*_25519_ChaChaPoly_BLAKE2b (tests/vectors/noise_25519_ChaChaPoly_BLAKE2b.json), plus
// pinned values for the primitives it is built from.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "sync/protocol/noise.h"
#include "sync/protocol/noise_testing.h"

namespace estelik::sync::noise {
namespace {

// ---------------------------------------------------------------------------------------------
// A minimal JSON reader: enough for the vector file (objects, arrays, strings, numbers, true,
// false, null), strict about syntax, with a nesting limit so a broken file fails cleanly.

struct Json {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Json> array;
  std::map<std::string, Json> object;

  const Json* Find(const std::string& key) const {
    auto it = object.find(key);
    return it == object.end() ? nullptr : &it->second;
  }
};

class JsonReader {
 public:
  // `text` must outlive the reader.
  explicit JsonReader(std::string_view text) : text_(text) {}

  // The document, or nullopt with error() describing where parsing stopped.
  std::optional<Json> Parse() {
    Json value;
    if (!ParseValue(&value, 0)) return std::nullopt;
    SkipSpace();
    if (pos_ != text_.size()) {
      Fail("trailing characters");
      return std::nullopt;
    }
    return value;
  }
  const std::string& error() const { return error_; }

 private:
  bool Fail(const std::string& what) {
    if (error_.empty()) error_ = what + " at offset " + std::to_string(pos_);
    return false;
  }
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool Consume(std::string_view literal) {
    if (text_.substr(pos_, literal.size()) != literal) return false;
    pos_ += literal.size();
    return true;
  }
  bool ParseValue(Json* out, int depth) {
    if (depth > 64) return Fail("nesting too deep");
    SkipSpace();
    if (pos_ >= text_.size()) return Fail("unexpected end");
    const char c = text_[pos_];
    if (c == '{') return ParseObject(out, depth);
    if (c == '[') return ParseArray(out, depth);
    if (c == '"') {
      out->type = Json::Type::kString;
      return ParseString(&out->string);
    }
    if (Consume("true") || Consume("false")) {
      out->type = Json::Type::kBool;
      out->boolean = text_[pos_ - 1] == 'e' && text_[pos_ - 2] == 'u';  // "true", not "false"
      return true;
    }
    if (Consume("null")) return true;
    return ParseNumber(out);
  }
  bool ParseNumber(Json* out) {
    const size_t start = pos_;
    while (pos_ < text_.size() && std::strchr("+-0123456789.eE", text_[pos_]) != nullptr) ++pos_;
    if (pos_ == start) return Fail("unexpected character");
    out->type = Json::Type::kNumber;
    out->number = std::stod(std::string(text_.substr(start, pos_ - start)));
    return true;
  }
  bool ParseString(std::string* out) {
    ++pos_;  // opening quote
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      c = text_[pos_++];
      switch (c) {
        case 'n':
          out->push_back('\n');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'u': {
          if (pos_ + 4 > text_.size()) return Fail("bad \\u escape");
          const unsigned code = std::stoul(std::string(text_.substr(pos_, 4)), nullptr, 16);
          pos_ += 4;
          if (code >= 0x80) return Fail("non-ASCII \\u escape unsupported");
          out->push_back(static_cast<char>(code));
          break;
        }
        default:
          out->push_back(c);  // \" \\ \/
      }
    }
    if (pos_ >= text_.size()) return Fail("unterminated string");
    ++pos_;  // closing quote
    return true;
  }
  bool ParseArray(Json* out, int depth) {
    out->type = Json::Type::kArray;
    ++pos_;
    SkipSpace();
    if (Consume("]")) return true;
    while (true) {
      out->array.emplace_back();
      if (!ParseValue(&out->array.back(), depth + 1)) return false;
      SkipSpace();
      if (Consume("]")) return true;
      if (!Consume(",")) return Fail("expected , or ]");
    }
  }
  bool ParseObject(Json* out, int depth) {
    out->type = Json::Type::kObject;
    ++pos_;
    SkipSpace();
    if (Consume("}")) return true;
    while (true) {
      SkipSpace();
      std::string key;
      if (pos_ >= text_.size() || text_[pos_] != '"') return Fail("expected key");
      if (!ParseString(&key)) return false;
      SkipSpace();
      if (!Consume(":")) return Fail("expected :");
      if (!ParseValue(&out->object[key], depth + 1)) return false;
      SkipSpace();
      if (Consume("}")) return true;
      if (!Consume(",")) return Fail("expected , or }");
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};

std::vector<uint8_t> FromHex(const std::string& hex) {
  std::string bytes;
  EXPECT_TRUE(ParseHex(hex, &bytes)) << hex;
  return {bytes.begin(), bytes.end()};
}

std::vector<uint8_t> HexField(const Json& vector, const std::string& key) {
  const Json* field = vector.Find(key);
  return field == nullptr ? std::vector<uint8_t>() : FromHex(field->string);
}

Json LoadVectors() {
  const std::string path =
      std::string(ESTELIK_SOURCE_DIR) + "/tests/vectors/noise_25519_ChaChaPoly_BLAKE2b.json";
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  const std::string contents = text.str();
  JsonReader reader(contents);
  std::optional<Json> json = reader.Parse();
  EXPECT_TRUE(json.has_value()) << path << ": " << reader.error();
  return json.value_or(Json());
}

// Runs one vector end to end: handshake messages, transport messages, handshake hash.
void RunVector(const Json& vector) {
  const std::string name = vector.Find("name") ? vector.Find("name")->string : "?";
  SCOPED_TRACE(name);
  Result<Pattern> pattern = ParsePattern(vector.Find("pattern")->string);
  ASSERT_TRUE(pattern.ok()) << pattern.status().ToString();

  auto side = [&](bool initiator) {
    const std::string prefix = initiator ? "init_" : "resp_";
    HandshakeConfig config;
    config.pattern = *pattern;
    config.initiator = initiator;
    config.prologue = HexField(vector, prefix + "prologue");
    if (vector.Find(prefix + "static")) {
      Result<KeyPair> keys = KeyPair::FromPrivate(HexField(vector, prefix + "static"));
      EXPECT_TRUE(keys.ok());
      config.local_static = std::move(keys).value();
    }
    if (vector.Find(prefix + "remote_static")) {
      PublicKey remote{};
      const std::vector<uint8_t> bytes = HexField(vector, prefix + "remote_static");
      std::copy(bytes.begin(), bytes.end(), remote.begin());
      config.remote_static = remote;
    }
    return HandshakeState::Create(std::move(config));
  };

  // The initiator writes the first message and so draws the first ephemeral key.
  testing::ScopedEphemeralKeySource ephemerals(testing::KeysInOrder(
      {HexField(vector, "init_ephemeral"), HexField(vector, "resp_ephemeral")}));
  Result<HandshakeState> initiator = side(true);
  Result<HandshakeState> responder = side(false);
  ASSERT_TRUE(initiator.ok()) << initiator.status().ToString();
  ASSERT_TRUE(responder.ok()) << responder.status().ToString();

  const bool one_way = vector.Find("pattern")->string.size() == 1;
  std::optional<std::pair<CipherState, CipherState>> init_ciphers, resp_ciphers;
  const Json& messages = *vector.Find("messages");
  ASSERT_FALSE(messages.array.empty());
  for (size_t i = 0; i < messages.array.size(); ++i) {
    SCOPED_TRACE("message " + std::to_string(i));
    const std::vector<uint8_t> payload = HexField(messages.array[i], "payload");
    const std::string expected = messages.array[i].Find("ciphertext")->string;
    if (!initiator->IsComplete()) {
      const bool from_initiator = initiator->IsMyTurnToWrite();
      HandshakeState& sender = from_initiator ? *initiator : *responder;
      HandshakeState& receiver = from_initiator ? *responder : *initiator;
      std::vector<uint8_t> wire, read;
      ASSERT_TRUE(sender.WriteMessage(payload, &wire).ok());
      EXPECT_EQ(Hex(wire), expected);
      ASSERT_TRUE(receiver.ReadMessage(wire, &read).ok());
      EXPECT_EQ(read, payload);
      continue;
    }
    ASSERT_TRUE(responder->IsComplete());
    if (!init_ciphers) {
      EXPECT_EQ(Hex(initiator->handshake_hash()), Hex(responder->handshake_hash()));
      if (const Json* hash = vector.Find("handshake_hash")) {
        EXPECT_EQ(Hex(initiator->handshake_hash()), hash->string);
      }
      init_ciphers.emplace(std::move(initiator->Split()).value());
      resp_ciphers.emplace(std::move(responder->Split()).value());
    }
    // After the handshake the sender keeps alternating, initiator first (one-way: initiator).
    const bool from_initiator = one_way || i % 2 == 0;
    auto& sender = from_initiator ? init_ciphers->first : resp_ciphers->first;
    auto& receiver = from_initiator ? resp_ciphers->second : init_ciphers->second;
    std::vector<uint8_t> wire, read;
    ASSERT_TRUE(sender.EncryptWithAd({}, payload, &wire).ok());
    EXPECT_EQ(Hex(wire), expected);
    ASSERT_TRUE(receiver.DecryptWithAd({}, wire, &read).ok());
    EXPECT_EQ(read, payload);
  }
}

TEST(NoiseVectors, EveryNonPskVectorInTheFileReproducesExactly) {
  const Json vectors = LoadVectors();
  const Json* list = vectors.Find("vectors");
  ASSERT_NE(list, nullptr);
  std::vector<std::string> ran;
  for (const Json& vector : list->array) {
    const std::string name = vector.Find("name")->string;
    if (name.find("psk") != std::string::npos || vector.Find("fallback") != nullptr) continue;
    RunVector(vector);
    ran.push_back(vector.Find("pattern")->string);
  }
  for (const char* required : {"NN", "XX", "IK", "XK"}) {
    EXPECT_NE(std::find(ran.begin(), ran.end(), required), ran.end()) << required;
  }
}

// Transport version 2 is Noise_XK_25519_ChaChaPoly_BLAKE2b (secure_channel.h): its cacophony
// vector, on its own so that a failure names it, byte for byte (handshake and transport).
TEST(NoiseVectors, XkVectorOfTheTransportReproducesExactly) {
  const Json vectors = LoadVectors();
  const Json* list = vectors.Find("vectors");
  ASSERT_NE(list, nullptr);
  int ran = 0;
  for (const Json& vector : list->array) {
    if (vector.Find("pattern")->string != "XK") continue;
    if (vector.Find("name")->string.find("psk") != std::string::npos) continue;
    EXPECT_EQ(ProtocolName(Pattern::kXK), "Noise_XK_25519_ChaChaPoly_BLAKE2b");
    RunVector(vector);
    ++ran;
  }
  EXPECT_GE(ran, 1);
}

// ---------------------------------------------------------------------------------------------
// Primitives, pinned against Python's hmac module with hashlib.blake2b (block size 128).

TEST(NoisePrimitives, HmacBlake2bMatchesRfc2104WithA128ByteBlock) {
  const std::string data = "The quick brown fox jumps over the lazy dog";
  const std::string key = "key";
  EXPECT_EQ(Hex(HmacBlake2b(std::span(reinterpret_cast<const uint8_t*>(key.data()), key.size()),
                            std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()))),
            "92294f92c0dfb9b00ec9ae8bd94d7e7d8a036b885a499f149dfe2fd2199394aaaf6b8894a1730cccb2cd"
            "050f9bcf5062a38b51b0dab33207f8ef35ae2c9df51b");
  std::vector<uint8_t> long_key(200);
  for (size_t i = 0; i < long_key.size(); ++i) long_key[i] = static_cast<uint8_t>(i);
  const std::string msg = "long key";
  EXPECT_EQ(Hex(HmacBlake2b(long_key,
                            std::span(reinterpret_cast<const uint8_t*>(msg.data()), msg.size()))),
            "3657d96bcab1b777275ca0c25f3bab9388d8ac4d3914495a2b495c756b52dd22dc9531abcd00141e683e"
            "53e77cf10f468330f65c569c44f0f54edd3ad89cb566");
}

TEST(NoisePrimitives, HkdfChainsHmacOutputsWithCounterBytes) {
  std::vector<uint8_t> ck(64);
  for (size_t i = 0; i < ck.size(); ++i) ck[i] = static_cast<uint8_t>(i);
  const std::string ikm = "input key material";
  std::vector<crypto::SecretBytes> out =
      Hkdf(ck, std::span(reinterpret_cast<const uint8_t*>(ikm.data()), ikm.size()), 3);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(Hex(out[0].span()),
            "a94ec1ceaa5ac0280eafc97980003e4019176e4bf7c914c45fb0bbda0b22a9954d01f3697bbf32817ed0"
            "fccbf6dd1ebd24c0b05611051e63dc56e131af4f7c10");
  EXPECT_EQ(Hex(out[1].span()),
            "f9d83f6c5d34695529eb8e35c8a2ed78658092e7c3b38fdf0cea2a2096b6f6e542af644e298508f37da0"
            "8860db285a8ad4b604c1f160f23356df6b28c183508d");
  EXPECT_EQ(Hex(out[2].span()),
            "bb6f14b645bac5dd79c98ce583e3357b43b431c22400c9b79d690c1d2fe2d391ab8372b0b08553b56e80"
            "2dc6badace75398c1b8a973d0aab18d857d431c3a48f");
}

TEST(NoisePrimitives, DhWithALowOrderPublicKeyIsRejected) {
  KeyPair ours = KeyPair::Generate();
  const PublicKey zero{};  // the identity point: every private key yields all zeros
  Result<crypto::SecretBytes> shared = Dh(ours.private_key, zero);
  ASSERT_FALSE(shared.ok());
  EXPECT_EQ(shared.status().code(), Code::kProtocol);
}

CipherState KeyedCipher() {
  CipherState cipher;
  std::vector<uint8_t> key(kKeyLen, 7);
  cipher.InitializeKey(key);
  return cipher;
}

TEST(NoiseCipherState, NonceIsLittleEndianCounterAfterFourZeroBytes) {
  // Pinned: key 0x07*32, nonce 1 (after one message), empty ad, plaintext "abc".
  CipherState cipher = KeyedCipher();
  std::vector<uint8_t> first, second;
  const std::vector<uint8_t> abc = {'a', 'b', 'c'};
  ASSERT_TRUE(cipher.EncryptWithAd({}, abc, &first).ok());
  cipher.SetNonce(0);
  std::vector<uint8_t> again;
  ASSERT_TRUE(cipher.EncryptWithAd({}, abc, &again).ok());
  EXPECT_EQ(first, again);  // same nonce, same bytes: the counter alone picks the nonce
  ASSERT_TRUE(cipher.EncryptWithAd({}, abc, &second).ok());
  EXPECT_NE(first, second);
  EXPECT_EQ(cipher.nonce(), 2u);
}

TEST(NoiseCipherState, FailedDecryptionLeavesNonceAndOutputUntouched) {
  CipherState sender = KeyedCipher();
  CipherState receiver = KeyedCipher();
  std::vector<uint8_t> wire;
  const std::vector<uint8_t> msg = {1, 2, 3, 4};
  ASSERT_TRUE(sender.EncryptWithAd({}, msg, &wire).ok());
  std::vector<uint8_t> tampered = wire;
  tampered[0] ^= 1;
  std::vector<uint8_t> out = {9};
  Status bad = receiver.DecryptWithAd({}, tampered, &out);
  EXPECT_EQ(bad.code(), Code::kCorrupt);
  EXPECT_EQ(out, std::vector<uint8_t>{9});
  EXPECT_EQ(receiver.nonce(), 0u);
  ASSERT_TRUE(receiver.DecryptWithAd({}, wire, &out).ok());
  EXPECT_EQ(out, (std::vector<uint8_t>{9, 1, 2, 3, 4}));
}

TEST(NoiseCipherState, TheLastNonceIsNeverUsed) {
  CipherState cipher = KeyedCipher();
  cipher.SetNonce(UINT64_MAX);
  std::vector<uint8_t> out;
  EXPECT_EQ(cipher.EncryptWithAd({}, std::vector<uint8_t>{1}, &out).code(), Code::kLimitExceeded);
  EXPECT_TRUE(out.empty());
}

TEST(NoiseCipherState, RekeyOnBothSidesKeepsThemInStepAndChangesTheKey) {
  CipherState sender = KeyedCipher();
  CipherState receiver = KeyedCipher();
  CipherState stale = KeyedCipher();
  sender.Rekey();
  receiver.Rekey();
  std::vector<uint8_t> wire, out;
  const std::vector<uint8_t> msg = {5, 6};
  ASSERT_TRUE(sender.EncryptWithAd({}, msg, &wire).ok());
  EXPECT_FALSE(stale.DecryptWithAd({}, wire, &out).ok());
  ASSERT_TRUE(receiver.DecryptWithAd({}, wire, &out).ok());
  EXPECT_EQ(out, msg);
}

TEST(NoiseHandshake, TamperedHandshakeMessageFailsAndTheHandshakeStaysFailed) {
  HandshakeConfig init_config;
  init_config.pattern = Pattern::kXX;
  init_config.initiator = true;
  init_config.local_static = KeyPair::Generate();
  HandshakeConfig resp_config;
  resp_config.pattern = Pattern::kXX;
  resp_config.initiator = false;
  resp_config.local_static = KeyPair::Generate();
  Result<HandshakeState> initiator = HandshakeState::Create(std::move(init_config));
  Result<HandshakeState> responder = HandshakeState::Create(std::move(resp_config));
  ASSERT_TRUE(initiator.ok() && responder.ok());
  std::vector<uint8_t> m1, m2, payload;
  ASSERT_TRUE(initiator->WriteMessage({}, &m1).ok());
  ASSERT_TRUE(responder->ReadMessage(m1, &payload).ok());
  ASSERT_TRUE(responder->WriteMessage({}, &m2).ok());
  m2[40] ^= 0x80;  // inside the encrypted static key
  EXPECT_EQ(initiator->ReadMessage(m2, &payload).code(), Code::kCorrupt);
  m2[40] ^= 0x80;
  EXPECT_FALSE(initiator->ReadMessage(m2, &payload).ok());
  EXPECT_FALSE(initiator->Split().ok());
}

TEST(NoiseHandshake, PatternsThatNeedAStaticKeyRefuseToStartWithoutOne) {
  HandshakeConfig config;
  config.pattern = Pattern::kXX;
  config.initiator = true;
  EXPECT_EQ(HandshakeState::Create(std::move(config)).status().code(), Code::kInvalidArgument);
  HandshakeConfig ik;
  ik.pattern = Pattern::kIK;
  ik.initiator = true;
  ik.local_static = KeyPair::Generate();
  EXPECT_EQ(HandshakeState::Create(std::move(ik)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParsePattern("XXpsk3").status().code(), Code::kUnsupported);
}

}  // namespace
}  // namespace estelik::sync::noise
