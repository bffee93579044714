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

}  // namespace

namespace testing {
void SetNonceSourceForTesting(NonceSource source) { g_nonce_source.store(source); }
}  // namespace testing

namespace vfs_format {

void MakeAd(FileKind kind, uint64_t index, uint8_t ad[kAdSize]) {
  std::memcpy(ad, kAdMagic, 8);
  ad[8] = static_cast<uint8_t>(kind);
  std::memset(ad + 9, 0, 7);
  for (int i = 0; i < 8; ++i) ad[16 + i] = static_cast<uint8_t>(index >> (8 * i));
}

void SealUnit(const crypto::SecretBytes& key, FileKind kind, uint64_t index, const uint8_t* plain,
              size_t len, uint8_t* out) {
  uint8_t ad[kAdSize];
  MakeAd(kind, index, ad);
  uint8_t* nonce = out + len;
  uint8_t* tag = nonce + kNonceSize;
  testing::NonceSource source = g_nonce_source.load(std::memory_order_relaxed);
  if (source != nullptr) {
    source(nonce, kNonceSize);
  } else {
    randombytes_buf(nonce, kNonceSize);
  }
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

}  // namespace vfs_format
}  // namespace estelik::vault
