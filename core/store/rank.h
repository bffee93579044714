// Ranking across the sharded full-text index (docs/FORMAT.md "Records and schema").
//
// The index is kFtsShards FTS5 tables (a testimony lives in shard seq % kFtsShards) so that a
// withdrawal rewrites one shard, not the whole index. FTS5's own bm25() scores a row with its
// table's statistics, which would make scores of different shards incomparable (a shard of
// three rows gives every word an IDF near zero). These two FTS5 auxiliary functions compute
// the same bm25 (k1 = 1.2, b = 0.75, column weights kRankWeights) from statistics summed over
// the shards:
//
//   estelik_match_stats(shard)   on any one row of a shard matching PhraseUnion(query)
//                                (core/store/query.h): a blob of int64 (host order): the
//                                phrase count, then per phrase the rows of the shard it
//                                occurs in (xQueryPhrase, the pass bm25() makes for its IDF).
//   estelik_rank(shard, stats)   the bm25 score of the current row (lower is better, as FTS5's
//                                bm25()); `stats` is a RankStats* bound with
//                                sqlite3_bind_pointer(..., kRankStatsPointerType, nullptr).
//
// Registered on a connection by RegisterRankFunctions (Store::Open does it).
#pragma once

#include <sqlite3.h>

#include <string_view>
#include <vector>

#include "core/status.h"

namespace estelik::store {

inline constexpr int kFtsShards = 16;
inline constexpr char kRankStatsPointerType[] = "estelik_rank_stats";
// bm25 weights of the FTS columns (title, body, extra = tags/places/people).
inline constexpr double kRankWeights[3] = {10.0, 1.0, 4.0};

// Statistics of a query summed over the shards: rows and tokens of every shard (AddTotals
// with the shard's FTS5 averages record), rows per phrase of every shard where a phrase occurs
// (AddPhraseRows with an estelik_match_stats blob).
struct RankStats {
  double rows = 0;
  double tokens = 0;
  std::vector<double> phrase_rows;  // per phrase of the query, in FTS5's phrase order
  std::vector<double> idf;          // filled by Finish()

  // `averages` is the block of id 1 in the shard's %_data table (FTS5's averages record:
  // varints, rows then tokens per column). kCorrupt if malformed.
  Status AddTotals(std::string_view averages);
  // kCorrupt if the blob is malformed or has another phrase count than blobs added before.
  Status AddPhraseRows(std::string_view blob);
  // Computes idf from the sums (FTS5's formula, clamped at 1e-6 like bm25()).
  void Finish();
};

// Registers estelik_match_stats and estelik_rank on `db` (not owned).
Status RegisterRankFunctions(sqlite3* db);

}  // namespace estelik::store
