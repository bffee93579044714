// The byte format of sealed units, shared by the VFS and its tests. docs/FORMAT.md ("Pages")
// is the normative description; this header only names its sizes.
//
// A "unit" is the smallest piece of a file that is sealed on its own: a database page, the WAL
// header, a WAL frame (frame header + page) or a 4096-byte block of the rollback journal. Each
// is stored as  ciphertext || nonce (24) || tag (16)  with XChaCha20-Poly1305 (IETF), a fresh
// random nonce per write, and associated data naming the format version, the file and the
// unit's position.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/crypto/secret.h"

namespace estelik::vault::vfs_format {

// Which file of a vault a unit belongs to; part of the associated data.
enum class FileKind : uint8_t { kMain = 1, kWal = 2, kJournal = 3 };

inline constexpr size_t kNonceSize = 24;
inline constexpr size_t kTagSize = 16;
// Bytes every unit carries beyond its ciphertext; also the reserve bytes of every page.
inline constexpr size_t kOverhead = kNonceSize + kTagSize;  // 40
inline constexpr size_t kPageBytes = 4096;
inline constexpr size_t kPageContent = kPageBytes - kOverhead;  // 4056 sealed bytes per page
inline constexpr size_t kWalHeaderSize = 32;                    // SQLite's WAL header
inline constexpr size_t kWalFrameHeaderSize = 24;               // SQLite's frame header
inline constexpr size_t kWalFrameSize = kWalFrameHeaderSize + kPageBytes;  // 4120
inline constexpr size_t kJournalBlock = 4096;  // journal plaintext bytes per unit
inline constexpr size_t kAdSize = 24;
// Format tag at the start of the associated data: version 1 = XChaCha20-Poly1305, 40 bytes.
inline constexpr char kAdMagic[9] = "estlvfs1";

// Fills the 24 bytes of associated data of unit `index` of a file of kind `kind`.
void MakeAd(FileKind kind, uint64_t index, uint8_t ad[kAdSize]);

// Seals `len` bytes at `plain` into `out` (len + kOverhead bytes: ciphertext, nonce, tag).
// `plain` may equal `out`. The nonce comes from the CSPRNG (or the testing hook).
void SealUnit(const crypto::SecretBytes& key, FileKind kind, uint64_t index, const uint8_t* plain,
              size_t len, uint8_t* out);

// Opens a unit sealed by SealUnit: `sealed` holds len + kOverhead bytes; writes `len` bytes of
// plaintext to `plain` (may equal `sealed`). Returns false, leaving `plain` zeroed, if the tag
// does not verify (wrong key, tampering, torn write or wrong position).
[[nodiscard]] bool OpenUnit(const crypto::SecretBytes& key, FileKind kind, uint64_t index,
                            const uint8_t* sealed, size_t len, uint8_t* plain);

}  // namespace estelik::vault::vfs_format
