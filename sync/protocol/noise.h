// The Noise Protocol Framework (noiseprotocol.org, revision 34) for
// Noise_<pattern>_25519_ChaChaPoly_BLAKE2b, on libsodium primitives:
//
//   DH     X25519 (crypto_scalarmult_curve25519); an all-zero shared secret is rejected.
//   cipher ChaCha20-Poly1305 IETF; nonce = 4 zero bytes || 64-bit little-endian counter.
//   hash   BLAKE2b-512; HMAC-BLAKE2b per RFC 2104 with a 128-byte block; HKDF as in the spec.
//
// CipherState, SymmetricState and HandshakeState follow the spec's sections 5.1-5.3 and run
// any of the 15 fundamental patterns (N K X NN NK NX XN XK XX KN KK KX IN IK IX). PSK
// modifiers are not implemented. Estelik's transport v2 uses only XK (see secure_channel.h); the
// others exist so the standard test vectors run (and bench comparisons: XX was transport v1).
//
// Keys live in SecretBytes (sodium secure memory) and are wiped on destruction; temporaries
// on the stack are wiped with sodium_memzero. None of these classes is thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto/secret.h"
#include "core/status.h"

namespace estelik::sync::noise {

inline constexpr size_t kDhLen = 32;             // X25519 public key, private key, output
inline constexpr size_t kKeyLen = 32;            // ChaCha20-Poly1305 key
inline constexpr size_t kTagLen = 16;            // Poly1305 tag
inline constexpr size_t kHashLen = 64;           // BLAKE2b-512
inline constexpr size_t kMaxMessageLen = 65535;  // every Noise message, handshake or transport

using PublicKey = std::array<uint8_t, kDhLen>;

// An X25519 key pair; the private half is in secure memory.
struct KeyPair {
  crypto::SecretBytes private_key;  // kDhLen bytes
  PublicKey public_key{};

  // A fresh random key pair (or, in tests, one from noise_testing.h's ephemeral source).
  static KeyPair Generate();
  // The key pair whose private key is `private_key` (kDhLen bytes; X25519 clamps it).
  static Result<KeyPair> FromPrivate(std::span<const uint8_t> private_key);
};

// X25519(private, public). Fails (kProtocol) if the result is all zeros, i.e. `public_key` is
// a low-order point a peer chose to force a known shared secret.
Result<crypto::SecretBytes> Dh(const crypto::SecretBytes& private_key,
                               std::span<const uint8_t, kDhLen> public_key);

// HMAC-BLAKE2b-512 (RFC 2104, block length 128) and the spec's HKDF (section 4.3) with
// 2 or 3 outputs of kHashLen bytes each.
std::array<uint8_t, kHashLen> HmacBlake2b(std::span<const uint8_t> key,
                                          std::span<const uint8_t> data);
std::vector<crypto::SecretBytes> Hkdf(std::span<const uint8_t> chaining_key,
                                      std::span<const uint8_t> input_key_material, int num_outputs);

// A cipher key k and a nonce counter n (spec section 5.1).
class CipherState {
 public:
  CipherState() = default;  // no key: Encrypt/Decrypt pass data through unchanged

  // Sets k = key (kKeyLen bytes) and n = 0.
  void InitializeKey(std::span<const uint8_t> key);
  bool HasKey() const { return !key_.empty(); }
  void SetNonce(uint64_t nonce) { nonce_ = nonce; }
  uint64_t nonce() const { return nonce_; }

  // Appends ENCRYPT(k, n++, ad, plaintext) (plaintext + kTagLen bytes) to *out. Fails
  // (kLimitExceeded) once 2^64-1 messages have been sent: the nonce is never reused.
  Status EncryptWithAd(std::span<const uint8_t> ad, std::span<const uint8_t> plaintext,
                       std::vector<uint8_t>* out);
  // Appends the plaintext of `ciphertext` to *out. Fails (kCorrupt) if the tag does not
  // authenticate; then *out and the nonce are unchanged.
  Status DecryptWithAd(std::span<const uint8_t> ad, std::span<const uint8_t> ciphertext,
                       std::vector<uint8_t>* out);
  // k = the first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes); n is unchanged.
  void Rekey();

 private:
  crypto::SecretBytes key_;
  uint64_t nonce_ = 0;
};

// The chaining key ck, the handshake hash h and a CipherState (spec section 5.2).
class SymmetricState {
 public:
  explicit SymmetricState(std::string_view protocol_name);

  void MixKey(std::span<const uint8_t> input_key_material);
  void MixHash(std::span<const uint8_t> data);
  void MixKeyAndHash(std::span<const uint8_t> input_key_material);
  std::span<const uint8_t, kHashLen> handshake_hash() const { return hash_; }
  bool HasKey() const { return cipher_.HasKey(); }

  // Encrypts (or copies, before any key) and appends to *out, then mixes the result into h.
  Status EncryptAndHash(std::span<const uint8_t> plaintext, std::vector<uint8_t>* out);
  Status DecryptAndHash(std::span<const uint8_t> ciphertext, std::vector<uint8_t>* out);
  // The two transport CipherStates: first for initiator->responder, second for the reverse.
  std::pair<CipherState, CipherState> Split() const;

 private:
  crypto::SecretBytes chaining_key_;  // kHashLen bytes
  std::array<uint8_t, kHashLen> hash_{};
  CipherState cipher_;
};

enum class Pattern { kN, kK, kX, kNN, kNK, kNX, kXN, kXK, kXX, kKN, kKK, kKX, kIN, kIK, kIX };

// "XX" -> Pattern::kXX. Fails (kUnsupported) for unknown or PSK patterns.
Result<Pattern> ParsePattern(std::string_view name);
// "Noise_XX_25519_ChaChaPoly_BLAKE2b".
std::string ProtocolName(Pattern pattern);

struct HandshakeConfig {
  Pattern pattern = Pattern::kXX;
  bool initiator = true;
  std::vector<uint8_t> prologue;
  // Our static key pair (required iff the pattern uses one) and the peer's static public key
  // (required iff the pattern has it as a pre-message).
  std::optional<KeyPair> local_static;
  std::optional<PublicKey> remote_static;
};

// One side of a handshake (spec section 5.3). Call WriteMessage and ReadMessage in the order
// the pattern dictates (IsMyTurnToWrite). Any failure is final: the handshake must be
// abandoned (further calls fail).
class HandshakeState {
 public:
  // Fails (kInvalidArgument) if a key the pattern needs is missing.
  static Result<HandshakeState> Create(HandshakeConfig config);

  HandshakeState(HandshakeState&&) = default;
  HandshakeState& operator=(HandshakeState&&) = default;

  bool IsComplete() const;
  bool IsMyTurnToWrite() const;
  // Appends the next handshake message carrying `payload` to *message.
  Status WriteMessage(std::span<const uint8_t> payload, std::vector<uint8_t>* message);
  // Processes the peer's next handshake message, appending its payload to *payload. Fails
  // (kCorrupt) if it does not authenticate, (kProtocol) if it is malformed or a DH is zero.
  Status ReadMessage(std::span<const uint8_t> message, std::vector<uint8_t>* payload);

  // After IsComplete(): the transport ciphers (send, receive) from our point of view.
  Result<std::pair<CipherState, CipherState>> Split() const;
  std::span<const uint8_t, kHashLen> handshake_hash() const { return symmetric_.handshake_hash(); }
  // The peer's static public key once received (or given as a pre-message).
  const std::optional<PublicKey>& remote_static() const { return remote_static_; }

 private:
  explicit HandshakeState(HandshakeConfig config);
  Status MixDh(const crypto::SecretBytes& private_key, const PublicKey& public_key);
  Status ProcessDhToken(char first, char second);

  Pattern pattern_;
  bool initiator_;
  SymmetricState symmetric_;
  std::optional<KeyPair> s_;
  std::optional<KeyPair> e_;
  std::optional<PublicKey> remote_static_;
  std::optional<PublicKey> remote_ephemeral_;
  size_t next_message_ = 0;
  bool failed_ = false;
};

}  // namespace estelik::sync::noise
