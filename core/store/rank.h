// Ranking across the sharded full-text index (docs/FORMAT.md "Records and schema", "Search
// cost bound").
//
// The index is kFtsShards FTS5 tables (a testimony lives in shard seq % kFtsShards) so that a
// withdrawal rewrites one shard, not the whole index. FTS5's own bm25() scores a row with its
// table's statistics, which would make scores of different shards incomparable (a shard of
// three rows gives every word an IDF near zero). Search therefore computes the same bm25
// (k1 = 1.2, b = 0.75, column weights kRankWeights) itself, from statistics summed over the
// shards, with two FTS5 auxiliary functions:
//
//   estelik_rank_features(shard) the current row's bm25 inputs: a blob of doubles (host
//                                order): the row's token count, then per phrase of the query
//                                its weighted frequency in the row (0 when absent).
//   estelik_match_stats(shard)   on any one row of a shard matching PhraseUnion(query)
//                                (core/store/query.h): a blob of int64 (host order): the
//                                phrase count, then per phrase the rows of the shard it
//                                occurs in (xQueryPhrase: a walk of the phrase's doclist).
//
// Where the rows per phrase come from (RankStats):
//  - A query that is a disjunction of phrases (IsDisjunction, core/store/query.h: one word,
//    a quoted phrase, a prefix, words joined by OR) matches exactly the rows where some phrase
//    occurs, so its candidates already count each phrase's rows: no walk. When every match is
//    ranked the counts are exact and the score equals a single table's bm25(); when only the
//    matches above the cut are ranked (Store::Search), the counts and the row total are those
//    of that recent window (rows estimated from the seq range), which is what is ranked.
//  - Any other query (AND, NOT) walks each phrase's doclist in every shard
//    (estelik_match_stats), as bm25() does.
//
// Registered on a connection by RegisterRankFunctions (Store::Open does it).
#pragma once

#include <sqlite3.h>

#include <string_view>
#include <vector>

#include "core/status.h"

namespace estelik::store {

inline constexpr int kFtsShards = 16;
// bm25 weights of the FTS columns (title, body, extra = tags/places/people).
inline constexpr double kRankWeights[3] = {10.0, 1.0, 4.0};

// One candidate row's bm25 inputs, decoded from estelik_rank_features.
struct RankFeatures {
  double length = 0;         // tokens in the row (all columns)
  std::vector<double> freq;  // per phrase: weighted occurrences in the row

  // kCorrupt if `blob` is not a features blob (a whole number of doubles, at least one).
  static Result<RankFeatures> Decode(std::string_view blob);
};

// The statistics bm25 needs for a query, summed over the shards.
struct RankStats {
  double rows = 0;                  // rows of the collection the IDF is taken over
  double tokens = 0;                // tokens of the whole index (for the average length)
  double index_rows = 0;            // rows of the whole index
  std::vector<double> phrase_rows;  // per phrase of the query, in FTS5's phrase order
  std::vector<double> idf;          // filled by Finish()

  // `averages` is the block of id 1 in the shard's %_data table (FTS5's averages record:
  // varints, rows then tokens per column). Adds to rows, index_rows and tokens. kCorrupt if
  // malformed.
  Status AddTotals(std::string_view averages);
  // Adds an estelik_match_stats blob. kCorrupt if the blob is malformed or has another phrase
  // count than blobs added before.
  Status AddPhraseRows(std::string_view blob);
  // Counts, for a disjunctive query, one candidate in the rows of each phrase it holds. Every
  // candidate must have the same phrase count (asserted).
  void CountCandidate(const RankFeatures& candidate);
  // Computes idf from the sums (FTS5's formula, clamped at 1e-6 like bm25()).
  void Finish();
  // The bm25 score of a row, negated as FTS5's bm25() (lower is better). Needs Finish() and a
  // row of the same phrase count (asserted).
  double Rank(const RankFeatures& row) const;
};

// Registers estelik_rank_features and estelik_match_stats on `db` (not owned).
Status RegisterRankFunctions(sqlite3* db);

}  // namespace estelik::store
