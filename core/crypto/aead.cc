#include "core/crypto/aead.h"

#include <sodium.h>

#include <string>

namespace estelik::crypto::aead {
namespace {

static_assert(kKeySize == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(kNonceSize == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kTagSize == crypto_aead_xchacha20poly1305_ietf_ABYTES);

Status CheckKey(const SecretBytes& key) {
  if (key.size() != kKeySize) {
    return InvalidArgument("an AEAD key must be " + std::to_string(kKeySize) + " bytes, not " +
                           std::to_string(key.size()));
  }
  return Status::Ok();
}

Status CheckSealed(std::span<const uint8_t> sealed) {
  if (sealed.size() < kOverhead) {
    return Corrupt("sealed data is corrupt or tampered: " + std::to_string(sealed.size()) +
                   " bytes is shorter than nonce and tag");
  }
  return Status::Ok();
}

// Decrypts into `out` (sealed.size() - kOverhead bytes).
Status Decrypt(const SecretBytes& key, std::span<const uint8_t> sealed, std::span<const uint8_t> ad,
               uint8_t* out) {
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, nullptr, nullptr, sealed.data() + kNonceSize,
                                                 sealed.size() - kNonceSize, ad.data(), ad.size(),
                                                 sealed.data(), key.data()) != 0) {
    return Corrupt("sealed data is corrupt or tampered (authentication failed)");
  }
  return Status::Ok();
}

}  // namespace

SecretBytes NewKey() { return SecretBytes::Random(kKeySize); }

Result<std::vector<uint8_t>> Seal(const SecretBytes& key, std::span<const uint8_t> plaintext,
                                  std::span<const uint8_t> ad) {
  ESTELIK_RETURN_IF_ERROR(CheckKey(key));
  EnsureSodium();
  std::vector<uint8_t> sealed(plaintext.size() + kOverhead);
  randombytes_buf(sealed.data(), kNonceSize);
  crypto_aead_xchacha20poly1305_ietf_encrypt(sealed.data() + kNonceSize, nullptr, plaintext.data(),
                                             plaintext.size(), ad.data(), ad.size(), nullptr,
                                             sealed.data(), key.data());
  return sealed;
}

Result<std::vector<uint8_t>> Open(const SecretBytes& key, std::span<const uint8_t> sealed,
                                  std::span<const uint8_t> ad) {
  ESTELIK_RETURN_IF_ERROR(CheckKey(key));
  ESTELIK_RETURN_IF_ERROR(CheckSealed(sealed));
  std::vector<uint8_t> plaintext(sealed.size() - kOverhead);
  ESTELIK_RETURN_IF_ERROR(Decrypt(key, sealed, ad, plaintext.data()));
  return plaintext;
}

Result<SecretBytes> OpenSecret(const SecretBytes& key, std::span<const uint8_t> sealed,
                               std::span<const uint8_t> ad) {
  ESTELIK_RETURN_IF_ERROR(CheckKey(key));
  ESTELIK_RETURN_IF_ERROR(CheckSealed(sealed));
  SecretBytes plaintext(sealed.size() - kOverhead);
  ESTELIK_RETURN_IF_ERROR(Decrypt(key, sealed, ad, plaintext.data()));
  return plaintext;
}

}  // namespace estelik::crypto::aead
