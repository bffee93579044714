#include "core/store/store.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "core/store/fold.h"
#include "core/store/query.h"
#include "core/store/rank.h"
#include "core/store/schema.h"
#include "core/store/sqlite_util.h"
#include "core/store/tokenizer.h"

namespace estelik::store {

using internal::AsBytes;
using internal::Exec;
using internal::Hex;
using internal::IsUtf8;
using internal::Stmt;
using internal::Transaction;

namespace {

constexpr uint32_t kDefaultPageSize = 50;
constexpr uint32_t kMaxPageSize = 500;
constexpr int kTermTag = 1;
constexpr int kTermPlace = 2;
constexpr int kTermPerson = 3;
constexpr uint8_t kListCursorVersion = 1;
constexpr uint8_t kSearchCursorVersion = 3;

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
  ESTELIK_RETURN_IF_ERROR(up.Bind(1, kFoldVersion).Run());
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

Status CheckId(std::string_view id, size_t size, const char* what) {
  if (id.size() != size) {
    return InvalidArgument(std::string(what) + " must be " + std::to_string(size) + " bytes, got " +
                           std::to_string(id.size()));
  }
  return Status::Ok();
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
  enum Kind { kNum, kReal, kText, kBlob } kind;
  int64_t num = 0;
  double real = 0;
  std::string bytes;
};
Param Num(int64_t v) { return {Param::kNum, v, 0, {}}; }
Param Text(std::string v) { return {Param::kText, 0, 0, std::move(v)}; }
Param Blob(std::string v) { return {Param::kBlob, 0, 0, std::move(v)}; }

void BindAll(Stmt& s, const std::vector<Param>& params) {
  for (size_t i = 0; i < params.size(); ++i) {
    int idx = static_cast<int>(i + 1);
    switch (params[i].kind) {
      case Param::kNum:
        s.Bind(idx, params[i].num);
        break;
      case Param::kReal:
        sqlite3_bind_double(s.get(), idx, params[i].real);
        break;
      case Param::kText:
        s.Bind(idx, std::string_view(params[i].bytes));
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
    // The author's tags (terms) or tags circle members added (tag_terms, store_tags.cc).
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
  ESTELIK_RETURN_IF_ERROR(CheckId(id, kTestimonyIdSize, "testimony id"));
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
  s.Bind(1, seq);
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
  up.Bind(1, seq).Bind(2, f.language()).Bind(3, static_cast<int64_t>(f.consent_scope()));
  std::string from = NormalizeDate(f.event_dates().from(), false);
  std::string to = NormalizeDate(f.event_dates().to(), true);
  if (from.empty())
    up.BindNull(4);
  else
    up.Bind(4, from);
  if (to.empty())
    up.BindNull(5);
  else
    up.Bind(5, to);
  ESTELIK_RETURN_IF_ERROR(up.Run());

  if (replace) {
    ESTELIK_ASSIGN_OR_RETURN(Stmt del,
                             Stmt::Prepare(db_, "DELETE FROM terms WHERE testimony_seq = ?1"));
    ESTELIK_RETURN_IF_ERROR(del.Bind(1, seq).Run());
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
      term.Bind(1, seq).Bind(2, kind).Bind(3, v);
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
  fts.Bind(1, seq).Bind(2, f.title()).Bind(3, f.body()).Bind(4, extra);
  return fts.Run();
}

// --- Mutations ---

Status Store::CreateTestimony(const NewTestimony& t, const crypto::SecretBytes& content_key) {
  ESTELIK_RETURN_IF_ERROR(CheckId(t.id, kTestimonyIdSize, "testimony id"));
  ESTELIK_RETURN_IF_ERROR(CheckId(t.author, kAuthorSize, "author"));
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
      .Bind(3, static_cast<int64_t>(t.created.wall_ms()))
      .Bind(4, static_cast<int64_t>(t.created.counter()))
      .Bind(5, static_cast<int64_t>(t.recorded_unix_ms))
      .BindBlob(6, content_key.span());
  ESTELIK_RETURN_IF_ERROR(ins.Run());
  int64_t seq = sqlite3_last_insert_rowid(db_);
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt ver, Stmt::Prepare(db_,
                              "INSERT INTO versions(testimony_seq, version, hlc_wall, hlc_counter, "
                              "author, fields, content_hash) VALUES(?1,1,?2,?3,?4,?5,?6)"));
  ver.Bind(1, seq)
      .Bind(2, static_cast<int64_t>(t.created.wall_ms()))
      .Bind(3, static_cast<int64_t>(t.created.counter()))
      .BindBlob(4, t.author)
      .BindBlob(5, fields)
      .BindBlob(6, HashBytes(fields));
  ESTELIK_RETURN_IF_ERROR(ver.Run());
  ESTELIK_RETURN_IF_ERROR(IndexCurrent(seq, t.fields, false));
  return tx.Commit();
}

Result<uint32_t> Store::EditTestimony(std::string_view id, std::string_view author,
                                      const pb::Hlc& hlc, const pb::TestimonyFields& fields) {
  ESTELIK_RETURN_IF_ERROR(CheckId(id, kTestimonyIdSize, "testimony id"));
  ESTELIK_RETURN_IF_ERROR(CheckId(author, kAuthorSize, "author"));
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
  ver.Bind(1, seq)
      .Bind(2, version)
      .Bind(3, static_cast<int64_t>(hlc.wall_ms()))
      .Bind(4, static_cast<int64_t>(hlc.counter()))
      .BindBlob(5, author)
      .BindBlob(6, bytes)
      .BindBlob(7, HashBytes(bytes));
  ESTELIK_RETURN_IF_ERROR(ver.Run());
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt up, Stmt::Prepare(db_,
                             "UPDATE testimonies SET current_version = ?2, updated_wall = ?3, "
                             "updated_counter = ?4 WHERE seq = ?1"));
  up.Bind(1, seq)
      .Bind(2, version)
      .Bind(3, static_cast<int64_t>(hlc.wall_ms()))
      .Bind(4, static_cast<int64_t>(hlc.counter()));
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
  ESTELIK_RETURN_IF_ERROR(CheckId(id, kTestimonyIdSize, "testimony id"));
  ESTELIK_RETURN_IF_ERROR(CheckId(author, kAuthorSize, "author"));
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
  ESTELIK_RETURN_IF_ERROR(erase.Bind(1, seq).Run());
  for (const char* sql : {"DELETE FROM attachments WHERE testimony_seq = ?1",
                          "DELETE FROM versions WHERE testimony_seq = ?1",
                          "DELETE FROM terms WHERE testimony_seq = ?1"}) {
    ESTELIK_ASSIGN_OR_RETURN(Stmt d, Stmt::Prepare(db_, sql));
    ESTELIK_RETURN_IF_ERROR(d.Bind(1, seq).Run());
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
  up.Bind(1, seq)
      .BindBlob(2, tombstone)
      .Bind(3, static_cast<int64_t>(hlc.wall_ms()))
      .Bind(4, static_cast<int64_t>(hlc.counter()));
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
  vh.Bind(1, seq);
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool more, vh.Step());
    if (!more) break;
    material += vh.Blob(0);
  }
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt ah, Stmt::Prepare(db_,
                             "SELECT content_hash FROM attachments WHERE testimony_seq = ?1 AND "
                             "state = 2 ORDER BY id"));
  ah.Bind(1, seq);
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool more, ah.Step());
    if (!more) break;
    material += ah.Blob(0);
  }
  return Status::Ok();
}

// --- Reads ---

Result<pb::Testimony> Store::Get(std::string_view id) {
  ESTELIK_RETURN_IF_ERROR(CheckId(id, kTestimonyIdSize, "testimony id"));
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
  a.Bind(1, seq);
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool more, a.Step());
    if (!more) break;
    ReadAttachment(a, t.add_attachments());
  }
  ESTELIK_RETURN_IF_ERROR(FillTagsAndAnnotations(&t));
  return t;
}

Result<pb::History> Store::History(std::string_view id) {
  ESTELIK_ASSIGN_OR_RETURN(int64_t seq, SeqOf(id));
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(db_,
                            "SELECT version, hlc_wall, hlc_counter, author, fields, content_hash "
                            "FROM versions WHERE testimony_seq = ?1 ORDER BY version"));
  s.Bind(1, seq);
  pb::History h;
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    pb::TestimonyVersion* v = h.add_versions();
    v->set_testimony_id(std::string(id));
    v->set_version(static_cast<uint32_t>(s.Int(0)));
    ReadHlc(s, 1, v->mutable_hlc());
    v->set_author(s.Blob(3));
    if (!v->mutable_fields()->ParseFromString(s.Blob(4)))
      return Corrupt("store.db: testimony " + Hex(id) + " version " + std::to_string(s.Int(0)) +
                     " is unreadable");
    v->set_content_hash(s.Blob(5));
  }
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
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    if (ids.size() == limit) {
      out.set_next_cursor(last_cursor);
      break;
    }
    ids.push_back(s.Blob(0));
    last_cursor.assign(1, static_cast<char>(kListCursorVersion));
    PutU64(&last_cursor, static_cast<uint64_t>(s.Int(1)));
    PutU64(&last_cursor, static_cast<uint64_t>(s.Int(2)));
    last_cursor += ids.back();
  }
  for (const std::string& id : ids) {
    ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, Get(id));
    *out.add_testimonies() = std::move(t);
  }
  return out;
}

// Search runs in four steps so its cost is bounded by kMaxRankedCandidates, not by how many
// testimonies a word occurs in. The index is kFtsShards FTS5 tables (a testimony is in exactly
// one), so each step is one compound SELECT with an arm per shard:
//  1. Statistics: in every shard with a match, estelik_match_stats (rows, tokens, rows per
//     phrase: a walk of each phrase's doclist, the pass bm25() makes for its IDF), summed so
//     that scores from different shards are comparable (core/store/rank.h).
//  2. Cut: the rowid of the (max_ranked_+1)-th most recent match. Each arm walks a doclist in
//     rowid order without scoring and SQLite merges the ordered arms, so this costs O(cap).
//     No such row: no cut.
//  3. Rank the matches above the cut with estelik_rank (bm25 on the summed statistics), page
//     with the (rank, seq) cursor, LIMIT n+1.
//  4. Snippets and display columns for the n hits only, one rowid lookup each in its shard
//     (snippet() re-tokenizes the document, far too costly to run for every candidate).
// With filters, FTS stays the outer loop (CROSS JOIN): the planner otherwise scans the filter
// index and re-runs MATCH once per row, 10-100x slower.
Result<pb::SearchPage> Store::Search(const pb::SearchQuery& query) {
  const std::string match = BuildMatchExpression(query.text());
  if (match.empty()) {  // nothing to look for ("", "*", "-strike"): any text is valid
    pb::SearchPage none;
    none.set_highlight_open(kHighlightOpen);
    none.set_highlight_close(kHighlightClose);
    return none;
  }
  const pb::PageRequest& page = query.page();
  uint32_t limit = page.limit() == 0 ? kDefaultPageSize : std::min(page.limit(), kMaxPageSize);

  std::string filter_sql;
  std::vector<Param> filter_params;
  ESTELIK_RETURN_IF_ERROR(AppendFilter(query.filter(), &filter_sql, &filter_params));

  // "SELECT <columns> FROM <shard> ... WHERE <shard> MATCH ? <filters> <tail>" for every shard,
  // joined by UNION ALL; '$' in `columns` and `tail` stands for the shard's table. `params`
  // receives each arm's parameters in order (the match, the filters', then `tail_params`).
  auto compound = [&](const std::string& columns, bool filtered, const std::string& tail,
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
      if (filtered && !filter_sql.empty())
        sql += " CROSS JOIN testimonies t ON t.seq = " + fts + ".rowid";
      sql += " WHERE " + fts + " MATCH ?";
      params->push_back(Text(match));
      if (filtered) {
        sql += filter_sql;
        params->insert(params->end(), filter_params.begin(), filter_params.end());
      }
      sql += sub(tail);
      params->insert(params->end(), tail_params.begin(), tail_params.end());
    }
    return sql;
  };

  // 1. Statistics over the whole index, as bm25() takes them (filters do not change them):
  // every shard's totals, and the rows per phrase of every shard where any phrase occurs.
  RankStats stats;
  {
    std::string sql;
    for (int k = 0; k < kFtsShards; ++k) {
      if (k > 0) sql += " UNION ALL ";
      sql += "SELECT block FROM " + FtsShardName(k) + "_data WHERE id = 1";
    }
    ESTELIK_ASSIGN_OR_RETURN(Stmt totals, Stmt::Prepare(db_, sql));
    while (true) {
      ESTELIK_ASSIGN_OR_RETURN(bool row, totals.Step());
      if (!row) break;
      ESTELIK_RETURN_IF_ERROR(stats.AddTotals(totals.Blob(0)));
    }
    std::vector<Param> params;
    sql.clear();
    for (int k = 0; k < kFtsShards; ++k) {  // every arm needs its own LIMIT 1: a subquery each
      const std::string fts = FtsShardName(k);
      if (k > 0) sql += " UNION ALL ";
      sql += "SELECT * FROM (SELECT estelik_match_stats(" + fts + ") FROM " + fts + " WHERE " +
             fts + " MATCH ? LIMIT 1)";
      params.push_back(Text(PhraseUnion(match)));
    }
    ESTELIK_ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_, sql));
    BindAll(s, params);
    while (true) {
      ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      ESTELIK_RETURN_IF_ERROR(stats.AddPhraseRows(s.Blob(0)));
    }
    stats.Finish();
  }

  bool have_cursor = !page.cursor().empty();
  double cursor_rank = 0;
  int64_t cursor_seq = 0, cut = 0;
  if (have_cursor) {
    const std::string& c = page.cursor();
    if (c.size() != 1 + 8 + 8 + 8 || static_cast<uint8_t>(c[0]) != kSearchCursorVersion)
      return InvalidArgument("paging cursor is malformed; start again without a cursor");
    uint64_t bits = GetU64(c, 1);
    std::memcpy(&cursor_rank, &bits, sizeof cursor_rank);
    cursor_seq = static_cast<int64_t>(GetU64(c, 9));
    cut = static_cast<int64_t>(GetU64(c, 17));  // later pages rank the first page's candidates
  } else if (!stats.phrase_rows.empty()) {
    // 2. The cut.
    std::vector<Param> params;
    std::string sql =
        compound("$.rowid", true, "", {}, &params) + " ORDER BY 1 DESC LIMIT 1 OFFSET ?";
    params.push_back(Num(static_cast<int64_t>(max_ranked_)));
    ESTELIK_ASSIGN_OR_RETURN(Stmt c, Stmt::Prepare(db_, sql));
    BindAll(c, params);
    ESTELIK_ASSIGN_OR_RETURN(bool over, c.Step());
    if (over) cut = c.Int(0);
  }

  // 3. Rank. Parameter 1 is the statistics pointer, shared by every arm.
  struct Ranked {
    int64_t seq;
    double rank;
  };
  std::vector<Ranked> ranked;
  if (!stats.phrase_rows.empty()) {
    std::vector<Param> tail_params = {Num(cut)};
    std::string tail = " AND $.rowid > ?";
    if (have_cursor) {
      tail += " AND (r > ? OR (r = ? AND $.rowid > ?))";
      Param r{Param::kReal, 0, cursor_rank, {}};
      tail_params.insert(tail_params.end(), {r, r, Num(cursor_seq)});
    }
    std::vector<Param> params = {Num(0)};  // ?1: replaced by the pointer below
    std::string sql =
        compound("$.rowid, estelik_rank($, ?1) AS r", true, tail, tail_params, &params) +
        " ORDER BY 2, 1 LIMIT ?";
    params.push_back(Num(static_cast<int64_t>(limit) + 1));
    ESTELIK_ASSIGN_OR_RETURN(Stmt rank, Stmt::Prepare(db_, sql));
    BindAll(rank, params);
    sqlite3_bind_pointer(rank.get(), 1, &stats, kRankStatsPointerType, nullptr);
    while (true) {
      ESTELIK_ASSIGN_OR_RETURN(bool row, rank.Step());
      if (!row) break;
      ranked.push_back({rank.Int(0), rank.Double(1)});
    }
  }

  pb::SearchPage out;
  if (ranked.size() > limit) {
    ranked.pop_back();
    // Cursor: version byte, the rank's IEEE-754 bits, the last hit's seq (ties broken by seq),
    // the candidate cut.
    std::string cursor(1, static_cast<char>(kSearchCursorVersion));
    uint64_t b;
    std::memcpy(&b, &ranked.back().rank, sizeof b);
    PutU64(&cursor, b);
    PutU64(&cursor, static_cast<uint64_t>(ranked.back().seq));
    PutU64(&cursor, static_cast<uint64_t>(cut));
    out.set_next_cursor(cursor);
  }
  out.set_ranked_recent_only(cut > 0);

  // 4. Snippets, one prepared statement per shard that has a hit.
  std::map<int, Stmt> shows;
  for (const Ranked& r : ranked) {
    const int k = FtsShardOf(r.seq);
    auto it = shows.find(k);
    if (it == shows.end()) {
      const std::string fts = FtsShardName(k);
      ESTELIK_ASSIGN_OR_RETURN(
          Stmt show,
          Stmt::Prepare(db_, "SELECT t.id, snippet(" + fts + ", 0, ?1, ?2, '…', 12), snippet(" +
                                 fts + ", 1, ?1, ?2, '…', 24), t.language, " + fts +
                                 ".title, t.updated_wall, t.updated_counter FROM " + fts +
                                 " CROSS JOIN testimonies t ON t.seq = " + fts + ".rowid WHERE " +
                                 fts + " MATCH ?3 AND " + fts + ".rowid = ?4"));
      it = shows.emplace(k, std::move(show)).first;
    }
    Stmt& show = it->second;
    show.Bind(1, std::string_view(kHighlightOpen)).Bind(2, std::string_view(kHighlightClose));
    show.Bind(3, match).Bind(4, r.seq);
    ESTELIK_ASSIGN_OR_RETURN(bool row, show.Step());
    if (!row) return Internal("store: search hit " + std::to_string(r.seq) + " vanished");
    pb::SearchHit* h = out.add_hits();
    h->set_testimony_id(show.Blob(0));
    h->set_rank(r.rank);
    h->set_title_snippet(show.Text(1));
    h->set_body_snippet(show.Text(2));
    h->set_language(show.Text(3));
    h->set_title(show.Text(4));
    ReadHlc(show, 5, h->mutable_updated());
    show.Reset();
  }
  out.set_highlight_open(kHighlightOpen);
  out.set_highlight_close(kHighlightClose);
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
    v.Bind(1, t.Int(0));
    while (true) {
      ESTELIK_ASSIGN_OR_RETURN(bool vr, v.Step());
      if (!vr) break;
      buf += 'V';
      for (int c = 0; c <= 2; ++c) PutU64(&buf, static_cast<uint64_t>(v.Int(c)));
      PutBytes(&buf, v.Blob(3));
      PutBytes(&buf, v.Blob(4));
    }
    v.Reset();
    a.Bind(1, t.Int(0));
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
