#include "core/store/attachment.h"

#include <algorithm>
#include <cstring>

#include "core/bytes.h"
#include "core/sql/stmt.h"
#include "core/sql/transaction.h"

namespace estelik::store {

using sql::Stmt;

namespace {

std::array<uint8_t, 24 + 8> ChunkAd(std::string_view attachment_id, uint64_t index, size_t* len) {
  std::array<uint8_t, 24 + 8> ad{};
  size_t n = std::min<size_t>(attachment_id.size(), 24);
  std::memcpy(ad.data(), attachment_id.data(), n);
  for (int i = 0; i < 8; ++i) ad[n + i] = static_cast<uint8_t>(index >> (56 - 8 * i));
  *len = n + 8;
  return ad;
}

// Plaintext length chunk `index` must have, given the attachment's size and chunk size.
uint64_t ExpectedChunkLength(const pb::AttachmentInfo& info, uint64_t index) {
  if (index + 1 < info.chunk_count()) return info.chunk_size();
  return info.size() - index * static_cast<uint64_t>(info.chunk_size());
}

}  // namespace

std::string SealChunk(const crypto::SecretBytes& key, std::string_view attachment_id,
                      uint64_t index, std::span<const uint8_t> plaintext,
                      std::span<const uint8_t, kChunkNonceSize> nonce) {
  size_t ad_len = 0;
  auto ad = ChunkAd(attachment_id, index, &ad_len);
  std::string out(kChunkNonceSize + plaintext.size() + kChunkTagSize, '\0');
  auto* o = reinterpret_cast<uint8_t*>(out.data());
  std::memcpy(o, nonce.data(), kChunkNonceSize);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(o + kChunkNonceSize, &clen, plaintext.data(),
                                             plaintext.size(), ad.data(), ad_len, nullptr,
                                             nonce.data(), key.data());
  return out;
}

Result<std::vector<uint8_t>> OpenChunk(const crypto::SecretBytes& key,
                                       std::string_view attachment_id, uint64_t index,
                                       std::span<const uint8_t> sealed) {
  auto corrupt = [&] {
    return Corrupt("attachment " + Hex(attachment_id) + " chunk " + std::to_string(index) +
                   " is corrupt or tampered");
  };
  if (sealed.size() < kChunkOverhead || key.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    return corrupt();
  size_t ad_len = 0;
  auto ad = ChunkAd(attachment_id, index, &ad_len);
  std::vector<uint8_t> plain(sealed.size() - kChunkOverhead);
  unsigned long long plen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          plain.data(), &plen, nullptr, sealed.data() + kChunkNonceSize,
          sealed.size() - kChunkNonceSize, ad.data(), ad_len, sealed.data(), key.data()) != 0) {
    return corrupt();
  }
  plain.resize(plen);
  return plain;
}

// --- AttachmentWriter ---

AttachmentWriter::AttachmentWriter(sqlite3* db, pb::AttachmentInfo info, crypto::SecretBytes key)
    : db_(db), info_(std::move(info)), key_(std::move(key)) {
  crypto_generichash_init(&hash_, nullptr, 0, 32);
  buffer_.reserve(kChunkSize);
}

AttachmentWriter::~AttachmentWriter() {
  sodium_memzero(buffer_.data(), buffer_.size());
  if (done_) return;
  // Best effort: an unfinished write leaves nothing behind. If this fails (process dying,
  // disk error), Store::Open sweeps the staged chunks.
  auto del = [&](const char* sql) {
    auto s = Stmt::Prepare(db_, sql);
    if (s.ok()) (void)s->BindBlob(1, info_.attachment_id()).Run();
  };
  del("DELETE FROM chunks WHERE attachment_id = ?1");
  del("DELETE FROM attachments WHERE id = ?1 AND state = 0");
}

Status AttachmentWriter::SealBuffered() {
  if (interrupt_ != nullptr) ESTELIK_RETURN_IF_ERROR(interrupt_->Check("writing an attachment"));
  std::array<uint8_t, kChunkNonceSize> nonce;
  randombytes_buf(nonce.data(), nonce.size());
  batch_.push_back(SealChunk(key_, info_.attachment_id(), next_index_++, buffer_, nonce));
  sodium_memzero(buffer_.data(), buffer_.size());
  buffer_.clear();
  if (batch_.size() >= kChunksPerCommit) return FlushBatch();
  return Status::Ok();
}

Status AttachmentWriter::FlushBatch() {
  if (batch_.empty()) return Status::Ok();
  ESTELIK_ASSIGN_OR_RETURN(auto tx, sql::Transaction::Begin(db_));
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt ins,
      Stmt::Prepare(db_, "INSERT INTO chunks(attachment_id, idx, sealed) VALUES(?1,?2,?3)"));
  uint64_t first = next_index_ - batch_.size();
  for (size_t i = 0; i < batch_.size(); ++i) {
    ins.BindBlob(1, info_.attachment_id())
        .BindInt(2, static_cast<int64_t>(first + i))
        .BindBlob(3, batch_[i]);
    ESTELIK_RETURN_IF_ERROR(ins.Run());
    ins.Reset();
  }
  ESTELIK_RETURN_IF_ERROR(tx.Commit());
  batch_.clear();
  return Status::Ok();
}

Status AttachmentWriter::Append(std::span<const uint8_t> bytes) {
  if (done_ || failed_) return InvalidArgument("attachment writer is already finished or failed");
  crypto_generichash_update(&hash_, bytes.data(), bytes.size());
  size_ += bytes.size();
  while (!bytes.empty()) {
    size_t take = std::min(bytes.size(), kChunkSize - buffer_.size());
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.begin() + take);
    bytes = bytes.subspan(take);
    if (buffer_.size() == kChunkSize) {
      Status s = SealBuffered();
      if (!s.ok()) {
        failed_ = true;
        return s;
      }
    }
  }
  return Status::Ok();
}

Result<pb::AttachmentInfo> AttachmentWriter::Finish() {
  if (done_ || failed_) return InvalidArgument("attachment writer is already finished or failed");
  failed_ = true;  // until the final commit succeeds
  if (interrupt_ != nullptr) ESTELIK_RETURN_IF_ERROR(interrupt_->Check("writing an attachment"));
  if (!buffer_.empty()) {
    std::array<uint8_t, kChunkNonceSize> nonce;
    randombytes_buf(nonce.data(), nonce.size());
    batch_.push_back(SealChunk(key_, info_.attachment_id(), next_index_++, buffer_, nonce));
    buffer_.clear();
  }
  std::array<uint8_t, 32> digest;
  crypto_generichash_final(&hash_, digest.data(), digest.size());
  info_.set_size(size_);
  info_.set_chunk_size(kChunkSize);
  info_.set_chunk_count(next_index_);
  info_.set_content_hash(std::string(digest.begin(), digest.end()));

  // The last chunks and the visibility flip commit together (FlushBatch nests as a savepoint).
  ESTELIK_ASSIGN_OR_RETURN(auto tx, sql::Transaction::Begin(db_));
  ESTELIK_RETURN_IF_ERROR(FlushBatch());
  // Visible only now, and only if the testimony was not withdrawn meanwhile.
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt up,
      Stmt::Prepare(db_,
                    "UPDATE attachments SET state = 2, size = ?2, chunk_size = ?3, "
                    "chunk_count = ?4, content_hash = ?5 WHERE id = ?1 AND state = 0 "
                    "AND testimony_seq IN (SELECT seq FROM testimonies WHERE withdrawn = 0)"));
  up.BindBlob(1, info_.attachment_id())
      .BindInt(2, static_cast<int64_t>(size_))
      .BindInt(3, static_cast<int64_t>(kChunkSize))
      .BindInt(4, static_cast<int64_t>(next_index_))
      .BindBlob(5, info_.content_hash());
  ESTELIK_RETURN_IF_ERROR(up.Run());
  if (sqlite3_changes(db_) != 1) {
    return NotFound("attachment " + Hex(info_.attachment_id()) +
                    " can no longer be finished: its testimony was withdrawn or the write was "
                    "swept as interrupted");
  }
  ESTELIK_RETURN_IF_ERROR(tx.Commit());
  batch_.clear();
  done_ = true;
  failed_ = false;
  return info_;
}

// --- AttachmentReader ---

AttachmentReader::AttachmentReader(sqlite3* db, pb::AttachmentInfo info, crypto::SecretBytes key)
    : db_(db), info_(std::move(info)), key_(std::move(key)) {
  crypto_generichash_init(&hash_, nullptr, 0, 32);
}

AttachmentReader::~AttachmentReader() {
  sodium_memzero(current_.data(), current_.size());
  sodium_memzero(cached_.data(), cached_.size());
}

Result<std::vector<uint8_t>> AttachmentReader::ReadChunk(uint64_t index) {
  if (interrupt_ != nullptr) ESTELIK_RETURN_IF_ERROR(interrupt_->Check("reading an attachment"));
  const std::string id_hex = Hex(info_.attachment_id());
  if (index >= info_.chunk_count()) {
    return InvalidArgument("attachment " + id_hex + " has " + std::to_string(info_.chunk_count()) +
                           " chunks; there is no chunk " + std::to_string(index));
  }
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s,
      Stmt::Prepare(db_, "SELECT sealed FROM chunks WHERE attachment_id = ?1 AND idx = ?2"));
  s.BindBlob(1, info_.attachment_id()).BindInt(2, static_cast<int64_t>(index));
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) {
    return Corrupt("attachment " + id_hex + " is missing chunk " + std::to_string(index) + " of " +
                   std::to_string(info_.chunk_count()));
  }
  ESTELIK_ASSIGN_OR_RETURN(auto plain,
                           OpenChunk(key_, info_.attachment_id(), index, s.BlobSpan(0)));
  if (plain.size() != ExpectedChunkLength(info_, index)) {
    return Corrupt("attachment " + id_hex + " chunk " + std::to_string(index) +
                   " has the wrong length (" + std::to_string(plain.size()) + " bytes, expected " +
                   std::to_string(ExpectedChunkLength(info_, index)) + ")");
  }
  return plain;
}

Result<size_t> AttachmentReader::Read(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    if (current_pos_ == current_.size()) {
      if (next_chunk_ == info_.chunk_count()) {
        if (!hash_checked_) {
          std::array<uint8_t, 32> digest;
          crypto_generichash_final(&hash_, digest.data(), digest.size());
          hash_checked_ = true;
          if (!crypto::ConstantTimeEquals(digest, AsBytes(info_.content_hash()))) {
            return Corrupt("attachment " + Hex(info_.attachment_id()) +
                           " does not match its content hash: corrupt or tampered");
          }
        }
        break;
      }
      sodium_memzero(current_.data(), current_.size());
      ESTELIK_ASSIGN_OR_RETURN(current_, ReadChunk(next_chunk_));
      ++next_chunk_;
      current_pos_ = 0;
      crypto_generichash_update(&hash_, current_.data(), current_.size());
    }
    size_t take = std::min(out.size() - done, current_.size() - current_pos_);
    std::memcpy(out.data() + done, current_.data() + current_pos_, take);
    done += take;
    current_pos_ += take;
  }
  return done;
}

Result<size_t> AttachmentReader::ReadAt(uint64_t offset, std::span<uint8_t> out) {
  const uint64_t size = info_.size();
  if (offset >= size || out.empty()) return size_t{0};
  // Chunk addressing relies on the recorded layout: chunk i holds plaintext bytes
  // [i * chunk_size, min((i + 1) * chunk_size, size)).
  const uint64_t chunk_size = info_.chunk_size();
  if (chunk_size == 0 || info_.chunk_count() != (size - 1) / chunk_size + 1) {
    return Corrupt("attachment " + Hex(info_.attachment_id()) + " records " + std::to_string(size) +
                   " bytes in " + std::to_string(info_.chunk_count()) + " chunks of " +
                   std::to_string(chunk_size) + ": corrupt or tampered");
  }
  const size_t want = static_cast<size_t>(std::min<uint64_t>(out.size(), size - offset));
  size_t done = 0;
  while (done < want) {
    const uint64_t pos = offset + done;
    const uint64_t index = pos / chunk_size;
    if (index != cached_index_) {
      sodium_memzero(cached_.data(), cached_.size());
      cached_.clear();
      cached_index_ = kNoChunk;
      ESTELIK_ASSIGN_OR_RETURN(cached_, ReadChunk(index));  // authenticated, length checked
      cached_index_ = index;
    }
    const size_t in_chunk = static_cast<size_t>(pos - index * chunk_size);
    const size_t take = std::min(want - done, cached_.size() - in_chunk);
    std::memcpy(out.data() + done, cached_.data() + in_chunk, take);
    done += take;
  }
  return done;
}

Status AttachmentReader::Verify() {
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt count, Stmt::Prepare(db_, "SELECT count(*) FROM chunks WHERE attachment_id = ?1"));
  count.BindBlob(1, info_.attachment_id());
  ESTELIK_ASSIGN_OR_RETURN(bool row, count.Step());
  if (!row || static_cast<uint64_t>(count.Int(0)) != info_.chunk_count()) {
    return Corrupt("attachment " + Hex(info_.attachment_id()) + " has " +
                   std::to_string(row ? count.Int(0) : 0) + " chunks stored but " +
                   std::to_string(info_.chunk_count()) + " recorded: corrupt or tampered");
  }
  crypto_generichash_state h;
  crypto_generichash_init(&h, nullptr, 0, 32);
  for (uint64_t i = 0; i < info_.chunk_count(); ++i) {
    ESTELIK_ASSIGN_OR_RETURN(auto plain, ReadChunk(i));
    crypto_generichash_update(&h, plain.data(), plain.size());
    sodium_memzero(plain.data(), plain.size());
  }
  std::array<uint8_t, 32> digest;
  crypto_generichash_final(&h, digest.data(), digest.size());
  if (!crypto::ConstantTimeEquals(digest, AsBytes(info_.content_hash()))) {
    return Corrupt("attachment " + Hex(info_.attachment_id()) +
                   " does not match its content hash: corrupt or tampered");
  }
  return Status::Ok();
}

}  // namespace estelik::store
