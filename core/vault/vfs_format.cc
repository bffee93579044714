#include "core/vault/vfs_format.h"

#include <sodium.h>

#include <atomic>
#include <cstring>

#include "core/vault/vfs_testing.h"

namespace estelik::vault {
namespace {

std::atomic<testing::NonceSource> g_nonce_source{nullptr};

static_assert(vfs_format::kNonceSize == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(vfs_format::kTagSize == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == 32);
static_assert(vfs_format::kAesNonceSize == crypto_aead_aes256gcm_NPUBBYTES);
static_assert(vfs_format::kTagSize == crypto_aead_aes256gcm_ABYTES);
static_assert(crypto_aead_aes256gcm_KEYBYTES == 32);

void FreshNonce(uint8_t* nonce, size_t size) {
  testing::NonceSource source = g_nonce_source.load(std::memory_order_relaxed);
  if (source != nullptr) {
    source(nonce, size);
  } else {
    randombytes_buf(nonce, size);
  }
}

constexpr size_t kAesAdSize = vfs_format::kAdSize + vfs_format::kAesPadSize;

}  // namespace

namespace testing {
void SetNonceSourceForTesting(NonceSource source) { g_nonce_source.store(source); }
}  // namespace testing

namespace vfs_format {

void MakeAd(PageCipher cipher, FileKind kind, uint64_t index, uint8_t ad[kAdSize]) {
  std::memcpy(ad, kAdMagic, 8);
  ad[8] = static_cast<uint8_t>(kind);
  // XChaCha20-Poly1305 is id 0, so vaults written before AES-256-GCM existed keep their AD.
  ad[9] = static_cast<uint8_t>(cipher);
  std::memset(ad + 10, 0, 6);
  for (int i = 0; i < 8; ++i) ad[16 + i] = static_cast<uint8_t>(index >> (8 * i));
}

void SealUnit(const crypto::SecretBytes& key, FileKind kind, uint64_t index, const uint8_t* plain,
              size_t len, uint8_t* out) {
  uint8_t ad[kAdSize];
  MakeAd(kind, index, ad);
  uint8_t* nonce = out + len;
  uint8_t* tag = nonce + kNonceSize;
  FreshNonce(nonce, kNonceSize);
  crypto_aead_xchacha20poly1305_ietf_encrypt_detached(out, tag, nullptr, plain, len, ad, kAdSize,
                                                      nullptr, nonce, key.data());
}

bool OpenUnit(const crypto::SecretBytes& key, FileKind kind, uint64_t index, const uint8_t* sealed,
              size_t len, uint8_t* plain) {
  uint8_t ad[kAdSize];
  MakeAd(kind, index, ad);
  // Copy nonce and tag first: decrypting in place overwrites nothing past `len`, but `plain`
  // may be a different buffer that aliases nothing; the copies keep both cases simple.
  uint8_t nonce[kNonceSize];
  uint8_t tag[kTagSize];
  std::memcpy(nonce, sealed + len, kNonceSize);
  std::memcpy(tag, sealed + len + kNonceSize, kTagSize);
  if (key.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES ||
      crypto_aead_xchacha20poly1305_ietf_decrypt_detached(plain, nullptr, sealed, len, tag, ad,
                                                          kAdSize, nonce, key.data()) != 0) {
    sodium_memzero(plain, len);
    return false;
  }
  return true;
}

Result<UnitKey> UnitKey::Create(const crypto::SecretBytes& key, PageCipher cipher) {
  if (key.size() != 32) return InvalidArgument("the page key must be 32 bytes");
  UnitKey unit;
  unit.cipher_ = cipher;
  unit.key_ = key.Clone();
  switch (cipher) {
    case PageCipher::kXChaCha20Poly1305:
      return unit;
    case PageCipher::kAes256Gcm:
      if (crypto_aead_aes256gcm_is_available() == 0) {
        return Unsupported(
            "AES-256-GCM pages need a CPU with AES-NI and PCLMUL; use XChaCha20-Poly1305");
      }
      // Expanding the key once per database, not once per page.
      unit.aes_state_ = crypto::SecretBytes(sizeof(crypto_aead_aes256gcm_state) + 16);
      crypto_aead_aes256gcm_beforenm(
          static_cast<crypto_aead_aes256gcm_state*>(const_cast<void*>(unit.aes_state())),
          unit.key_.data());
      return unit;
  }
  return InvalidArgument("unknown page cipher");
}

const void* UnitKey::aes_state() const {
  // crypto_aead_aes256gcm_state must be 16-byte aligned; sodium_malloc does not promise it.
  auto address = reinterpret_cast<uintptr_t>(aes_state_.data());
  return reinterpret_cast<const void*>((address + 15) & ~uintptr_t{15});
}

void SealUnit(const UnitKey& key, FileKind kind, uint64_t index, const uint8_t* plain, size_t len,
              uint8_t* out) {
  if (key.cipher() == PageCipher::kXChaCha20Poly1305) {
    SealUnit(key.key(), kind, index, plain, len, out);
    return;
  }
  uint8_t ad[kAesAdSize];
  MakeAd(PageCipher::kAes256Gcm, kind, index, ad);
  std::memset(ad + kAdSize, 0, kAesPadSize);
  uint8_t* nonce = out + len;
  uint8_t* tag = nonce + kAesNonceSize;
  FreshNonce(nonce, kAesNonceSize);
  std::memset(tag + kTagSize, 0, kAesPadSize);
  crypto_aead_aes256gcm_encrypt_detached_afternm(
      out, tag, nullptr, plain, len, ad, sizeof ad, nullptr, nonce,
      static_cast<const crypto_aead_aes256gcm_state*>(key.aes_state()));
}

bool OpenUnit(const UnitKey& key, FileKind kind, uint64_t index, const uint8_t* sealed, size_t len,
              uint8_t* plain) {
  if (key.cipher() == PageCipher::kXChaCha20Poly1305) {
    return OpenUnit(key.key(), kind, index, sealed, len, plain);
  }
  // The pad bytes go into the AD as stored: anything but zeros fails the tag like any other
  // tampering, without a separate comparison.
  uint8_t ad[kAesAdSize];
  MakeAd(PageCipher::kAes256Gcm, kind, index, ad);
  std::memcpy(ad + kAdSize, sealed + len + kAesNonceSize + kTagSize, kAesPadSize);
  uint8_t nonce[kAesNonceSize];
  uint8_t tag[kTagSize];
  std::memcpy(nonce, sealed + len, kAesNonceSize);
  std::memcpy(tag, sealed + len + kAesNonceSize, kTagSize);
  if (crypto_aead_aes256gcm_decrypt_detached_afternm(
          plain, nullptr, sealed, len, tag, ad, sizeof ad, nonce,
          static_cast<const crypto_aead_aes256gcm_state*>(key.aes_state())) != 0) {
    sodium_memzero(plain, len);
    return false;
  }
  return true;
}

}  // namespace vfs_format
}  // namespace estelik::vault
