// Store's attachment entry points: local streaming adds and chunk-by-chunk receiving.
#include <sodium.h>

#include "core/bytes.h"
#include "core/sql/stmt.h"
#include "core/sql/transaction.h"
#include "core/store/store.h"

namespace estelik::store {

using sql::Stmt;
using sql::Transaction;

namespace {

enum AttachmentState { kWriting = 0, kReceiving = 1, kComplete = 2 };

constexpr char kColumns[] =
    "SELECT a.id, t.id, a.name, a.media_type, a.kind, a.size, a.chunk_size, a.chunk_count, "
    "a.content_hash, a.added_wall, a.added_counter, a.author, a.state, a.testimony_seq, "
    "t.content_key FROM attachments a JOIN testimonies t ON t.seq = a.testimony_seq WHERE a.id = "
    "?1";

struct Row {
  pb::AttachmentInfo info;
  int state = 0;
  int64_t testimony_seq = 0;
  crypto::SecretBytes key;
};

Result<Row> LoadRow(sqlite3* db, std::string_view id) {
  if (id.size() != kAttachmentIdSize)
    return InvalidArgument("attachment id must be 16 bytes, got " + std::to_string(id.size()));
  ESTELIK_ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db, kColumns));
  s.BindBlob(1, id);
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("no attachment " + Hex(id));
  Row r;
  pb::AttachmentInfo& a = r.info;
  a.set_attachment_id(s.Blob(0));
  a.set_testimony_id(s.Blob(1));
  a.set_name(s.Text(2));
  a.set_media_type(s.Text(3));
  a.set_kind(static_cast<pb::AttachmentKind>(s.Int(4)));
  a.set_size(static_cast<uint64_t>(s.Int(5)));
  a.set_chunk_size(static_cast<uint32_t>(s.Int(6)));
  a.set_chunk_count(static_cast<uint64_t>(s.Int(7)));
  a.set_content_hash(s.Blob(8));
  a.mutable_added()->set_wall_ms(static_cast<uint64_t>(s.Int(9)));
  a.mutable_added()->set_counter(static_cast<uint32_t>(s.Int(10)));
  a.set_author(s.Blob(11));
  r.state = static_cast<int>(s.Int(12));
  r.testimony_seq = s.Int(13);
  if (!s.IsNull(14)) {
    if (s.BlobSpan(14).size() != kContentKeySize)
      return Corrupt("store.db: a content key has the wrong size");
    r.key = crypto::SecretBytes::CopyOf(s.BlobSpan(14));
  }
  return r;
}

Status ValidateMeta(const pb::AttachmentInfo& m) {
  if (m.attachment_id().size() != kAttachmentIdSize)
    return InvalidArgument("attachment id must be 16 bytes");
  if (m.testimony_id().size() != kTestimonyIdSize)
    return InvalidArgument("attachment's testimony id must be 16 bytes");
  if (m.author().size() != kAuthorSize)
    return InvalidArgument("attachment author must be 32 bytes");
  if (m.name().empty() || m.name().size() > 1024)
    return InvalidArgument("attachment name must be 1 to 1024 bytes");
  if (m.media_type().size() > 255) return InvalidArgument("media type is longer than 255 bytes");
  if (!pb::AttachmentKind_IsValid(m.kind()))
    return InvalidArgument("unknown attachment kind " + std::to_string(m.kind()));
  if (!IsUtf8(m.name()) || !IsUtf8(m.media_type()))
    return InvalidArgument("attachment name or media type is not valid UTF-8");
  return Status::Ok();
}

// Looks up the testimony an attachment goes to: live, and written by `author`.
Result<int64_t> LiveTestimonyOf(sqlite3* db, const pb::AttachmentInfo& m) {
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(db, "SELECT seq, author, withdrawn FROM testimonies WHERE id = ?1"));
  s.BindBlob(1, m.testimony_id());
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("no testimony " + Hex(m.testimony_id()));
  if (s.Int(2) != 0)
    return NotFound("testimony " + Hex(m.testimony_id()) +
                    " was withdrawn; it takes no attachments");
  if (s.Blob(1) != m.author())
    return PermissionDenied("only the author may add attachments to testimony " +
                            Hex(m.testimony_id()));
  return s.Int(0);
}

Status InsertRow(sqlite3* db, const pb::AttachmentInfo& m, int64_t seq, int state) {
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt ins, Stmt::Prepare(db,
                              "INSERT INTO attachments(id, testimony_seq, state, name, media_type, "
                              "kind, size, chunk_size, chunk_count, content_hash, added_wall, "
                              "added_counter, author) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,"
                              "?12,?13)"));
  ins.BindBlob(1, m.attachment_id())
      .BindInt(2, seq)
      .BindInt(3, state)
      .BindText(4, m.name())
      .BindText(5, m.media_type())
      .BindInt(6, static_cast<int64_t>(m.kind()))
      .BindInt(7, static_cast<int64_t>(m.size()))
      .BindInt(8, static_cast<int64_t>(m.chunk_size()))
      .BindInt(9, static_cast<int64_t>(m.chunk_count()))
      .BindBlob(10, m.content_hash())
      .BindInt(11, static_cast<int64_t>(m.added().wall_ms()))
      .BindInt(12, static_cast<int64_t>(m.added().counter()))
      .BindBlob(13, m.author());
  return ins.Run();
}

}  // namespace

Result<std::unique_ptr<AttachmentWriter>> Store::BeginAttachment(const pb::AttachmentInfo& meta) {
  ESTELIK_RETURN_IF_ERROR(ValidateMeta(meta));
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  ESTELIK_ASSIGN_OR_RETURN(int64_t seq, LiveTestimonyOf(db_, meta));
  ESTELIK_ASSIGN_OR_RETURN(Stmt ex, Stmt::Prepare(db_, "SELECT 1 FROM attachments WHERE id = ?1"));
  ex.BindBlob(1, meta.attachment_id());
  ESTELIK_ASSIGN_OR_RETURN(bool taken, ex.Step());
  if (taken) return AlreadyExists("attachment " + Hex(meta.attachment_id()) + " already exists");
  pb::AttachmentInfo staged = meta;
  staged.set_size(0);
  staged.set_chunk_size(kChunkSize);
  staged.set_chunk_count(0);
  staged.clear_content_hash();
  ESTELIK_RETURN_IF_ERROR(InsertRow(db_, staged, seq, kWriting));
  ESTELIK_ASSIGN_OR_RETURN(crypto::SecretBytes key, ContentKey(seq));
  ESTELIK_RETURN_IF_ERROR(tx.Commit());
  std::unique_ptr<AttachmentWriter> writer(
      new AttachmentWriter(db_, std::move(staged), std::move(key)));
  writer->interrupt_ = &interrupt_;
  return writer;
}

Result<std::unique_ptr<AttachmentReader>> Store::OpenAttachment(std::string_view attachment_id) {
  ESTELIK_ASSIGN_OR_RETURN(Row r, LoadRow(db_, attachment_id));
  if (r.state != kComplete)
    return NotFound("attachment " + Hex(attachment_id) + " is not complete yet");
  if (r.key.empty()) return NotFound("attachment " + Hex(attachment_id) + " was withdrawn");
  std::unique_ptr<AttachmentReader> reader(
      new AttachmentReader(db_, std::move(r.info), std::move(r.key)));
  reader->interrupt_ = &interrupt_;
  return reader;
}

Result<pb::AttachmentInfo> Store::GetAttachment(std::string_view attachment_id) {
  ESTELIK_ASSIGN_OR_RETURN(Row r, LoadRow(db_, attachment_id));
  if (r.state != kComplete)
    return NotFound("attachment " + Hex(attachment_id) + " is not complete yet");
  return r.info;
}

Status Store::ExpectAttachment(const pb::AttachmentInfo& info) {
  ESTELIK_RETURN_IF_ERROR(ValidateMeta(info));
  if (info.chunk_size() == 0 || info.chunk_size() > (1u << 20))
    return InvalidArgument("attachment chunk size must be 1 byte to 1 MiB");
  uint64_t expected_count = (info.size() + info.chunk_size() - 1) / info.chunk_size();
  if (info.chunk_count() != expected_count)
    return InvalidArgument("attachment chunk count " + std::to_string(info.chunk_count()) +
                           " does not fit its size " + std::to_string(info.size()));
  if (info.content_hash().size() != kHashSize)
    return InvalidArgument("attachment content hash must be 32 bytes");
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  ESTELIK_ASSIGN_OR_RETURN(int64_t seq, LiveTestimonyOf(db_, info));
  auto existing = LoadRow(db_, info.attachment_id());
  if (existing.ok()) {
    pb::AttachmentInfo a = existing->info;
    if (a.SerializeAsString() == info.SerializeAsString() && existing->state != kWriting)
      return Status::Ok();  // already announced (or complete): nothing to do
    return AlreadyExists("attachment " + Hex(info.attachment_id()) +
                         " already exists with different metadata");
  }
  if (existing.status().code() != Code::kNotFound) return existing.status();
  ESTELIK_RETURN_IF_ERROR(
      InsertRow(db_, info, seq, info.chunk_count() == 0 ? kComplete : kReceiving));
  return tx.Commit();
}

Status Store::PutChunk(std::string_view attachment_id, uint64_t index, std::string_view sealed) {
  ESTELIK_ASSIGN_OR_RETURN(Row r, LoadRow(db_, attachment_id));
  const std::string hex = Hex(attachment_id);
  if (r.state == kWriting) return NotFound("attachment " + hex + " is being written locally");
  if (index >= r.info.chunk_count())
    return InvalidArgument("attachment " + hex + " has " + std::to_string(r.info.chunk_count()) +
                           " chunks; there is no chunk " + std::to_string(index));
  if (r.key.empty()) return NotFound("attachment " + hex + " was withdrawn");
  if (sealed.size() > r.info.chunk_size() + kChunkOverhead)
    return Corrupt("attachment " + hex + " chunk " + std::to_string(index) + " is too large");
  // Authenticate before storing: a bad chunk changes nothing.
  ESTELIK_ASSIGN_OR_RETURN(auto plain, OpenChunk(r.key, attachment_id, index, AsBytes(sealed)));
  uint64_t expected = index + 1 < r.info.chunk_count()
                          ? r.info.chunk_size()
                          : r.info.size() - index * uint64_t{r.info.chunk_size()};
  sodium_memzero(plain.data(), plain.size());
  if (plain.size() != expected)
    return Corrupt("attachment " + hex + " chunk " + std::to_string(index) +
                   " has the wrong length");
  if (r.state == kComplete) return Status::Ok();  // a duplicate of what we have
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  ESTELIK_ASSIGN_OR_RETURN(Stmt ins,
                           Stmt::Prepare(db_,
                                         "INSERT OR IGNORE INTO chunks(attachment_id, idx, sealed) "
                                         "VALUES(?1,?2,?3)"));
  ins.BindBlob(1, attachment_id).BindInt(2, static_cast<int64_t>(index)).BindBlob(3, sealed);
  ESTELIK_RETURN_IF_ERROR(ins.Run());
  ESTELIK_RETURN_IF_ERROR(tx.Commit());
  // Complete? A count on the (attachment_id, idx) index: cheaper than listing what is missing
  // after every chunk. Callers that store many chunks wrap them in a Store::Batch (one commit).
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt held, Stmt::Prepare(db_, "SELECT count(*) FROM chunks WHERE attachment_id = ?1"));
  held.BindBlob(1, attachment_id);
  ESTELIK_ASSIGN_OR_RETURN(bool row, held.Step());
  if (row && static_cast<uint64_t>(held.Int(0)) >= r.info.chunk_count())
    return VerifyAndComplete(attachment_id);
  return Status::Ok();
}

Status Store::VerifyAndComplete(std::string_view attachment_id) {
  ESTELIK_ASSIGN_OR_RETURN(Row r, LoadRow(db_, attachment_id));
  AttachmentReader reader(db_, r.info, std::move(r.key));
  Status verified = reader.Verify();
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  if (!verified.ok()) {
    // Every chunk authenticated, yet the whole does not match: the sender's metadata or
    // chunks are inconsistent. Discard the chunks so the transfer can start over.
    ESTELIK_ASSIGN_OR_RETURN(Stmt d,
                             Stmt::Prepare(db_, "DELETE FROM chunks WHERE attachment_id = ?1"));
    ESTELIK_RETURN_IF_ERROR(d.BindBlob(1, attachment_id).Run());
    ESTELIK_RETURN_IF_ERROR(tx.Commit());
    return Corrupt(verified.message() + "; its received chunks were discarded");
  }
  ESTELIK_ASSIGN_OR_RETURN(Stmt up,
                           Stmt::Prepare(db_, "UPDATE attachments SET state = 2 WHERE id = ?1"));
  ESTELIK_RETURN_IF_ERROR(up.BindBlob(1, attachment_id).Run());
  return tx.Commit();
}

Result<std::vector<uint64_t>> Store::MissingChunks(std::string_view attachment_id) {
  ESTELIK_ASSIGN_OR_RETURN(Row r, LoadRow(db_, attachment_id));
  std::vector<uint64_t> missing;
  if (r.state == kComplete) return missing;
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(db_, "SELECT idx FROM chunks WHERE attachment_id = ?1 ORDER BY idx"));
  s.BindBlob(1, attachment_id);
  uint64_t next = 0;
  ESTELIK_RETURN_IF_ERROR(sql::ForEachRow(s, [&](const sql::Stmt& row) {
    uint64_t have = static_cast<uint64_t>(row.Int(0));
    for (; next < have && next < r.info.chunk_count(); ++next) missing.push_back(next);
    next = have + 1;
  }));
  for (; next < r.info.chunk_count(); ++next) missing.push_back(next);
  return missing;
}

Result<std::string> Store::GetSealedChunk(std::string_view attachment_id, uint64_t index) {
  ESTELIK_ASSIGN_OR_RETURN(Row r, LoadRow(db_, attachment_id));
  if (r.state == kWriting)
    return NotFound("attachment " + Hex(attachment_id) + " is not written yet");
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s,
      Stmt::Prepare(db_, "SELECT sealed FROM chunks WHERE attachment_id = ?1 AND idx = ?2"));
  s.BindBlob(1, attachment_id).BindInt(2, static_cast<int64_t>(index));
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row)
    return NotFound("attachment " + Hex(attachment_id) + " has no chunk " + std::to_string(index));
  return s.Blob(0);
}

Result<crypto::SecretBytes> Store::TestimonyContentKey(std::string_view id) {
  ESTELIK_ASSIGN_OR_RETURN(int64_t seq, SeqOf(id));
  return ContentKey(seq);
}

Result<std::vector<pb::AttachmentInfo>> Store::ReceivingAttachments(std::string_view testimony_id) {
  ESTELIK_ASSIGN_OR_RETURN(int64_t seq, SeqOf(testimony_id));
  ESTELIK_ASSIGN_OR_RETURN(Stmt s,
                           Stmt::Prepare(db_,
                                         "SELECT id FROM attachments WHERE testimony_seq = ?1 AND "
                                         "state = ?2 ORDER BY id"));
  s.BindInt(1, seq).BindInt(2, static_cast<int64_t>(kReceiving));
  std::vector<std::string> ids;
  for (;;) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ids.push_back(s.Blob(0));
  }
  std::vector<pb::AttachmentInfo> out;
  for (const auto& id : ids) {
    ESTELIK_ASSIGN_OR_RETURN(Row r, LoadRow(db_, id));
    out.push_back(std::move(r.info));
  }
  return out;
}

}  // namespace estelik::store
