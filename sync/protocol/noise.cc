#include "sync/protocol/noise.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include "sync/protocol/noise_testing.h"

namespace estelik::sync::noise {
namespace {

using crypto::SecretBytes;

constexpr size_t kBlockLen = 128;  // BLAKE2b's block length, as the spec's HMAC requires
constexpr uint64_t kMaxNonce = std::numeric_limits<uint64_t>::max();

// Set only by noise_testing.h's ScopedEphemeralKeySource; null in production.
thread_local testing::EphemeralKeySource* g_ephemeral_source = nullptr;

// Wipes a stack buffer on scope exit, whatever path leaves the scope.
template <size_t N>
struct WipedBuffer {
  std::array<uint8_t, N> bytes{};
  ~WipedBuffer() { sodium_memzero(bytes.data(), bytes.size()); }
};

void Blake2b(std::span<const uint8_t> a, std::span<const uint8_t> b,
             std::span<uint8_t, kHashLen> out) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, kHashLen);
  crypto_generichash_update(&state, a.data(), a.size());
  crypto_generichash_update(&state, b.data(), b.size());
  crypto_generichash_final(&state, out.data(), kHashLen);
  sodium_memzero(&state, sizeof state);
}

// The nonce is 32 zero bits followed by the 64-bit counter, little-endian (spec section 12.3).
std::array<uint8_t, crypto_aead_chacha20poly1305_IETF_NPUBBYTES> Nonce(uint64_t n) {
  std::array<uint8_t, crypto_aead_chacha20poly1305_IETF_NPUBBYTES> nonce{};
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(n >> (8 * i));
  return nonce;
}

struct PatternSpec {
  bool initiator_pre_s;
  bool responder_pre_s;
  std::vector<std::vector<std::string_view>> messages;  // even index: initiator writes
};

const PatternSpec& SpecOf(Pattern pattern) {
  using M = std::vector<std::vector<std::string_view>>;
  static const PatternSpec kSpecs[] = {
      {false, true, M{{"e", "es"}}},                                  // N
      {true, true, M{{"e", "es", "ss"}}},                             // K
      {false, true, M{{"e", "es", "s", "ss"}}},                       // X
      {false, false, M{{"e"}, {"e", "ee"}}},                          // NN
      {false, true, M{{"e", "es"}, {"e", "ee"}}},                     // NK
      {false, false, M{{"e"}, {"e", "ee", "s", "es"}}},               // NX
      {false, false, M{{"e"}, {"e", "ee"}, {"s", "se"}}},             // XN
      {false, true, M{{"e", "es"}, {"e", "ee"}, {"s", "se"}}},        // XK
      {false, false, M{{"e"}, {"e", "ee", "s", "es"}, {"s", "se"}}},  // XX
      {true, false, M{{"e"}, {"e", "ee", "se"}}},                     // KN
      {true, true, M{{"e", "es", "ss"}, {"e", "ee", "se"}}},          // KK
      {true, false, M{{"e"}, {"e", "ee", "se", "s", "es"}}},          // KX
      {false, false, M{{"e", "s"}, {"e", "ee", "se"}}},               // IN
      {false, true, M{{"e", "es", "s", "ss"}, {"e", "ee", "se"}}},    // IK
      {false, false, M{{"e", "s"}, {"e", "ee", "se", "s", "es"}}},    // IX
  };
  return kSpecs[static_cast<int>(pattern)];
}

constexpr std::string_view kPatternNames[] = {"N",  "K",  "X",  "NN", "NK", "NX", "XN", "XK",
                                              "XX", "KN", "KK", "KX", "IN", "IK", "IX"};

// Whether the party (initiator or not) needs its own static key pair for `spec`.
bool NeedsLocalStatic(const PatternSpec& spec, bool initiator) {
  if (initiator ? spec.initiator_pre_s : spec.responder_pre_s) return true;
  for (size_t i = 0; i < spec.messages.size(); ++i) {
    const bool ours = (i % 2 == 0) == initiator;
    for (std::string_view token : spec.messages[i]) {
      if (token == "s" && ours) return true;
      if (token == "ss") return true;
      if (token == (initiator ? "se" : "es")) return true;
    }
  }
  return false;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Primitives

KeyPair KeyPair::Generate() {
  crypto::EnsureSodium();
  KeyPair pair;
  pair.private_key = SecretBytes(kDhLen);
  if (g_ephemeral_source != nullptr) {
    (*g_ephemeral_source)(pair.private_key.mutable_span());
  } else {
    randombytes_buf(pair.private_key.data(), kDhLen);
  }
  crypto_scalarmult_curve25519_base(pair.public_key.data(), pair.private_key.data());
  return pair;
}

Result<KeyPair> KeyPair::FromPrivate(std::span<const uint8_t> private_key) {
  if (private_key.size() != kDhLen) {
    return InvalidArgument("an X25519 private key has 32 bytes, not " +
                           std::to_string(private_key.size()));
  }
  crypto::EnsureSodium();
  KeyPair pair;
  pair.private_key = SecretBytes::CopyOf(private_key);
  crypto_scalarmult_curve25519_base(pair.public_key.data(), pair.private_key.data());
  return pair;
}

Result<SecretBytes> Dh(const SecretBytes& private_key,
                       std::span<const uint8_t, kDhLen> public_key) {
  assert(private_key.size() == kDhLen);
  SecretBytes shared(kDhLen);
  // libsodium returns -1 when the output is all zeros (a low-order peer key).
  if (crypto_scalarmult_curve25519(shared.data(), private_key.data(), public_key.data()) != 0) {
    return ProtocolError("peer sent a low-order X25519 public key");
  }
  return shared;
}

std::array<uint8_t, kHashLen> HmacBlake2b(std::span<const uint8_t> key,
                                          std::span<const uint8_t> data) {
  WipedBuffer<kBlockLen> block_key;
  if (key.size() > kBlockLen) {
    Blake2b(key, {}, std::span<uint8_t, kHashLen>(block_key.bytes.data(), kHashLen));
  } else {
    std::copy(key.begin(), key.end(), block_key.bytes.begin());
  }
  WipedBuffer<kBlockLen> pad;
  for (size_t i = 0; i < kBlockLen; ++i) pad.bytes[i] = block_key.bytes[i] ^ 0x36;
  WipedBuffer<kHashLen> inner;
  Blake2b(pad.bytes, data, inner.bytes);
  for (size_t i = 0; i < kBlockLen; ++i) pad.bytes[i] = block_key.bytes[i] ^ 0x5c;
  std::array<uint8_t, kHashLen> out;
  Blake2b(pad.bytes, inner.bytes, out);
  return out;
}

namespace {

// HKDF into wiped stack buffers: the handshake calls it several times per DH, and secure-heap
// allocations (mmap + mprotect + mlock each) would dominate its cost.
void HkdfInto(std::span<const uint8_t> chaining_key, std::span<const uint8_t> input_key_material,
              std::span<WipedBuffer<kHashLen>> outputs) {
  assert(outputs.size() == 2 || outputs.size() == 3);
  WipedBuffer<kHashLen> temp_key;
  temp_key.bytes = HmacBlake2b(chaining_key, input_key_material);
  WipedBuffer<kHashLen + 1> input;  // previous output || counter byte
  size_t input_len = 0;
  for (size_t i = 0; i < outputs.size(); ++i) {
    input.bytes[input_len] = static_cast<uint8_t>(i + 1);
    outputs[i].bytes = HmacBlake2b(temp_key.bytes, std::span(input.bytes.data(), input_len + 1));
    std::copy(outputs[i].bytes.begin(), outputs[i].bytes.end(), input.bytes.begin());
    input_len = kHashLen;
  }
}

}  // namespace

std::vector<SecretBytes> Hkdf(std::span<const uint8_t> chaining_key,
                              std::span<const uint8_t> input_key_material, int num_outputs) {
  assert(num_outputs == 2 || num_outputs == 3);
  std::array<WipedBuffer<kHashLen>, 3> buffers;
  HkdfInto(chaining_key, input_key_material, std::span(buffers.data(), num_outputs));
  std::vector<SecretBytes> outputs;
  for (int i = 0; i < num_outputs; ++i) outputs.push_back(SecretBytes::CopyOf(buffers[i].bytes));
  return outputs;
}

// ---------------------------------------------------------------------------------------------
// CipherState

void CipherState::InitializeKey(std::span<const uint8_t> key) {
  assert(key.size() >= kKeyLen);
  if (key_.empty()) key_ = SecretBytes(kKeyLen);  // reuse the secure buffer on later calls
  std::copy_n(key.begin(), kKeyLen, key_.data());
  nonce_ = 0;
}

Status CipherState::EncryptWithAd(std::span<const uint8_t> ad, std::span<const uint8_t> plaintext,
                                  std::vector<uint8_t>* out) {
  if (!HasKey()) {
    out->insert(out->end(), plaintext.begin(), plaintext.end());
    return Status::Ok();
  }
  if (nonce_ == kMaxNonce) {
    return LimitExceeded("the channel has sent 2^64-1 messages under one key; reconnect");
  }
  const size_t offset = out->size();
  out->resize(offset + plaintext.size() + kTagLen);
  const auto nonce = Nonce(nonce_);
  unsigned long long written = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out->data() + offset, &written, plaintext.data(),
                                            plaintext.size(), ad.data(), ad.size(), nullptr,
                                            nonce.data(), key_.data());
  ++nonce_;
  return Status::Ok();
}

Status CipherState::DecryptWithAd(std::span<const uint8_t> ad, std::span<const uint8_t> ciphertext,
                                  std::vector<uint8_t>* out) {
  if (!HasKey()) {
    out->insert(out->end(), ciphertext.begin(), ciphertext.end());
    return Status::Ok();
  }
  if (nonce_ == kMaxNonce) {
    return LimitExceeded("the channel has received 2^64-1 messages under one key; reconnect");
  }
  if (ciphertext.size() < kTagLen) {
    return Corrupt("ciphertext shorter than its 16-byte authentication tag");
  }
  const size_t offset = out->size();
  out->resize(offset + ciphertext.size() - kTagLen);
  const auto nonce = Nonce(nonce_);
  unsigned long long written = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out->data() + offset, &written, nullptr,
                                                ciphertext.data(), ciphertext.size(), ad.data(),
                                                ad.size(), nonce.data(), key_.data()) != 0) {
    out->resize(offset);
    return Corrupt("message failed authentication");
  }
  ++nonce_;
  return Status::Ok();
}

void CipherState::Rekey() {
  assert(HasKey());
  const std::array<uint8_t, kKeyLen> zeros{};
  WipedBuffer<kKeyLen + kTagLen> fresh;
  const auto nonce = Nonce(kMaxNonce);
  unsigned long long written = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(fresh.bytes.data(), &written, zeros.data(),
                                            zeros.size(), nullptr, 0, nullptr, nonce.data(),
                                            key_.data());
  std::copy_n(fresh.bytes.begin(), kKeyLen, key_.data());
}

// ---------------------------------------------------------------------------------------------
// SymmetricState

SymmetricState::SymmetricState(std::string_view protocol_name) : chaining_key_(kHashLen) {
  crypto::EnsureSodium();
  const auto name =
      std::span(reinterpret_cast<const uint8_t*>(protocol_name.data()), protocol_name.size());
  if (name.size() <= kHashLen) {
    std::copy(name.begin(), name.end(), hash_.begin());
  } else {
    Blake2b(name, {}, hash_);
  }
  std::copy(hash_.begin(), hash_.end(), chaining_key_.data());
}

void SymmetricState::MixKey(std::span<const uint8_t> input_key_material) {
  std::array<WipedBuffer<kHashLen>, 2> out;
  HkdfInto(chaining_key_.span(), input_key_material, out);
  std::copy(out[0].bytes.begin(), out[0].bytes.end(), chaining_key_.data());
  cipher_.InitializeKey(out[1].bytes);  // HASHLEN 64 > 32: truncated to the key length
}

void SymmetricState::MixHash(std::span<const uint8_t> data) {
  std::array<uint8_t, kHashLen> next;
  Blake2b(hash_, data, next);
  hash_ = next;
}

void SymmetricState::MixKeyAndHash(std::span<const uint8_t> input_key_material) {
  std::array<WipedBuffer<kHashLen>, 3> out;
  HkdfInto(chaining_key_.span(), input_key_material, out);
  std::copy(out[0].bytes.begin(), out[0].bytes.end(), chaining_key_.data());
  MixHash(out[1].bytes);
  cipher_.InitializeKey(out[2].bytes);
}

Status SymmetricState::EncryptAndHash(std::span<const uint8_t> plaintext,
                                      std::vector<uint8_t>* out) {
  const size_t offset = out->size();
  ESTELIK_RETURN_IF_ERROR(cipher_.EncryptWithAd(hash_, plaintext, out));
  MixHash(std::span(out->data() + offset, out->size() - offset));
  return Status::Ok();
}

Status SymmetricState::DecryptAndHash(std::span<const uint8_t> ciphertext,
                                      std::vector<uint8_t>* out) {
  ESTELIK_RETURN_IF_ERROR(cipher_.DecryptWithAd(hash_, ciphertext, out));
  MixHash(ciphertext);
  return Status::Ok();
}

std::pair<CipherState, CipherState> SymmetricState::Split() const {
  std::array<WipedBuffer<kHashLen>, 2> out;
  HkdfInto(chaining_key_.span(), {}, out);
  std::pair<CipherState, CipherState> ciphers;
  ciphers.first.InitializeKey(out[0].bytes);
  ciphers.second.InitializeKey(out[1].bytes);
  return ciphers;
}

// ---------------------------------------------------------------------------------------------
// HandshakeState

Result<Pattern> ParsePattern(std::string_view name) {
  for (size_t i = 0; i < std::size(kPatternNames); ++i) {
    if (kPatternNames[i] == name) return static_cast<Pattern>(i);
  }
  return Unsupported("unsupported Noise handshake pattern '" + std::string(name) + "'");
}

std::string ProtocolName(Pattern pattern) {
  return "Noise_" + std::string(kPatternNames[static_cast<int>(pattern)]) +
         "_25519_ChaChaPoly_BLAKE2b";
}

HandshakeState::HandshakeState(HandshakeConfig config)
    : pattern_(config.pattern),
      initiator_(config.initiator),
      symmetric_(ProtocolName(config.pattern)),
      s_(std::move(config.local_static)),
      remote_static_(config.remote_static) {
  symmetric_.MixHash(config.prologue);
  // A prologue may hold a secret (Estelik's network key): leave no copy behind.
  if (!config.prologue.empty()) sodium_memzero(config.prologue.data(), config.prologue.size());
}

Result<HandshakeState> HandshakeState::Create(HandshakeConfig config) {
  const PatternSpec& spec = SpecOf(config.pattern);
  const std::string name = ProtocolName(config.pattern);
  if (NeedsLocalStatic(spec, config.initiator) && !config.local_static) {
    return InvalidArgument(name + " needs the local static key pair");
  }
  const bool remote_pre = config.initiator ? spec.responder_pre_s : spec.initiator_pre_s;
  if (remote_pre && !config.remote_static) {
    return InvalidArgument(name + " needs the remote static public key in advance");
  }
  if (!remote_pre) config.remote_static.reset();  // the peer will send it (or has none)
  HandshakeState state(std::move(config));        // mixes in the prologue
  // Pre-messages: the initiator's key is always hashed first (spec section 7.1).
  if (spec.initiator_pre_s) {
    state.symmetric_.MixHash(state.initiator_ ? state.s_->public_key : *state.remote_static_);
  }
  if (spec.responder_pre_s) {
    state.symmetric_.MixHash(state.initiator_ ? *state.remote_static_ : state.s_->public_key);
  }
  return state;
}

bool HandshakeState::IsComplete() const {
  return next_message_ == SpecOf(pattern_).messages.size();
}

bool HandshakeState::IsMyTurnToWrite() const {
  return !IsComplete() && (next_message_ % 2 == 0) == initiator_;
}

Status HandshakeState::MixDh(const SecretBytes& private_key, const PublicKey& public_key) {
  ESTELIK_ASSIGN_OR_RETURN(SecretBytes shared, Dh(private_key, public_key));
  symmetric_.MixKey(shared.span());
  return Status::Ok();
}

// `first` names the initiator's key and `second` the responder's ('e' or 's').
Status HandshakeState::ProcessDhToken(char first, char second) {
  const char mine = initiator_ ? first : second;
  const char theirs = initiator_ ? second : first;
  const std::optional<KeyPair>& local = mine == 'e' ? e_ : s_;
  const std::optional<PublicKey>& remote = theirs == 'e' ? remote_ephemeral_ : remote_static_;
  if (!local || !remote) return Internal("Noise DH token before its keys are known");
  return MixDh(local->private_key, *remote);
}

Status HandshakeState::WriteMessage(std::span<const uint8_t> payload,
                                    std::vector<uint8_t>* message) {
  if (failed_) return ProtocolError("the handshake has already failed");
  if (!IsMyTurnToWrite()) return Internal("Noise WriteMessage out of turn");
  failed_ = true;  // until this message is complete
  const size_t start = message->size();
  for (std::string_view token : SpecOf(pattern_).messages[next_message_]) {
    if (token == "e") {
      e_ = KeyPair::Generate();
      message->insert(message->end(), e_->public_key.begin(), e_->public_key.end());
      symmetric_.MixHash(e_->public_key);
    } else if (token == "s") {
      ESTELIK_RETURN_IF_ERROR(symmetric_.EncryptAndHash(s_->public_key, message));
    } else {
      ESTELIK_RETURN_IF_ERROR(ProcessDhToken(token[0], token[1]));
    }
  }
  ESTELIK_RETURN_IF_ERROR(symmetric_.EncryptAndHash(payload, message));
  if (message->size() - start > kMaxMessageLen) {
    message->resize(start);
    return InvalidArgument("Noise handshake message would exceed 65535 bytes");
  }
  ++next_message_;
  failed_ = false;
  return Status::Ok();
}

Status HandshakeState::ReadMessage(std::span<const uint8_t> message,
                                   std::vector<uint8_t>* payload) {
  if (failed_) return ProtocolError("the handshake has already failed");
  if (IsComplete() || IsMyTurnToWrite()) return Internal("Noise ReadMessage out of turn");
  if (message.size() > kMaxMessageLen) {
    failed_ = true;
    return ProtocolError("Noise handshake message longer than 65535 bytes");
  }
  failed_ = true;  // until this message is fully processed
  for (std::string_view token : SpecOf(pattern_).messages[next_message_]) {
    if (token == "e") {
      if (message.size() < kDhLen) return ProtocolError("handshake message truncated");
      remote_ephemeral_.emplace();
      std::copy_n(message.begin(), kDhLen, remote_ephemeral_->begin());
      symmetric_.MixHash(message.first(kDhLen));
      message = message.subspan(kDhLen);
    } else if (token == "s") {
      const size_t len = kDhLen + (symmetric_.HasKey() ? kTagLen : 0);
      if (message.size() < len) return ProtocolError("handshake message truncated");
      std::vector<uint8_t> key;
      ESTELIK_RETURN_IF_ERROR(symmetric_.DecryptAndHash(message.first(len), &key));
      remote_static_.emplace();
      std::copy_n(key.begin(), kDhLen, remote_static_->begin());
      message = message.subspan(len);
    } else {
      ESTELIK_RETURN_IF_ERROR(ProcessDhToken(token[0], token[1]));
    }
  }
  ESTELIK_RETURN_IF_ERROR(symmetric_.DecryptAndHash(message, payload));
  ++next_message_;
  failed_ = false;
  return Status::Ok();
}

Result<std::pair<CipherState, CipherState>> HandshakeState::Split() const {
  if (!IsComplete() || failed_) return Internal("Noise Split before the handshake completed");
  auto [initiator_to_responder, responder_to_initiator] = symmetric_.Split();
  if (initiator_) {
    return std::make_pair(std::move(initiator_to_responder), std::move(responder_to_initiator));
  }
  return std::make_pair(std::move(responder_to_initiator), std::move(initiator_to_responder));
}

// ---------------------------------------------------------------------------------------------
// Test hooks (noise_testing.h)

namespace testing {

ScopedEphemeralKeySource::ScopedEphemeralKeySource(EphemeralKeySource source)
    : source_(std::move(source)), previous_(g_ephemeral_source) {
  g_ephemeral_source = &source_;
}

ScopedEphemeralKeySource::~ScopedEphemeralKeySource() { g_ephemeral_source = previous_; }

EphemeralKeySource KeysInOrder(std::vector<std::vector<uint8_t>> keys) {
  auto state =
      std::make_shared<std::pair<std::vector<std::vector<uint8_t>>, size_t>>(std::move(keys), 0);
  return [state](std::span<uint8_t> out) {
    auto& [list, next] = *state;
    if (next < list.size() && list[next].size() == out.size()) {
      std::copy(list[next].begin(), list[next].end(), out.begin());
      ++next;
      return;
    }
    // Exhausted: keep going deterministically rather than fail a test in a surprising place.
    std::array<uint8_t, 8> counter{};
    for (int i = 0; i < 8; ++i) counter[i] = static_cast<uint8_t>(next >> (8 * i));
    ++next;
    crypto_generichash(out.data(), out.size(), counter.data(), counter.size(), nullptr, 0);
  };
}

EphemeralKeySource SeededKeys(uint64_t seed) {
  auto counter = std::make_shared<uint64_t>(0);
  return [seed, counter](std::span<uint8_t> out) {
    std::array<uint8_t, 16> input{};
    for (int i = 0; i < 8; ++i) {
      input[i] = static_cast<uint8_t>(seed >> (8 * i));
      input[8 + i] = static_cast<uint8_t>(*counter >> (8 * i));
    }
    ++*counter;
    crypto_generichash(out.data(), out.size(), input.data(), input.size(), nullptr, 0);
  };
}

}  // namespace testing
}  // namespace estelik::sync::noise
