#include "core/store/store.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <sodium.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <map>

#include "core/bytes.h"
#include "core/sql/stmt.h"
#include "core/sql/transaction.h"
#include "core/store/fold.h"
#include "core/store/query.h"
#include "core/store/rank.h"
#include "core/store/schema.h"
#include "core/store/snippet.h"
#include "core/store/tokenizer.h"

namespace estelik::store {

using sql::Exec;
using sql::Stmt;
using sql::Transaction;

namespace {

constexpr uint32_t kDefaultPageSize = 50;
constexpr uint32_t kMaxPageSize = 500;
constexpr int kTermTag = 1;
constexpr int kTermPlace = 2;
constexpr int kTermPerson = 3;
constexpr uint8_t kListCursorVersion = 1;
constexpr uint8_t kSearchCursorVersion = 4;

// A tokenize= argument: words of letters, digits and '_' separated by single spaces.
bool IsPlainTokenizerSpec(std::string_view spec) {
  if (spec.empty() || spec.size() > 100 || spec.front() == ' ' || spec.back() == ' ') return false;
  for (char c : spec) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == ' ';
    if (!ok) return false;
  }
  return spec.find("  ") == std::string_view::npos;
}

// Recreates the (empty) FTS shards of a store that holds no testimony with another tokenizer.
Status UseTokenizer(sqlite3* db, const std::string& spec) {
  if (spec == kTokenizerName) return Status::Ok();
  if (!IsPlainTokenizerSpec(spec))
    return InvalidArgument("store: tokenizer \"" + spec + "\" is not a plain tokenize= argument");
  ESTELIK_ASSIGN_OR_RETURN(Stmt any, Stmt::Prepare(db, "SELECT 1 FROM testimonies LIMIT 1"));
  ESTELIK_ASSIGN_OR_RETURN(bool used, any.Step());
  if (used) return Status::Ok();
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db));
  for (int k = 0; k < kFtsShards; ++k) {
    const std::string table = FtsShardName(k);
    const std::string sql = "DROP TABLE " + table + ";" + CreateFtsShardSql(table, spec);
    ESTELIK_RETURN_IF_ERROR(Exec(db, sql.c_str()));
  }
  return tx.Commit();
}

// Rebuilds the FTS index from its stored text when it holds keys of other folding rules.
Status RefoldIndex(sqlite3* db) {
  ESTELIK_ASSIGN_OR_RETURN(int indexed, IndexedFoldVersion(db));
  if (indexed == kFoldVersion) return Status::Ok();
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db));
  for (int k = 0; k < kFtsShards; ++k) {
    const std::string table = FtsShardName(k);
    const std::string sql = "INSERT INTO " + table + "(" + table + ") VALUES('rebuild')";
    ESTELIK_RETURN_IF_ERROR(Exec(db, sql.c_str()));
  }
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt up, Stmt::Prepare(db, "UPDATE store_meta SET value = ?1 WHERE key = 'fold_version'"));
  ESTELIK_RETURN_IF_ERROR(up.BindInt(1, kFoldVersion).Run());
  return tx.Commit();
}

enum AttachmentState { kWriting = 0, kReceiving = 1, kComplete = 2 };

std::string HashBytes(std::string_view data) {
  std::string out(kHashSize, '\0');
  crypto_generichash(reinterpret_cast<uint8_t*>(out.data()), out.size(),
                     reinterpret_cast<const uint8_t*>(data.data()), data.size(), nullptr, 0);
  return out;
}

std::string SerializeDeterministic(const google::protobuf::MessageLite& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return std::string(out.data(), coded.ByteCount());
}

bool FieldsAreUtf8(const pb::TestimonyFields& f) {
  for (const std::string* s :
       {&f.language(), &f.title(), &f.body(), &f.event_dates().from(), &f.event_dates().to()})
    if (!IsUtf8(*s)) return false;
  for (const auto* list : {&f.tags(), &f.places(), &f.people()})
    for (const std::string& s : *list)
      if (!IsUtf8(s)) return false;
  for (const auto& [k, v] : f.capture_metadata())
    if (!IsUtf8(k) || !IsUtf8(v)) return false;
  return true;
}

// Validates author-editable content; on success `*serialized` holds its canonical bytes.
Status ValidateFields(const pb::TestimonyFields& f, std::string* serialized) {
  // proto3 refuses to parse strings that are not UTF-8: catch that now, not on read.
  if (!FieldsAreUtf8(f)) return InvalidArgument("testimony text is not valid UTF-8");
  *serialized = SerializeDeterministic(f);
  if (serialized->size() > kMaxFieldsBytes)
    return LimitExceeded(
        "testimony content is larger than 1 MiB; put long material in attachments");
  if (f.language().size() > 64) return InvalidArgument("language tag is longer than 64 bytes");
  if (!pb::ConsentScope_IsValid(f.consent_scope()))
    return InvalidArgument("unknown consent scope " + std::to_string(f.consent_scope()));
  for (const std::string* d : {&f.event_dates().from(), &f.event_dates().to()}) {
    if (!d->empty() && !IsValidDate(*d))
      return InvalidArgument("event date \"" + *d + "\" is not YYYY, YYYY-MM or YYYY-MM-DD");
  }
  if (!f.event_dates().from().empty() && !f.event_dates().to().empty() &&
      NormalizeDate(f.event_dates().from(), false) > NormalizeDate(f.event_dates().to(), true))
    return InvalidArgument("event date range ends before it starts");
  return Status::Ok();
}

// A value bound to a '?' of dynamically built SQL.
struct Param {
  enum Kind { kNum, kText, kBlob } kind;
  int64_t num = 0;
  std::string bytes;
};
Param Num(int64_t v) { return {Param::kNum, v, {}}; }
Param Text(std::string v) { return {Param::kText, 0, std::move(v)}; }
Param Blob(std::string v) { return {Param::kBlob, 0, std::move(v)}; }

void BindAll(Stmt& s, const std::vector<Param>& params) {
  for (size_t i = 0; i < params.size(); ++i) {
    int idx = static_cast<int>(i + 1);
    switch (params[i].kind) {
      case Param::kNum:
        s.BindInt(idx, params[i].num);
        break;
      case Param::kText:
        s.BindText(idx, std::string_view(params[i].bytes));
        break;
      case Param::kBlob:
        s.BindBlob(idx, params[i].bytes);
        break;
    }
  }
}

// Appends " AND ..." clauses over `t` (testimonies) for `f`.
Status AppendFilter(const pb::ListFilter& f, std::string* sql, std::vector<Param>* params) {
  const auto& dates = f.event_dates();
  for (const std::string* d : {&dates.from(), &dates.to()}) {
    if (!d->empty() && !IsValidDate(*d))
      return InvalidArgument("filter date \"" + *d + "\" is not YYYY, YYYY-MM or YYYY-MM-DD");
  }
  if (!dates.from().empty() || !dates.to().empty()) {
    // Overlap of [event_from, event_to] (open ends unbounded) with the filter range; a
    // testimony without any event date does not match a date filter.
    *sql += " AND (t.event_from IS NOT NULL OR t.event_to IS NOT NULL)";
    if (!dates.from().empty()) {
      *sql += " AND (t.event_to IS NULL OR t.event_to >= ?)";
      params->push_back(Text(NormalizeDate(dates.from(), false)));
    }
    if (!dates.to().empty()) {
      *sql += " AND (t.event_from IS NULL OR t.event_from <= ?)";
      params->push_back(Text(NormalizeDate(dates.to(), true)));
    }
  }
  auto terms = [&](const google::protobuf::RepeatedPtrField<std::string>& values, int kind) {
    if (values.empty()) return;
    *sql += " AND EXISTS (SELECT 1 FROM terms m WHERE m.testimony_seq = t.seq AND m.kind = " +
            std::to_string(kind) + " AND m.value IN (";
    for (int i = 0; i < values.size(); ++i) {
      *sql += i ? ",?" : "?";
      params->push_back(Text(values[i]));
    }
    *sql += "))";
  };
  if (!f.tags().empty()) {
    // The author's tags (terms) or tags circle members added (tag_terms,
    // store_tags_annotations.cc).
    std::string in;
    for (int i = 0; i < f.tags().size(); ++i) in += i ? ",?" : "?";
    *sql += " AND (EXISTS (SELECT 1 FROM terms m WHERE m.testimony_seq = t.seq AND m.kind = " +
            std::to_string(kTermTag) + " AND m.value IN (" + in +
            ")) OR EXISTS (SELECT 1 FROM tag_terms g WHERE g.testimony_seq = t.seq AND g.tag IN (" +
            in + ")))";
    for (int pass = 0; pass < 2; ++pass)
      for (const std::string& tag : f.tags()) params->push_back(Text(tag));
  }
  terms(f.places(), kTermPlace);
  if (!f.languages().empty()) {
    *sql += " AND t.language IN (";
    for (int i = 0; i < f.languages().size(); ++i) {
      *sql += i ? ",?" : "?";
      params->push_back(Text(f.languages(i)));
    }
    *sql += ")";
  }
  if (!f.scopes().empty()) {
    *sql += " AND t.consent_scope IN (";
    for (int i = 0; i < f.scopes().size(); ++i) {
      *sql += i ? ",?" : "?";
      params->push_back(Num(f.scopes(i)));
      // A testimony whose fields leave the scope unset is private (proto/record.proto).
      if (f.scopes(i) == pb::CONSENT_SCOPE_PRIVATE) {
        *sql += ",?";
        params->push_back(Num(pb::CONSENT_SCOPE_UNSPECIFIED));
      }
    }
    *sql += ")";
  }
  if (!f.author().empty()) {
    *sql += " AND t.author = ?";
    params->push_back(Blob(f.author()));
  }
  return Status::Ok();
}

void PutU64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t GetU64(std::string_view in, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[at + i]);
  return v;
}
void PutBytes(std::string* out, std::string_view b) {
  PutU64(out, b.size());
  out->append(b);
}

void ReadHlc(const Stmt& s, int col, pb::Hlc* hlc) {
  hlc->set_wall_ms(static_cast<uint64_t>(s.Int(col)));
  hlc->set_counter(static_cast<uint32_t>(s.Int(col + 1)));
}

constexpr char kAttachmentColumns[] =
    "a.id, t.id, a.name, a.media_type, a.kind, a.size, a.chunk_size, a.chunk_count, "
    "a.content_hash, a.added_wall, a.added_counter, a.author, a.state, a.testimony_seq";

void ReadAttachment(const Stmt& s, pb::AttachmentInfo* a) {
  a->set_attachment_id(s.Blob(0));
  a->set_testimony_id(s.Blob(1));
  a->set_name(s.Text(2));
  a->set_media_type(s.Text(3));
  a->set_kind(static_cast<pb::AttachmentKind>(s.Int(4)));
  a->set_size(static_cast<uint64_t>(s.Int(5)));
  a->set_chunk_size(static_cast<uint32_t>(s.Int(6)));
  a->set_chunk_count(static_cast<uint64_t>(s.Int(7)));
  a->set_content_hash(s.Blob(8));
  ReadHlc(s, 9, a->mutable_added());
  a->set_author(s.Blob(11));
}

}  // namespace

// --- Open ---

Result<std::unique_ptr<Store>> Store::Open(sqlite3* db, const StoreOptions& options) {
  if (db == nullptr) return InvalidArgument("store: no database connection");
  crypto::EnsureSodium();
  ESTELIK_RETURN_IF_ERROR(RegisterTokenizer(db));
  ESTELIK_RETURN_IF_ERROR(RegisterRankFunctions(db));
  // Freed pages and cells are zeroed, so withdrawn content does not linger in the file.
  ESTELIK_RETURN_IF_ERROR(Exec(db, "PRAGMA secure_delete = ON"));
  ESTELIK_RETURN_IF_ERROR(Migrate(db));
  ESTELIK_RETURN_IF_ERROR(UseTokenizer(db, options.fts_tokenizer));
  ESTELIK_RETURN_IF_ERROR(RefoldIndex(db));
  // Sweep what interrupted local attachment writes staged (state 0). Attachments being
  // received from peers (state 1) are kept: their transfer resumes.
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db));
  ESTELIK_RETURN_IF_ERROR(Exec(db,
                               "DELETE FROM chunks WHERE attachment_id IN "
                               "(SELECT id FROM attachments WHERE state = 0) OR attachment_id NOT "
                               "IN (SELECT id FROM attachments);"
                               "DELETE FROM attachments WHERE state = 0;"));
  ESTELIK_RETURN_IF_ERROR(tx.Commit());
  return std::unique_ptr<Store>(
      new Store(db, std::max<uint32_t>(1, options.max_ranked_candidates)));
}

// --- Batch ---

Store::Batch::Batch(Store* store, std::unique_ptr<Transaction> tx)
    : store_(store), tx_(std::move(tx)) {}
Store::Batch::Batch(Batch&&) noexcept = default;
Store::Batch::~Batch() = default;  // an uncommitted Transaction rolls back

Status Store::Batch::Commit() {
  if (!tx_) return InvalidArgument("store: this batch was already committed");
  ESTELIK_RETURN_IF_ERROR(tx_->Commit());
  tx_.reset();
  if (store_->wal_purge_pending_) return store_->PurgeWal();
  return Status::Ok();
}

Result<Store::Batch> Store::BeginBatch() {
  if (sqlite3_get_autocommit(db_) == 0)
    return InvalidArgument("store: a transaction is already open on this connection");
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  return Batch(this, std::make_unique<Transaction>(std::move(tx)));
}

// Copies every committed WAL frame into the database and truncates the WAL to zero bytes, so
// the frames that held a withdrawn testimony's pages are gone from it (secure_delete already
// zeroed their current versions). Waits for an enclosing Batch to commit.
Status Store::PurgeWal() {
  if (sqlite3_get_autocommit(db_) == 0) {
    wal_purge_pending_ = true;
    return Status::Ok();
  }
  ESTELIK_ASSIGN_OR_RETURN(Stmt mode, Stmt::Prepare(db_, "PRAGMA journal_mode"));
  ESTELIK_ASSIGN_OR_RETURN(bool row, mode.Step());
  if (!row || mode.Text(0) != "wal") {
    wal_purge_pending_ = false;
    return Status::Ok();
  }
  ESTELIK_ASSIGN_OR_RETURN(Stmt cp, Stmt::Prepare(db_, "PRAGMA wal_checkpoint(TRUNCATE)"));
  ESTELIK_ASSIGN_OR_RETURN(row, cp.Step());
  if (!row || cp.Int(0) != 0) {
    wal_purge_pending_ = true;
    return IoError(
        "testimony withdrawn, but old copies of its pages could not be purged from store.db-wal "
        "yet (the database is busy); call Withdraw again to retry");
  }
  wal_purge_pending_ = false;
  return Status::Ok();
}

Result<int64_t> Store::SeqOf(std::string_view id, bool* withdrawn) {
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(id, kTestimonyIdSize, "testimony id"));
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(db_, "SELECT seq, withdrawn FROM testimonies WHERE id = ?1"));
  s.BindBlob(1, id);
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("no testimony " + Hex(id));
  if (withdrawn) *withdrawn = s.Int(1) != 0;
  return s.Int(0);
}

Result<crypto::SecretBytes> Store::ContentKey(int64_t seq) {
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(db_, "SELECT content_key FROM testimonies WHERE seq = ?1"));
  s.BindInt(1, seq);
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row || s.IsNull(0)) return NotFound("the testimony's content key is gone (withdrawn)");
  auto key = s.BlobSpan(0);
  if (key.size() != kContentKeySize) return Corrupt("store.db: a content key has the wrong size");
  return crypto::SecretBytes::CopyOf(key);
}

// Makes `fields` the searchable, filterable content of testimony `seq`.
Status Store::IndexCurrent(int64_t seq, const pb::TestimonyFields& f, bool replace) {
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt up, Stmt::Prepare(db_,
                             "UPDATE testimonies SET language = ?2, consent_scope = ?3, "
                             "event_from = ?4, event_to = ?5 WHERE seq = ?1"));
  up.BindInt(1, seq).BindText(2, f.language()).BindInt(3, static_cast<int64_t>(f.consent_scope()));
  std::string from = NormalizeDate(f.event_dates().from(), false);
  std::string to = NormalizeDate(f.event_dates().to(), true);
  if (from.empty())
    up.BindNull(4);
  else
    up.BindText(4, from);
  if (to.empty())
    up.BindNull(5);
  else
    up.BindText(5, to);
  ESTELIK_RETURN_IF_ERROR(up.Run());

  if (replace) {
    ESTELIK_ASSIGN_OR_RETURN(Stmt del,
                             Stmt::Prepare(db_, "DELETE FROM terms WHERE testimony_seq = ?1"));
    ESTELIK_RETURN_IF_ERROR(del.BindInt(1, seq).Run());
    ESTELIK_RETURN_IF_ERROR(DeleteFromFtsIndex(db_, seq));
  }
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt term,
      Stmt::Prepare(db_,
                    "INSERT OR IGNORE INTO terms(testimony_seq, kind, value) VALUES(?1,?2,?3)"));
  std::string extra;
  auto add = [&](const google::protobuf::RepeatedPtrField<std::string>& values,
                 int kind) -> Status {
    for (const std::string& v : values) {
      if (v.empty()) continue;
      term.BindInt(1, seq).BindInt(2, kind).BindText(3, v);
      ESTELIK_RETURN_IF_ERROR(term.Run());
      term.Reset();
      extra += v;
      extra += '\n';
    }
    return Status::Ok();
  };
  ESTELIK_RETURN_IF_ERROR(add(f.tags(), kTermTag));
  ESTELIK_RETURN_IF_ERROR(add(f.places(), kTermPlace));
  ESTELIK_RETURN_IF_ERROR(add(f.people(), kTermPerson));
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt fts, Stmt::Prepare(db_, "INSERT INTO " + FtsShardName(FtsShardOf(seq)) +
                                       "(rowid, title, body, extra) VALUES(?1,?2,?3,?4)"));
  fts.BindInt(1, seq).BindText(2, f.title()).BindText(3, f.body()).BindText(4, extra);
  return fts.Run();
}

// --- Mutations ---

Status Store::CreateTestimony(const NewTestimony& t, const crypto::SecretBytes& content_key) {
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(t.id, kTestimonyIdSize, "testimony id"));
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(t.author, kAuthorSize, "author"));
  if (content_key.size() != kContentKeySize) return InvalidArgument("content key must be 32 bytes");
  std::string fields;
  ESTELIK_RETURN_IF_ERROR(ValidateFields(t.fields, &fields));

  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  ESTELIK_ASSIGN_OR_RETURN(Stmt exists,
                           Stmt::Prepare(db_, "SELECT 1 FROM testimonies WHERE id = ?1"));
  exists.BindBlob(1, t.id);
  ESTELIK_ASSIGN_OR_RETURN(bool taken, exists.Step());
  if (taken) return AlreadyExists("testimony " + Hex(t.id) + " already exists");
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt ins, Stmt::Prepare(db_,
                              "INSERT INTO testimonies(id, author, created_wall, created_counter, "
                              "recorded_ms, current_version, updated_wall, updated_counter, "
                              "withdrawn, content_key) VALUES(?1,?2,?3,?4,?5,1,?3,?4,0,?6)"));
  ins.BindBlob(1, t.id)
      .BindBlob(2, t.author)
      .BindInt(3, static_cast<int64_t>(t.created.wall_ms()))
      .BindInt(4, static_cast<int64_t>(t.created.counter()))
      .BindInt(5, static_cast<int64_t>(t.recorded_unix_ms))
      .BindBlob(6, content_key.span());
  ESTELIK_RETURN_IF_ERROR(ins.Run());
  int64_t seq = sqlite3_last_insert_rowid(db_);
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt ver, Stmt::Prepare(db_,
                              "INSERT INTO versions(testimony_seq, version, hlc_wall, hlc_counter, "
                              "author, fields, content_hash) VALUES(?1,1,?2,?3,?4,?5,?6)"));
  ver.BindInt(1, seq)
      .BindInt(2, static_cast<int64_t>(t.created.wall_ms()))
      .BindInt(3, static_cast<int64_t>(t.created.counter()))
      .BindBlob(4, t.author)
      .BindBlob(5, fields)
      .BindBlob(6, HashBytes(fields));
  ESTELIK_RETURN_IF_ERROR(ver.Run());
  ESTELIK_RETURN_IF_ERROR(IndexCurrent(seq, t.fields, false));
  return tx.Commit();
}

Result<uint32_t> Store::EditTestimony(std::string_view id, std::string_view author,
                                      const pb::Hlc& hlc, const pb::TestimonyFields& fields) {
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(id, kTestimonyIdSize, "testimony id"));
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(author, kAuthorSize, "author"));
  std::string bytes;
  ESTELIK_RETURN_IF_ERROR(ValidateFields(fields, &bytes));
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(db_,
                            "SELECT seq, author, current_version, withdrawn FROM testimonies "
                            "WHERE id = ?1"));
  s.BindBlob(1, id);
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("no testimony " + Hex(id));
  if (s.Int(3) != 0)
    return NotFound("testimony " + Hex(id) + " was withdrawn; it cannot be edited");
  if (s.Blob(1) != author) return PermissionDenied("only the author may edit testimony " + Hex(id));
  int64_t seq = s.Int(0);
  uint32_t version = static_cast<uint32_t>(s.Int(2)) + 1;
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt ver, Stmt::Prepare(db_,
                              "INSERT INTO versions(testimony_seq, version, hlc_wall, hlc_counter, "
                              "author, fields, content_hash) VALUES(?1,?2,?3,?4,?5,?6,?7)"));
  ver.BindInt(1, seq)
      .BindInt(2, version)
      .BindInt(3, static_cast<int64_t>(hlc.wall_ms()))
      .BindInt(4, static_cast<int64_t>(hlc.counter()))
      .BindBlob(5, author)
      .BindBlob(6, bytes)
      .BindBlob(7, HashBytes(bytes));
  ESTELIK_RETURN_IF_ERROR(ver.Run());
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt up, Stmt::Prepare(db_,
                             "UPDATE testimonies SET current_version = ?2, updated_wall = ?3, "
                             "updated_counter = ?4 WHERE seq = ?1"));
  up.BindInt(1, seq)
      .BindInt(2, version)
      .BindInt(3, static_cast<int64_t>(hlc.wall_ms()))
      .BindInt(4, static_cast<int64_t>(hlc.counter()));
  ESTELIK_RETURN_IF_ERROR(up.Run());
  ESTELIK_RETURN_IF_ERROR(IndexCurrent(seq, fields, true));
  ESTELIK_RETURN_IF_ERROR(tx.Commit());
  return version;
}

Status Store::Withdraw(std::string_view id, std::string_view author, const pb::Hlc& hlc,
                       std::string_view tombstone_hash) {
  if (!tombstone_hash.empty() && tombstone_hash.size() != kHashSize)
    return InvalidArgument("tombstone hash must be 32 bytes");
  ESTELIK_RETURN_IF_ERROR(DestroyContent(id, author, hlc, tombstone_hash));
  // After every statement of DestroyContent is finalized: a checkpoint cannot run while one
  // is still open on the connection.
  return PurgeWal();
}

// Withdraw() without the WAL purge.
Status Store::DestroyContent(std::string_view id, std::string_view author, const pb::Hlc& hlc,
                             std::string_view tombstone_hash) {
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(id, kTestimonyIdSize, "testimony id"));
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(author, kAuthorSize, "author"));
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_));
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(db_, "SELECT seq, author, withdrawn FROM testimonies WHERE id = ?1"));
  s.BindBlob(1, id);
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("no testimony " + Hex(id));
  if (s.Blob(1) != author)
    return PermissionDenied("only the author may withdraw testimony " + Hex(id));
  if (s.Int(2) != 0) return Status::Ok();  // already a tombstone (Withdraw retries the purge)
  int64_t seq = s.Int(0);

  std::string tombstone(tombstone_hash);
  if (tombstone.empty()) {
    std::string material;
    ESTELIK_RETURN_IF_ERROR(TombstoneMaterial(seq, id, &material));
    tombstone = HashBytes(material);
  }
  ESTELIK_RETURN_IF_ERROR(DestroyTagsAndAnnotations(id));

  ESTELIK_ASSIGN_OR_RETURN(
      Stmt erase, Stmt::Prepare(db_,
                                "DELETE FROM chunks WHERE attachment_id IN (SELECT id FROM "
                                "attachments WHERE testimony_seq = ?1)"));
  ESTELIK_RETURN_IF_ERROR(erase.BindInt(1, seq).Run());
  for (const char* sql : {"DELETE FROM attachments WHERE testimony_seq = ?1",
                          "DELETE FROM versions WHERE testimony_seq = ?1",
                          "DELETE FROM terms WHERE testimony_seq = ?1"}) {
    ESTELIK_ASSIGN_OR_RETURN(Stmt d, Stmt::Prepare(db_, sql));
    ESTELIK_RETURN_IF_ERROR(d.BindInt(1, seq).Run());
  }
  // current_version = 0: no version is left, and every replica (and a rebuild that no longer
  // holds the redacted private versions) agrees on the tombstone.
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt up, Stmt::Prepare(db_,
                             "UPDATE testimonies SET withdrawn = 1, tombstone_hash = ?2, "
                             "content_key = NULL, recorded_ms = 0, language = '', "
                             "consent_scope = 0, event_from = NULL, event_to = NULL, "
                             "current_version = 0, updated_wall = ?3, updated_counter = ?4 "
                             "WHERE seq = ?1"));
  up.BindInt(1, seq)
      .BindBlob(2, tombstone)
      .BindInt(3, static_cast<int64_t>(hlc.wall_ms()))
      .BindInt(4, static_cast<int64_t>(hlc.counter()));
  ESTELIK_RETURN_IF_ERROR(up.Run());
  // FTS5 keeps deleted tokens in its index segments until they are merged: rewrite the
  // testimony's shard so no word of it stays behind (secure_delete zeroes the old pages). One
  // shard of kFtsShards: the cost is 1/kFtsShards of rewriting the whole index (SQLite 3.40's
  // FTS5 has no secure-delete option).
  ESTELIK_RETURN_IF_ERROR(DeleteFromFtsIndex(db_, seq));
  const std::string shard = FtsShardName(FtsShardOf(seq));
  ESTELIK_RETURN_IF_ERROR(
      Exec(db_, ("INSERT INTO " + shard + "(" + shard + ") VALUES('optimize')").c_str()));
  return tx.Commit();
}

Result<std::string> Store::TombstoneHash(std::string_view id) {
  bool withdrawn = false;
  ESTELIK_ASSIGN_OR_RETURN(int64_t seq, SeqOf(id, &withdrawn));
  if (withdrawn) return NotFound("testimony " + Hex(id) + " is already withdrawn");
  std::string material;
  ESTELIK_RETURN_IF_ERROR(TombstoneMaterial(seq, id, &material));
  return HashBytes(material);
}

// Tombstone: BLAKE2b-256("estelik-tombstone-v1" || id || each version's content hash in
// version order || each complete attachment's content hash in id order).
Status Store::TombstoneMaterial(int64_t seq, std::string_view id, std::string* out) {
  std::string& material = *out;
  material = "estelik-tombstone-v1";
  material += id;
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt vh, Stmt::Prepare(db_,
                             "SELECT content_hash FROM versions WHERE testimony_seq = ?1 ORDER BY "
                             "version"));
  vh.BindInt(1, seq);
  ESTELIK_RETURN_IF_ERROR(
      sql::ForEachRow(vh, [&](const sql::Stmt& row) { material += row.Blob(0); }));
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt ah, Stmt::Prepare(db_,
                             "SELECT content_hash FROM attachments WHERE testimony_seq = ?1 AND "
                             "state = 2 ORDER BY id"));
  ah.BindInt(1, seq);
  return sql::ForEachRow(ah, [&](const sql::Stmt& row) { material += row.Blob(0); });
}

// --- Reads ---

Result<pb::Testimony> Store::Get(std::string_view id) {
  ESTELIK_RETURN_IF_ERROR(CheckIdSize(id, kTestimonyIdSize, "testimony id"));
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(db_,
                            "SELECT t.seq, t.id, t.author, t.created_wall, t.created_counter, "
                            "t.recorded_ms, t.current_version, t.withdrawn, t.tombstone_hash, "
                            "t.updated_wall, t.updated_counter, v.fields FROM testimonies t "
                            "LEFT JOIN versions v ON v.testimony_seq = t.seq AND v.version = "
                            "t.current_version WHERE t.id = ?1"));
  s.BindBlob(1, id);
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("no testimony " + Hex(id));
  pb::Testimony t;
  int64_t seq = s.Int(0);
  t.set_id(s.Blob(1));
  t.set_author(s.Blob(2));
  ReadHlc(s, 3, t.mutable_created());
  t.set_recorded_unix_ms(static_cast<uint64_t>(s.Int(5)));
  t.set_current_version(static_cast<uint32_t>(s.Int(6)));
  t.set_withdrawn(s.Int(7) != 0);
  t.set_tombstone_hash(s.Blob(8));
  ReadHlc(s, 9, t.mutable_updated());
  if (!t.withdrawn()) {
    if (s.IsNull(11) || !t.mutable_fields()->ParseFromString(s.Blob(11)))
      return Corrupt("store.db: testimony " + Hex(id) + " has unreadable content");
  }
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt a, Stmt::Prepare(db_, std::string("SELECT ") + kAttachmentColumns +
                                     " FROM attachments a JOIN testimonies t ON t.seq = "
                                     "a.testimony_seq WHERE a.testimony_seq = ?1 AND a.state = 2 "
                                     "ORDER BY a.added_wall, a.added_counter, a.id"));
  a.BindInt(1, seq);
  ESTELIK_RETURN_IF_ERROR(
      sql::ForEachRow(a, [&](const sql::Stmt& row) { ReadAttachment(row, t.add_attachments()); }));
  ESTELIK_RETURN_IF_ERROR(FillTagsAndAnnotations(&t));
  return t;
}

Result<pb::History> Store::History(std::string_view id) {
  ESTELIK_ASSIGN_OR_RETURN(int64_t seq, SeqOf(id));
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(db_,
                            "SELECT version, hlc_wall, hlc_counter, author, fields, content_hash "
                            "FROM versions WHERE testimony_seq = ?1 ORDER BY version"));
  s.BindInt(1, seq);
  pb::History h;
  ESTELIK_RETURN_IF_ERROR(sql::ForEachRow(s, [&](const sql::Stmt& row) -> Status {
    pb::TestimonyVersion* v = h.add_versions();
    v->set_testimony_id(std::string(id));
    v->set_version(static_cast<uint32_t>(row.Int(0)));
    ReadHlc(row, 1, v->mutable_hlc());
    v->set_author(row.Blob(3));
    if (!v->mutable_fields()->ParseFromString(row.Blob(4)))
      return Corrupt("store.db: testimony " + Hex(id) + " version " + std::to_string(row.Int(0)) +
                     " is unreadable");
    v->set_content_hash(row.Blob(5));
    return Status::Ok();
  }));
  return h;
}

Result<pb::TestimonyPage> Store::List(const pb::ListFilter& filter, const pb::PageRequest& page) {
  uint32_t limit = page.limit() == 0 ? kDefaultPageSize : std::min(page.limit(), kMaxPageSize);
  std::string sql = "SELECT t.id, t.created_wall, t.created_counter FROM testimonies t WHERE 1";
  std::vector<Param> params;
  if (!filter.include_withdrawn()) sql += " AND t.withdrawn = 0";
  ESTELIK_RETURN_IF_ERROR(AppendFilter(filter, &sql, &params));
  if (!page.cursor().empty()) {
    const std::string& c = page.cursor();
    if (c.size() != 1 + 8 + 8 + kTestimonyIdSize ||
        static_cast<uint8_t>(c[0]) != kListCursorVersion)
      return InvalidArgument("paging cursor is malformed; start again without a cursor");
    sql += " AND (t.created_wall, t.created_counter, t.id) < (?, ?, ?)";
    params.push_back(Num(static_cast<int64_t>(GetU64(c, 1))));
    params.push_back(Num(static_cast<int64_t>(GetU64(c, 9))));
    params.push_back(Blob(c.substr(17)));
  }
  sql += " ORDER BY t.created_wall DESC, t.created_counter DESC, t.id DESC LIMIT ?";
  params.push_back(Num(limit + 1));
  ESTELIK_ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_, sql));
  BindAll(s, params);
  pb::TestimonyPage out;
  std::vector<std::string> ids;
  std::string last_cursor;
  // LIMIT limit + 1: a row past the page says there is a next page, which starts after the
  // page's last row.
  ESTELIK_RETURN_IF_ERROR(sql::ForEachRow(s, [&](const sql::Stmt& row) {
    if (ids.size() == limit) {
      out.set_next_cursor(last_cursor);
      return;
    }
    ids.push_back(row.Blob(0));
    last_cursor.assign(1, static_cast<char>(kListCursorVersion));
    PutU64(&last_cursor, static_cast<uint64_t>(row.Int(1)));
    PutU64(&last_cursor, static_cast<uint64_t>(row.Int(2)));
    last_cursor += ids.back();
  }));
  for (const std::string& id : ids) {
    ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, Get(id));
    *out.add_testimonies() = std::move(t);
  }
  return out;
}

// Search, in named steps (docs/FORMAT.md "Search cost bound"). The index is kFtsShards FTS5
// tables (a testimony is in exactly one), so a step that reads the index is one compound
// SELECT with an arm per shard (ShardArms).
namespace {

// What a query asks for, as the steps need it.
struct SearchPlan {
  std::string match;  // the FTS5 expression (query.h)
  bool disjunction;   // IsDisjunction(match)
  std::string filter_sql;
  std::vector<Param> filter_params;
  uint32_t limit;
  bool have_cursor = false;
  double cursor_rank = 0;
  int64_t cursor_seq = 0;
  int64_t cut = 0;  // rank only matches with seq > cut (0: every match)
};

Status ReadSearchCursor(const std::string& c, SearchPlan* plan) {
  if (c.size() != 1 + 8 + 8 + 8 || static_cast<uint8_t>(c[0]) != kSearchCursorVersion)
    return InvalidArgument("paging cursor is malformed; start again without a cursor");
  plan->have_cursor = true;
  const uint64_t bits = GetU64(c, 1);
  std::memcpy(&plan->cursor_rank, &bits, sizeof plan->cursor_rank);
  plan->cursor_seq = static_cast<int64_t>(GetU64(c, 9));
  plan->cut = static_cast<int64_t>(GetU64(c, 17));  // later pages rank the first page's window
  return Status::Ok();
}

// Version byte, the rank's IEEE-754 bits, the last hit's seq (ties are broken by seq), the cut.
std::string SearchCursor(double rank, int64_t seq, int64_t cut) {
  std::string cursor(1, static_cast<char>(kSearchCursorVersion));
  uint64_t bits;
  std::memcpy(&bits, &rank, sizeof bits);
  PutU64(&cursor, bits);
  PutU64(&cursor, static_cast<uint64_t>(seq));
  PutU64(&cursor, static_cast<uint64_t>(cut));
  return cursor;
}

// "SELECT <columns> FROM <shard> [CROSS JOIN testimonies t] WHERE <shard> MATCH ? <filters>
// <tail>" for every shard, joined by UNION ALL; '$' in `columns` and `tail` stands for the
// shard's table. Appends each arm's parameters (the match, the filters', `tail_params`). With
// filters FTS stays the outer loop (CROSS JOIN): the planner otherwise scans the filter index
// and re-runs MATCH once per row, 10-100x slower.
std::string ShardArms(const SearchPlan& plan, const std::string& columns, const std::string& tail,
                      const std::vector<Param>& tail_params, std::vector<Param>* params) {
  std::string sql;
  for (int k = 0; k < kFtsShards; ++k) {
    const std::string fts = FtsShardName(k);
    auto sub = [&](std::string s) {
      for (size_t at = s.find('$'); at != std::string::npos; at = s.find('$', at + fts.size()))
        s.replace(at, 1, fts);
      return s;
    };
    if (k > 0) sql += " UNION ALL ";
    sql += "SELECT " + sub(columns) + " FROM " + fts;
    if (!plan.filter_sql.empty()) sql += " CROSS JOIN testimonies t ON t.seq = " + fts + ".rowid";
    sql += " WHERE " + fts + " MATCH ?" + plan.filter_sql + sub(tail);
    params->push_back(Text(plan.match));
    params->insert(params->end(), plan.filter_params.begin(), plan.filter_params.end());
    params->insert(params->end(), tail_params.begin(), tail_params.end());
  }
  return sql;
}

// Rows and tokens of the whole index: every shard's FTS5 averages record.
Status AddIndexTotals(sqlite3* db, RankStats* stats) {
  std::string sql;
  for (int k = 0; k < kFtsShards; ++k) {
    if (k > 0) sql += " UNION ALL ";
    sql += "SELECT block FROM " + FtsShardName(k) + "_data WHERE id = 1";
  }
  ESTELIK_ASSIGN_OR_RETURN(Stmt totals, Stmt::Prepare(db, sql));
  return sql::ForEachRow(totals,
                         [&](const sql::Stmt& row) { return stats->AddTotals(row.Blob(0)); });
}

// Rows per phrase over the whole index (filters do not change them): in every shard where any
// phrase occurs, a walk of each phrase's doclist (estelik_match_stats).
Status AddPhraseWalk(sqlite3* db, const std::string& match, RankStats* stats) {
  std::string sql;
  std::vector<Param> params;
  for (int k = 0; k < kFtsShards; ++k) {  // every arm needs its own LIMIT 1: a subquery each
    const std::string fts = FtsShardName(k);
    if (k > 0) sql += " UNION ALL ";
    sql += "SELECT * FROM (SELECT estelik_match_stats(" + fts + ") FROM " + fts + " WHERE " + fts +
           " MATCH ? LIMIT 1)";
    params.push_back(Text(PhraseUnion(match)));
  }
  ESTELIK_ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db, sql));
  BindAll(s, params);
  return sql::ForEachRow(s,
                         [&](const sql::Stmt& row) { return stats->AddPhraseRows(row.Blob(0)); });
}

// The rows of the window above `cut`, estimated from the seq range (seqs are dense but for
// withdrawals): the collection a windowed IDF is taken over. At least `matched`.
Status SetWindowRows(sqlite3* db, int64_t cut, size_t matched, RankStats* stats) {
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s,
      Stmt::Prepare(
          db, "SELECT (SELECT min(seq) FROM testimonies), (SELECT max(seq) FROM testimonies)"));
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return Internal("store: an aggregate yielded no row");
  const double lo = static_cast<double>(s.Int(0)), hi = static_cast<double>(s.Int(1));
  const double share = hi >= lo ? (hi - static_cast<double>(cut)) / (hi - lo + 1) : 1;
  stats->rows = std::clamp(stats->index_rows * share, static_cast<double>(matched),
                           std::max(stats->index_rows, static_cast<double>(matched)));
  return Status::Ok();
}

struct Candidate {
  int64_t seq;
  RankFeatures features;
};

// The matches to rank, with their bm25 inputs, in one pass over the shards' doclists newest
// first (SQLite merges the ordered arms, so this costs O(max_ranked)): on a first page the
// max_ranked most recent (more matched: plan->cut becomes the seq of the next one), on a later
// page every match above the cursor's cut.
Result<std::vector<Candidate>> CollectCandidates(sqlite3* db, uint32_t max_ranked,
                                                 SearchPlan* plan) {
  std::vector<Param> params;
  std::string sql = ShardArms(*plan, "$.rowid, estelik_rank_features($)", " AND $.rowid > ?",
                              {Num(plan->cut)}, &params);
  if (!plan->have_cursor) {
    sql += " ORDER BY 1 DESC LIMIT ?";
    params.push_back(Num(static_cast<int64_t>(max_ranked) + 1));
  }
  ESTELIK_ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db, sql));
  BindAll(s, params);
  std::vector<Candidate> out;
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ESTELIK_ASSIGN_OR_RETURN(RankFeatures f, RankFeatures::Decode(s.Blob(1)));
    if (!out.empty() && f.freq.size() != out[0].features.freq.size())
      return Corrupt("search index shards disagree on the query's phrases");
    out.push_back({s.Int(0), std::move(f)});
  }
  if (!plan->have_cursor && out.size() > max_ranked) {
    plan->cut = out.back().seq;
    out.pop_back();
  }
  return out;
}

// The statistics bm25 takes (core/store/rank.h says where the rows per phrase come from).
Result<RankStats> SearchStats(sqlite3* db, const SearchPlan& plan,
                              const std::vector<Candidate>& candidates) {
  RankStats stats;
  ESTELIK_RETURN_IF_ERROR(AddIndexTotals(db, &stats));
  if (plan.disjunction && plan.filter_sql.empty()) {
    for (const Candidate& c : candidates) stats.CountCandidate(c.features);
    if (plan.cut > 0)
      ESTELIK_RETURN_IF_ERROR(SetWindowRows(db, plan.cut, candidates.size(), &stats));
  } else {
    ESTELIK_RETURN_IF_ERROR(AddPhraseWalk(db, plan.match, &stats));
  }
  if (stats.phrase_rows.size() != candidates[0].features.freq.size())
    return Corrupt("search index statistics disagree with the query's phrases");
  stats.Finish();
  return stats;
}

struct Ranked {
  int64_t seq;
  double rank;
};

// The page: candidates after the cursor in (rank, seq) order, at most limit + 1 (one more
// than the page tells whether there is a next one).
std::vector<Ranked> RankPage(const std::vector<Candidate>& candidates, const RankStats& stats,
                             const SearchPlan& plan) {
  std::vector<Ranked> ranked;
  ranked.reserve(candidates.size());
  for (const Candidate& c : candidates) {
    const double r = stats.Rank(c.features);
    if (plan.have_cursor &&
        !(r > plan.cursor_rank || (r == plan.cursor_rank && c.seq > plan.cursor_seq)))
      continue;
    ranked.push_back({c.seq, r});
  }
  const size_t keep = std::min<size_t>(ranked.size(), static_cast<size_t>(plan.limit) + 1);
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<ptrdiff_t>(keep), ranked.end(),
                    [](const Ranked& a, const Ranked& b) {
                      return a.rank != b.rank ? a.rank < b.rank : a.seq < b.seq;
                    });
  ranked.resize(keep);
  return ranked;
}

// Snippets (core/store/snippet.h) and display columns of the page's hits: one rowid lookup
// each in its shard's stored text.
Status AddHits(sqlite3* db, const std::string& match, const std::vector<Ranked>& ranked,
               pb::SearchPage* out) {
  const SnippetQuery snippets(match);
  std::map<int, Stmt> shows;  // one prepared statement per shard that has a hit
  for (const Ranked& r : ranked) {
    const int k = FtsShardOf(r.seq);
    auto it = shows.find(k);
    if (it == shows.end()) {
      const std::string fts = FtsShardName(k);
      ESTELIK_ASSIGN_OR_RETURN(
          Stmt show, Stmt::Prepare(db,
                                   "SELECT t.id, f.title, f.body, t.language, t.updated_wall, "
                                   "t.updated_counter FROM " +
                                       fts +
                                       " f CROSS JOIN testimonies t ON t.seq = f.rowid "
                                       "WHERE f.rowid = ?1"));
      it = shows.emplace(k, std::move(show)).first;
    }
    Stmt& show = it->second;
    show.BindInt(1, r.seq);
    ESTELIK_ASSIGN_OR_RETURN(bool row, show.Step());
    if (!row) return Internal("store: search hit " + std::to_string(r.seq) + " vanished");
    pb::SearchHit* h = out->add_hits();
    h->set_testimony_id(show.Blob(0));
    h->set_rank(r.rank);
    const std::string title = show.Text(1);
    h->set_title_snippet(snippets.Snippet(title, 12, kHighlightOpen, kHighlightClose, "…"));
    h->set_body_snippet(snippets.Snippet(show.Text(2), 24, kHighlightOpen, kHighlightClose, "…"));
    h->set_language(show.Text(3));
    h->set_title(title);
    ReadHlc(show, 4, h->mutable_updated());
    show.Reset();
  }
  return Status::Ok();
}

}  // namespace

// Cost is bounded by max_ranked_, not by how many testimonies a word occurs in, but for the
// doclist walk of a query that is not a disjunction (rank.h).
Result<pb::SearchPage> Store::Search(const pb::SearchQuery& query) {
  pb::SearchPage out;
  out.set_highlight_open(kHighlightOpen);
  out.set_highlight_close(kHighlightClose);
  SearchPlan plan;
  plan.match = BuildMatchExpression(query.text());
  if (plan.match.empty()) return out;  // nothing to look for ("", "*", "-strike")
  plan.disjunction = IsDisjunction(plan.match);
  const pb::PageRequest& page = query.page();
  plan.limit = page.limit() == 0 ? kDefaultPageSize : std::min(page.limit(), kMaxPageSize);
  if (!page.cursor().empty()) ESTELIK_RETURN_IF_ERROR(ReadSearchCursor(page.cursor(), &plan));
  ESTELIK_RETURN_IF_ERROR(AppendFilter(query.filter(), &plan.filter_sql, &plan.filter_params));

  ESTELIK_RETURN_IF_ERROR(interrupt_.Check("searching"));
  ESTELIK_ASSIGN_OR_RETURN(std::vector<Candidate> candidates,
                           CollectCandidates(db_, max_ranked_, &plan));
  out.set_ranked_recent_only(plan.cut > 0);
  if (candidates.empty()) return out;
  // A panic-lock interrupts the running statement; between statements it is seen here.
  ESTELIK_RETURN_IF_ERROR(interrupt_.Check("searching"));
  ESTELIK_ASSIGN_OR_RETURN(RankStats stats, SearchStats(db_, plan, candidates));
  ESTELIK_RETURN_IF_ERROR(interrupt_.Check("searching"));
  std::vector<Ranked> ranked = RankPage(candidates, stats, plan);
  if (ranked.size() > plan.limit) {
    ranked.pop_back();
    out.set_next_cursor(SearchCursor(ranked.back().rank, ranked.back().seq, plan.cut));
  }
  ESTELIK_RETURN_IF_ERROR(AddHits(db_, plan.match, ranked, &out));
  return out;
}

Result<std::array<uint8_t, kHashSize>> Store::StateHash() {
  crypto_generichash_state h;
  crypto_generichash_init(&h, nullptr, 0, kHashSize);
  std::string buf = "estelik-store-state-v1";
  auto flush = [&] {
    crypto_generichash_update(&h, reinterpret_cast<const uint8_t*>(buf.data()), buf.size());
    buf.clear();
  };
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt t, Stmt::Prepare(db_,
                            "SELECT seq, id, author, created_wall, created_counter, recorded_ms, "
                            "current_version, updated_wall, updated_counter, withdrawn, "
                            "tombstone_hash FROM testimonies ORDER BY id"));
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt v, Stmt::Prepare(db_,
                            "SELECT version, hlc_wall, hlc_counter, author, content_hash FROM "
                            "versions WHERE testimony_seq = ?1 ORDER BY version"));
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt a, Stmt::Prepare(db_, std::string("SELECT ") + kAttachmentColumns +
                                     " FROM attachments a JOIN testimonies t ON t.seq = "
                                     "a.testimony_seq WHERE a.testimony_seq = ?1 AND a.state = 2 "
                                     "ORDER BY a.id"));
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, t.Step());
    if (!row) break;
    buf += 'T';
    PutBytes(&buf, t.Blob(1));
    PutBytes(&buf, t.Blob(2));
    for (int c = 3; c <= 9; ++c) PutU64(&buf, static_cast<uint64_t>(t.Int(c)));
    PutBytes(&buf, t.Blob(10));
    v.BindInt(1, t.Int(0));
    while (true) {
      ESTELIK_ASSIGN_OR_RETURN(bool vr, v.Step());
      if (!vr) break;
      buf += 'V';
      for (int c = 0; c <= 2; ++c) PutU64(&buf, static_cast<uint64_t>(v.Int(c)));
      PutBytes(&buf, v.Blob(3));
      PutBytes(&buf, v.Blob(4));
    }
    v.Reset();
    a.BindInt(1, t.Int(0));
    while (true) {
      ESTELIK_ASSIGN_OR_RETURN(bool ar, a.Step());
      if (!ar) break;
      pb::AttachmentInfo info;
      ReadAttachment(a, &info);
      buf += 'A';
      PutBytes(&buf, info.attachment_id());
      PutBytes(&buf, info.name());
      PutBytes(&buf, info.media_type());
      PutU64(&buf, static_cast<uint64_t>(info.kind()));
      PutU64(&buf, info.size());
      PutU64(&buf, info.chunk_size());
      PutU64(&buf, info.chunk_count());
      PutBytes(&buf, info.content_hash());
      PutU64(&buf, info.added().wall_ms());
      PutU64(&buf, info.added().counter());
      PutBytes(&buf, info.author());
    }
    a.Reset();
    ESTELIK_RETURN_IF_ERROR(AppendTagState(t.Blob(1), &buf));
    flush();
  }
  flush();
  std::array<uint8_t, kHashSize> out;
  crypto_generichash_final(&h, out.data(), out.size());
  return out;
}

}  // namespace estelik::store
