// The store's SQL schema and its migrations, tracked with PRAGMA user_version.
// See docs/FORMAT.md "Records and schema".
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace estelik::store {

// The schema version this build writes.
inline constexpr int kSchemaVersion = 5;

// Brings the database to `target` (1..kSchemaVersion) by applying every migration after its
// current user_version, each in its own transaction. A fresh database starts at 0.
// kUnsupported when the database is newer than this build. `db` is not owned.
// Migrating to a version below kSchemaVersion exists only to produce test fixtures.
Status Migrate(sqlite3* db, int target = kSchemaVersion);

// The full-text index (schema 4 and later) is kFtsShards (core/store/rank.h) FTS5 tables;
// FtsShardName(k) is the k-th, and testimony `seq` is indexed in FtsShardOf(seq).
std::string FtsShardName(int shard);
int FtsShardOf(int64_t seq);
// CREATE VIRTUAL TABLE for one shard with the given tokenize= argument, and its rank config.
std::string CreateFtsShardSql(const std::string& table, const std::string& tokenizer);

// Removes testimony `seq` from the full-text index (its shard keeps the words in old segments
// until an 'optimize': see Store::Withdraw).
Status DeleteFromFtsIndex(sqlite3* db, int64_t seq);
// Empties every shard of the full-text index.
Status ClearFtsIndex(sqlite3* db);

// "2011", "2011-12", "2011-12-16" widened to a full date: the first day when !end, else a
// day-31 upper bound (used only for comparison). Empty stays empty.
std::string NormalizeDate(std::string_view iso, bool end);
// True for "YYYY", "YYYY-MM" and "YYYY-MM-DD" with a plausible month and day.
bool IsValidDate(std::string_view iso);

// PRAGMA user_version of `db`.
Result<int> SchemaVersion(sqlite3* db);

// The folding-rules version (kFoldVersion of core/store/fold.h) the FTS index of `db` was
// built with, as recorded in store_meta (schema 3 and later).
Result<int> IndexedFoldVersion(sqlite3* db);

}  // namespace estelik::store
