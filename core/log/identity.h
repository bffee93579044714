// Identity: a person's Ed25519 signing key, its X25519 form, and the strings two people
// compare to be sure they hold each other's real key.
//
// Formats (docs/FORMAT.md "Ops and envelopes", "Identities"):
// - Fingerprint of one key: 30 decimal digits in 6 groups of 5.
// - Safety number of a pair: 60 decimal digits in 12 groups of 5, the same on both phones
//   (computed over the two public keys in sorted order, as Signal does).
// - QR payload: "ESTELIK:1:<64 upper-case hex of the public key>:<8 upper-case hex check>",
//   83 characters, all in the QR alphanumeric set.
//
// Thread safety: an Identity is immutable after construction; const methods may be called
// concurrently. Free functions are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/crypto/secret.h"
#include "core/ids.h"
#include "core/status.h"

namespace estelik::log {

using ::estelik::kPublicKeySize;  // core/ids.h
inline constexpr size_t kSeedSize = 32;
inline constexpr size_t kSignatureSize = 64;

using PublicKey = std::array<uint8_t, kPublicKeySize>;
using Signature = std::array<uint8_t, kSignatureSize>;

class Identity {
 public:
  // A fresh random identity.
  static Identity Generate();
  // The identity whose Ed25519 seed is `seed` (kSeedSize bytes). Deterministic: tests and
  // vectors use fixed seeds. InvalidArgument if the size is wrong.
  static Result<Identity> FromSeed(std::span<const uint8_t> seed);

  Identity(Identity&&) noexcept = default;
  Identity& operator=(Identity&&) noexcept = default;

  const PublicKey& public_key() const { return public_key_; }
  // The Ed25519 seed: what the op log stores to restore this identity.
  const crypto::SecretBytes& seed() const { return seed_; }
  // Curve25519 forms of the same key pair, for crypto_box_seal (circle key grants) and the
  // Noise handshake.
  const PublicKey& x25519_public_key() const { return x25519_public_; }
  const crypto::SecretBytes& x25519_secret_key() const { return x25519_secret_; }

  // Detached Ed25519 signature over `message`.
  Signature Sign(std::span<const uint8_t> message) const;

 private:
  Identity() = default;
  PublicKey public_key_{};
  PublicKey x25519_public_{};
  crypto::SecretBytes seed_;
  crypto::SecretBytes secret_key_;  // libsodium's 64-byte form (seed || public key)
  crypto::SecretBytes x25519_secret_;
};

// True iff `signature` is a valid Ed25519 signature of `message` by `public_key`.
bool VerifySignature(std::span<const uint8_t> public_key, std::span<const uint8_t> message,
                     std::span<const uint8_t> signature);

// The X25519 public key of an Ed25519 public key; InvalidArgument if it is not a valid point.
Result<PublicKey> X25519FromEd25519(std::span<const uint8_t> ed25519_public_key);

// "12345 67890 ..." : 30 digits identifying one key.
std::string Fingerprint(const PublicKey& key);
// 60 digits both people see identically: SafetyNumber(a, b) == SafetyNumber(b, a).
std::string SafetyNumber(const PublicKey& a, const PublicKey& b);

// The QR payload for `key`, and its strict parser. Parse rejects anything but the exact
// format with InvalidArgument (wrong prefix, length, case, hex, checksum, or a key that is
// not a valid Ed25519 point) and a newer format version with Unsupported.
std::string QrPayload(const PublicKey& key);
Result<PublicKey> ParseQrPayload(std::string_view payload);
// A public key as a person pastes it: the QR payload, or the key's 64 hex digits in either
// case. InvalidArgument naming `text` for anything else, or for a key that is not a valid
// Ed25519 point.
Result<PublicKey> ParsePublicKey(std::string_view text);

}  // namespace estelik::log
