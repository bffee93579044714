#include "core/store/schema.h"

#include <string>

#include "core/sql/stmt.h"
#include "core/sql/transaction.h"
#include "core/store/rank.h"
#include "core/store/tokenizer.h"
#include "proto/record.pb.h"

namespace estelik::store {
namespace {

using sql::Exec;
using sql::Stmt;

// Version 1: testimonies, their versions, filter terms, attachments, sealed chunks and the
// full-text index. Frozen: a released schema step is never edited, only followed by another.
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE testimonies(
  seq INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  author BLOB NOT NULL,
  created_wall INTEGER NOT NULL,
  created_counter INTEGER NOT NULL,
  recorded_ms INTEGER NOT NULL,
  current_version INTEGER NOT NULL,
  updated_wall INTEGER NOT NULL,
  updated_counter INTEGER NOT NULL,
  withdrawn INTEGER NOT NULL DEFAULT 0,
  tombstone_hash BLOB,
  content_key BLOB
);
CREATE TABLE versions(
  testimony_seq INTEGER NOT NULL,
  version INTEGER NOT NULL,
  hlc_wall INTEGER NOT NULL,
  hlc_counter INTEGER NOT NULL,
  author BLOB NOT NULL,
  fields BLOB NOT NULL,
  content_hash BLOB NOT NULL,
  PRIMARY KEY(testimony_seq, version)
);
CREATE TABLE terms(
  testimony_seq INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  value TEXT NOT NULL COLLATE NOCASE,
  PRIMARY KEY(kind, value, testimony_seq)
) WITHOUT ROWID;
CREATE INDEX terms_by_testimony ON terms(testimony_seq);
CREATE TABLE attachments(
  id BLOB PRIMARY KEY,
  testimony_seq INTEGER NOT NULL,
  state INTEGER NOT NULL,
  name TEXT NOT NULL,
  media_type TEXT NOT NULL,
  kind INTEGER NOT NULL,
  size INTEGER NOT NULL,
  chunk_size INTEGER NOT NULL,
  chunk_count INTEGER NOT NULL,
  content_hash BLOB NOT NULL,
  added_wall INTEGER NOT NULL,
  added_counter INTEGER NOT NULL,
  author BLOB NOT NULL
);
CREATE INDEX attachments_by_testimony ON attachments(testimony_seq);
CREATE TABLE chunks(
  attachment_id BLOB NOT NULL,
  idx INTEGER NOT NULL,
  sealed BLOB NOT NULL,
  UNIQUE(attachment_id, idx)
);
CREATE VIRTUAL TABLE testimony_fts USING fts5(title, body, extra, tokenize='estelik');
)sql";

// Version 2: the list filters on language, consent scope and event dates became columns
// (version 1 decoded every testimony's fields to filter), plus the keyset paging index.
// Existing rows are backfilled from their current version's fields.
constexpr char kSchemaV2[] = R"sql(
ALTER TABLE testimonies ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE testimonies ADD COLUMN consent_scope INTEGER NOT NULL DEFAULT 0;
ALTER TABLE testimonies ADD COLUMN event_from TEXT;
ALTER TABLE testimonies ADD COLUMN event_to TEXT;
CREATE INDEX testimonies_by_created ON testimonies(created_wall, created_counter, id);
CREATE INDEX testimonies_by_language ON testimonies(language);
)sql";

// Version 3: store_meta records facts about derived data, first the folding-rules version
// the FTS index holds keys of (schema 1 and 2 were only ever written with fold version 1), so
// Store::Open can rebuild an index built with other rules. The bm25 column weights become the
// FTS5 table's configured rank.
constexpr char kSchemaV3[] = R"sql(
CREATE TABLE store_meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO store_meta(key, value) VALUES('fold_version', 1);
INSERT INTO testimony_fts(testimony_fts, rank) VALUES('rank', 'bm25(10.0, 1.0, 4.0)');
)sql";

// Version 4: the full-text index becomes kFtsShards FTS5 tables testimony_fts_s0 .. _s15 (a
// testimony's row lives in shard seq % kFtsShards), each with prefix indexes of 2 and 3
// characters. A withdrawal then rewrites one shard ('optimize', so no word of the testimony
// stays in an old segment) instead of the whole index, and prefix queries read a prefix
// doclist instead of merging every key with the prefix. The rows are copied from the version
// 3 table, which is dropped (secure_delete zeroes its pages).
Status MigrateV4(sqlite3* db) {
  for (int k = 0; k < kFtsShards; ++k) {
    const std::string table = FtsShardName(k);
    ESTELIK_RETURN_IF_ERROR(Exec(db, CreateFtsShardSql(table, kTokenizerName).c_str()));
    ESTELIK_ASSIGN_OR_RETURN(
        Stmt copy, Stmt::Prepare(db, "INSERT INTO " + table +
                                         "(rowid, title, body, extra) SELECT rowid, title, body, "
                                         "extra FROM testimony_fts WHERE rowid % ?1 = ?2"));
    ESTELIK_RETURN_IF_ERROR(copy.BindInt(1, kFtsShards).BindInt(2, k).Run());
  }
  return Exec(db, "DROP TABLE testimony_fts");
}

// Version 5: merge bookkeeping (core/store/store_tags_annotations.cc, store_op_index.cc). Add-wins
// tags and annotations keyed by the hash of the op that added them (tag_removed: adds some remove
// observed, kept even before the add arrives; tag_terms: the live added tags, for the list filter),
// the op that produced each version (TestimonyEdit.base_op) and which private ops carry a
// testimony's content (redacted when it is withdrawn). All derived from the op log. A tombstone
// no longer counts versions (current_version 0): replicas that held different versions agree.
constexpr char kSchemaV5[] = R"sql(
CREATE TABLE tag_adds(
  op_hash BLOB PRIMARY KEY,
  testimony_id BLOB NOT NULL,
  scope BLOB NOT NULL,
  author BLOB NOT NULL,
  tag TEXT NOT NULL,
  hlc_wall INTEGER NOT NULL,
  hlc_counter INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tag_adds_by_testimony ON tag_adds(testimony_id, tag);
CREATE TABLE tag_removed(
  add_hash BLOB PRIMARY KEY,
  testimony_id BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX tag_removed_by_testimony ON tag_removed(testimony_id);
CREATE TABLE tag_terms(
  testimony_seq INTEGER NOT NULL,
  tag TEXT NOT NULL COLLATE NOCASE,
  PRIMARY KEY(tag, testimony_seq)
) WITHOUT ROWID;
CREATE INDEX tag_terms_by_testimony ON tag_terms(testimony_seq);
CREATE TABLE annotations(
  op_hash BLOB PRIMARY KEY,
  annotation_id BLOB NOT NULL,
  testimony_id BLOB NOT NULL,
  scope BLOB NOT NULL,
  author BLOB NOT NULL,
  text TEXT NOT NULL,
  language TEXT NOT NULL,
  hlc_wall INTEGER NOT NULL,
  hlc_counter INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX annotations_by_testimony ON annotations(testimony_id);
CREATE TABLE version_ops(
  testimony_id BLOB NOT NULL,
  version INTEGER NOT NULL,
  op_hash BLOB NOT NULL,
  PRIMARY KEY(testimony_id, version)
) WITHOUT ROWID;
CREATE TABLE op_subjects(
  op_hash BLOB PRIMARY KEY,
  testimony_id BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX op_subjects_by_testimony ON op_subjects(testimony_id);
UPDATE testimonies SET current_version = 0 WHERE withdrawn = 1;
)sql";

Status BackfillV2(sqlite3* db) {
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt read, Stmt::Prepare(db,
                               "SELECT t.seq, v.fields FROM testimonies t JOIN versions v ON "
                               "v.testimony_seq = t.seq AND v.version = t.current_version "
                               "WHERE t.withdrawn = 0"));
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt write,
      Stmt::Prepare(db,
                    "UPDATE testimonies SET language = ?2, consent_scope = ?3, event_from = ?4, "
                    "event_to = ?5 WHERE seq = ?1"));
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, read.Step());
    if (!row) break;
    pb::TestimonyFields fields;
    std::string bytes = read.Blob(1);
    if (!fields.ParseFromString(bytes)) {
      return Corrupt("store.db is corrupt: testimony row " + std::to_string(read.Int(0)) +
                     " has unreadable fields");
    }
    write.BindInt(1, read.Int(0)).BindText(2, fields.language()).BindInt(3, fields.consent_scope());
    std::string from = NormalizeDate(fields.event_dates().from(), false);
    std::string to = NormalizeDate(fields.event_dates().to(), true);
    if (from.empty())
      write.BindNull(4);
    else
      write.BindText(4, from);
    if (to.empty())
      write.BindNull(5);
    else
      write.BindText(5, to);
    ESTELIK_RETURN_IF_ERROR(write.Run());
    write.Reset();
  }
  return Status::Ok();
}

}  // namespace

std::string FtsShardName(int shard) { return "testimony_fts_s" + std::to_string(shard); }

int FtsShardOf(int64_t seq) { return static_cast<int>(seq % kFtsShards); }

std::string CreateFtsShardSql(const std::string& table, const std::string& tokenizer) {
  return "CREATE VIRTUAL TABLE " + table + " USING fts5(title, body, extra, tokenize='" +
         tokenizer + "', prefix='2 3');" + "INSERT INTO " + table + "(" + table +
         ", rank) VALUES('rank', 'bm25(10.0, 1.0, 4.0)');";
}

Status DeleteFromFtsIndex(sqlite3* db, int64_t seq) {
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt d,
      Stmt::Prepare(db, "DELETE FROM " + FtsShardName(FtsShardOf(seq)) + " WHERE rowid = ?1"));
  return d.BindInt(1, seq).Run();
}

Status ClearFtsIndex(sqlite3* db) {
  for (int k = 0; k < kFtsShards; ++k)
    ESTELIK_RETURN_IF_ERROR(Exec(db, ("DELETE FROM " + FtsShardName(k)).c_str()));
  return Status::Ok();
}

std::string NormalizeDate(std::string_view iso, bool end) {
  if (iso.empty()) return {};
  std::string s(iso);
  if (s.size() == 4)
    s += end ? "-12-31" : "-01-01";
  else if (s.size() == 7)
    s += end ? "-31" : "-01";
  return s;
}

bool IsValidDate(std::string_view s) {
  auto digits = [&](size_t from, size_t n) {
    for (size_t i = from; i < from + n; ++i)
      if (s[i] < '0' || s[i] > '9') return false;
    return true;
  };
  if (s.size() != 4 && s.size() != 7 && s.size() != 10) return false;
  if (!digits(0, 4)) return false;
  if (s.size() >= 7) {
    if (s[4] != '-' || !digits(5, 2)) return false;
    int month = (s[5] - '0') * 10 + (s[6] - '0');
    if (month < 1 || month > 12) return false;
  }
  if (s.size() == 10) {
    if (s[7] != '-' || !digits(8, 2)) return false;
    int day = (s[8] - '0') * 10 + (s[9] - '0');
    if (day < 1 || day > 31) return false;
  }
  return true;
}

Result<int> SchemaVersion(sqlite3* db) {
  ESTELIK_ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db, "PRAGMA user_version"));
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return Internal("store: PRAGMA user_version returned nothing");
  return static_cast<int>(s.Int(0));
}

Result<int> IndexedFoldVersion(sqlite3* db) {
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(db, "SELECT value FROM store_meta WHERE key = 'fold_version'"));
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return Corrupt("store.db is corrupt: store_meta has no fold_version");
  return static_cast<int>(s.Int(0));
}

Status Migrate(sqlite3* db, int target) {
  if (target < 1 || target > kSchemaVersion)
    return InvalidArgument("store: no schema version " + std::to_string(target));
  ESTELIK_ASSIGN_OR_RETURN(int current, SchemaVersion(db));
  if (current > kSchemaVersion) {
    return Unsupported("store.db has schema version " + std::to_string(current) +
                       " but this Estelik understands up to " + std::to_string(kSchemaVersion) +
                       "; update the app");
  }
  for (int v = current + 1; v <= target; ++v) {
    ESTELIK_ASSIGN_OR_RETURN(sql::Transaction tx, sql::Transaction::Begin(db));
    if (v == 1) {
      ESTELIK_RETURN_IF_ERROR(Exec(db, kSchemaV1));
    } else if (v == 2) {
      ESTELIK_RETURN_IF_ERROR(Exec(db, kSchemaV2));
      ESTELIK_RETURN_IF_ERROR(BackfillV2(db));
    } else if (v == 3) {
      ESTELIK_RETURN_IF_ERROR(Exec(db, kSchemaV3));
    } else if (v == 4) {
      ESTELIK_RETURN_IF_ERROR(MigrateV4(db));
    } else if (v == 5) {
      ESTELIK_RETURN_IF_ERROR(
          Exec(db, kSchemaV5));  // merge bookkeeping (store_tags_annotations.cc)
    }
    ESTELIK_RETURN_IF_ERROR(Exec(db, ("PRAGMA user_version = " + std::to_string(v)).c_str()));
    ESTELIK_RETURN_IF_ERROR(tx.Commit());
  }
  return Status::Ok();
}

}  // namespace estelik::store
