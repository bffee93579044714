// Streaming attachment I/O: plaintext is cut into kChunkSize chunks, each sealed with
// XChaCha20-Poly1305 under the testimony's content key, so a 2 GB video is added and read in
// bounded memory. Sealed chunk = nonce (24) || ciphertext || tag (16); associated data =
// attachment id (16) || chunk index (u64 big-endian). See docs/FORMAT.md.
//
// Writers and readers are made by Store (store.h); the Store must outlive them. Not
// thread-safe: one thread at a time. Both stop at their next chunk with kLocked once the
// Store's interrupt is requested (a panic-lock, core/sql/interrupt.h).
#pragma once

#include <sodium.h>
#include <sqlite3.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto/secret.h"
#include "core/sql/interrupt.h"
#include "core/status.h"
#include "proto/record.pb.h"

namespace estelik::store {

inline constexpr size_t kChunkSize = 64 * 1024;
inline constexpr size_t kChunkNonceSize = 24;
inline constexpr size_t kChunkTagSize = 16;
inline constexpr size_t kChunkOverhead = kChunkNonceSize + kChunkTagSize;
// Chunks per write transaction: bounds memory (SQLite's page cache) and the work an
// interruption loses.
inline constexpr size_t kChunksPerCommit = 32;

// Seals one chunk with the given nonce (callers pass fresh random nonces; tests pass fixed).
std::string SealChunk(const crypto::SecretBytes& key, std::string_view attachment_id,
                      uint64_t index, std::span<const uint8_t> plaintext,
                      std::span<const uint8_t, kChunkNonceSize> nonce);
// Opens a sealed chunk; kCorrupt "attachment <hex> chunk <i> is corrupt or tampered".
Result<std::vector<uint8_t>> OpenChunk(const crypto::SecretBytes& key,
                                       std::string_view attachment_id, uint64_t index,
                                       std::span<const uint8_t> sealed);

class AttachmentWriter {
 public:
  AttachmentWriter(const AttachmentWriter&) = delete;
  AttachmentWriter& operator=(const AttachmentWriter&) = delete;
  // Abandons an unfinished write: its staged chunks are deleted.
  ~AttachmentWriter();

  // Adds plaintext. Full chunks are sealed and staged; every kChunksPerCommit they commit.
  Status Append(std::span<const uint8_t> bytes);
  // Seals the tail, and in one transaction makes the attachment visible. Returns its info.
  Result<pb::AttachmentInfo> Finish();

 private:
  friend class Store;
  AttachmentWriter(sqlite3* db, pb::AttachmentInfo info, crypto::SecretBytes key);
  Status SealBuffered();
  Status FlushBatch();

  sqlite3* db_;
  pb::AttachmentInfo info_;
  crypto::SecretBytes key_;
  std::vector<uint8_t> buffer_;     // < kChunkSize plaintext bytes waiting for a full chunk
  std::vector<std::string> batch_;  // sealed chunks not yet committed
  uint64_t next_index_ = 0;         // index of the next chunk to seal
  uint64_t size_ = 0;
  crypto_generichash_state hash_;
  bool done_ = false;
  bool failed_ = false;
  const sql::Interrupt* interrupt_ = nullptr;  // the Store's; checked at every chunk
};

class AttachmentReader {
 public:
  AttachmentReader(const AttachmentReader&) = delete;
  AttachmentReader& operator=(const AttachmentReader&) = delete;
  // Wipes the plaintext it holds.
  ~AttachmentReader();

  const pb::AttachmentInfo& info() const { return info_; }
  // Plaintext of chunk `index` (0 ≤ index < chunk_count), authenticated.
  Result<std::vector<uint8_t>> ReadChunk(uint64_t index);
  // Sequential read into `out`; returns bytes read, 0 at the end. On reaching the end the
  // content hash is checked (kCorrupt on mismatch).
  Result<size_t> Read(std::span<uint8_t> out);
  // Positional read (for media players): copies the plaintext at [offset, offset + out.size())
  // into `out` and returns how many bytes it copied: fewer only when the range passes the end,
  // 0 at or past the end. Only the chunks overlapping the range are read, and each is
  // authenticated (tag, index, length; kCorrupt naming the chunk, which fails only the reads
  // touching it). The whole-content hash is NOT checked (Verify, or Read to the end, does), and
  // Read's position is left alone. The last chunk opened is kept, so small consecutive reads
  // within one chunk decrypt it once.
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out);
  // Reads everything and checks chunk sizes, count and content hash.
  Status Verify();

 private:
  friend class Store;
  AttachmentReader(sqlite3* db, pb::AttachmentInfo info, crypto::SecretBytes key);

  sqlite3* db_;
  pb::AttachmentInfo info_;
  crypto::SecretBytes key_;
  std::vector<uint8_t> current_;  // plaintext of chunk next_chunk_-1
  size_t current_pos_ = 0;
  uint64_t next_chunk_ = 0;
  crypto_generichash_state hash_;
  bool hash_checked_ = false;
  // ReadAt's one-chunk cache: plaintext of chunk cached_index_ (none while it is kNoChunk).
  static constexpr uint64_t kNoChunk = ~uint64_t{0};
  std::vector<uint8_t> cached_;
  uint64_t cached_index_ = kNoChunk;
  const sql::Interrupt* interrupt_ = nullptr;  // the Store's; checked at every chunk
};

}  // namespace estelik::store
