// The byte format of sealed units, shared by the VFS and its tests. docs/FORMAT.md ("Pages")
// is the normative description; this header only names its sizes.
//
// A "unit" is the smallest piece of a file that is sealed on its own: a database page, the WAL
// header, a WAL frame (frame header + page) or a 4096-byte block of the rollback journal. Each
// is stored as  ciphertext || 40 bytes  with a fresh random nonce per write and associated data
// naming the format version, the cipher, the file and the unit's position. The 40 bytes are
//   XChaCha20-Poly1305 (IETF):  nonce (24) | tag (16)
//   AES-256-GCM:                nonce (12) | tag (16) | 12 zero bytes (authenticated as AD)
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/crypto/secret.h"
#include "core/status.h"
#include "core/vault/vfs.h"

namespace estelik::vault::vfs_format {

// Which file of a vault a unit belongs to; part of the associated data.
// kJournal: journal of 4096-byte blocks (written by earlier builds; still read).
// kJournalV2: journal of 512-byte units, seven per 4096-byte block (written now).
enum class FileKind : uint8_t { kMain = 1, kWal = 2, kJournal = 3, kJournalV2 = 4 };

inline constexpr size_t kNonceSize = 24;  // XChaCha20-Poly1305
inline constexpr size_t kAesNonceSize = 12;
inline constexpr size_t kTagSize = 16;  // both ciphers
// Bytes every unit carries beyond its ciphertext; also the reserve bytes of every page.
inline constexpr size_t kOverhead = kNonceSize + kTagSize;  // 40
// AES-256-GCM leaves these trailing bytes of the 40 zero; they are part of the associated data.
inline constexpr size_t kAesPadSize = kOverhead - kAesNonceSize - kTagSize;  // 12
inline constexpr size_t kPageBytes = 4096;
inline constexpr size_t kPageContent = kPageBytes - kOverhead;  // 4056 sealed bytes per page
inline constexpr size_t kWalHeaderSize = 32;                    // SQLite's WAL header
inline constexpr size_t kWalFrameHeaderSize = 24;               // SQLite's frame header
inline constexpr size_t kWalFrameSize = kWalFrameHeaderSize + kPageBytes;  // 4120
inline constexpr size_t kJournalBlock = 4096;  // kJournal: plaintext bytes per unit
// kJournalV2: SQLite's journal sector (512 bytes: journal headers start on it and fill it) is
// one unit; seven units (7 x 552 = 3864 bytes) per 4096-byte block so no unit straddles a page.
inline constexpr size_t kJournalUnit = 512;
inline constexpr size_t kJournalUnitPhysical = kJournalUnit + kOverhead;  // 552
inline constexpr size_t kJournalUnitsPerBlock = 7;
inline constexpr size_t kJournalBlockPhysical = 4096;
static_assert(kJournalUnitsPerBlock * kJournalUnitPhysical <= kJournalBlockPhysical);
inline constexpr size_t kAdSize = 24;
// Format tag at the start of the associated data: version 1, 40 bytes per unit.
inline constexpr char kAdMagic[9] = "estlvfs1";

// Fills the 24 bytes of associated data of unit `index` of a file of kind `kind` sealed with
// `cipher` (byte 9 is the cipher id, so a unit never opens under the other cipher).
void MakeAd(PageCipher cipher, FileKind kind, uint64_t index, uint8_t ad[kAdSize]);
inline void MakeAd(FileKind kind, uint64_t index, uint8_t ad[kAdSize]) {
  MakeAd(PageCipher::kXChaCha20Poly1305, kind, index, ad);
}

// A page key bound to one cipher; for AES-256-GCM it also holds the expanded key schedule, in
// secure memory. Immutable after Create, so it may be shared by threads.
class UnitKey {
 public:
  // kInvalidArgument if `key` is not 32 bytes; kUnsupported if `cipher` is AES-256-GCM and this
  // CPU lacks the instructions (crypto_aead_aes256gcm_is_available()).
  static Result<UnitKey> Create(const crypto::SecretBytes& key, PageCipher cipher);

  PageCipher cipher() const { return cipher_; }
  const crypto::SecretBytes& key() const { return key_; }
  // The AES-256-GCM state (crypto_aead_aes256gcm_state*); only for kAes256Gcm.
  const void* aes_state() const;

 private:
  PageCipher cipher_ = PageCipher::kXChaCha20Poly1305;
  crypto::SecretBytes key_;
  crypto::SecretBytes aes_state_;  // over-allocated by 16 for alignment
};

// Seals / opens with `key`'s cipher; same contracts as the SecretBytes overloads below.
void SealUnit(const UnitKey& key, FileKind kind, uint64_t index, const uint8_t* plain, size_t len,
              uint8_t* out);
[[nodiscard]] bool OpenUnit(const UnitKey& key, FileKind kind, uint64_t index,
                            const uint8_t* sealed, size_t len, uint8_t* plain);

// XChaCha20-Poly1305. Seals `len` bytes at `plain` into `out` (len + kOverhead bytes: ciphertext,
// nonce, tag). `plain` may equal `out`. The nonce comes from the CSPRNG (or the testing hook).
void SealUnit(const crypto::SecretBytes& key, FileKind kind, uint64_t index, const uint8_t* plain,
              size_t len, uint8_t* out);

// Opens a unit sealed by SealUnit: `sealed` holds len + kOverhead bytes; writes `len` bytes of
// plaintext to `plain` (may equal `sealed`). Returns false, leaving `plain` zeroed, if the tag
// does not verify (wrong key, tampering, torn write or wrong position).
[[nodiscard]] bool OpenUnit(const crypto::SecretBytes& key, FileKind kind, uint64_t index,
                            const uint8_t* sealed, size_t len, uint8_t* plain);

}  // namespace estelik::vault::vfs_format
