// Authenticated encryption with XChaCha20-Poly1305-IETF (libsodium
// crypto_aead_xchacha20poly1305_ietf) in the one shape the engine needs:
//
//   sealed = nonce (24 bytes, fresh from the CSPRNG) || ciphertext || tag (16 bytes)
//
// Seal() draws the nonce itself, so a nonce is never reused by mistake (192-bit random nonces
// are safe for any number of messages under one key). `ad` (associated data) is authenticated
// but not encrypted or stored: Open() must be given the same bytes, which binds a ciphertext to
// its context (a record id, a page number) so it cannot be replayed elsewhere.
//
// Thread safety: every function may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/crypto/secret.h"
#include "core/status.h"

namespace estelik::crypto::aead {

inline constexpr size_t kKeySize = 32;
inline constexpr size_t kNonceSize = 24;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kOverhead = kNonceSize + kTagSize;  // sealed size - plaintext size

// A fresh random key (kKeySize bytes).
SecretBytes NewKey();

// Encrypts `plaintext`; returns nonce || ciphertext || tag (plaintext.size() + kOverhead
// bytes). kInvalidArgument if `key` is not kKeySize bytes.
Result<std::vector<uint8_t>> Seal(const SecretBytes& key, std::span<const uint8_t> plaintext,
                                  std::span<const uint8_t> ad = {});

// Decrypts what Seal() returned. kCorrupt if `sealed` is too short or was not sealed with this
// key and this `ad` (wrong key, tampered bytes, other context: indistinguishable by design);
// kInvalidArgument if `key` is not kKeySize bytes.
Result<std::vector<uint8_t>> Open(const SecretBytes& key, std::span<const uint8_t> sealed,
                                  std::span<const uint8_t> ad = {});

// Open() for plaintext that is itself secret (a key sealed under another key): the result
// lives in secure memory.
Result<SecretBytes> OpenSecret(const SecretBytes& key, std::span<const uint8_t> sealed,
                               std::span<const uint8_t> ad = {});

}  // namespace estelik::crypto::aead
