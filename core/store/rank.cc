#include "core/store/rank.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/store/tokenizer.h"

namespace estelik::store {
namespace {

constexpr double kK1 = 1.2;
constexpr double kB = 0.75;

int CountRow(const Fts5ExtensionApi*, Fts5Context*, void* user) {
  ++*static_cast<int64_t*>(user);
  return SQLITE_OK;
}

void MatchStats(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* ctx, int,
                sqlite3_value**) {
  const int phrases = api->xPhraseCount(fts);
  std::vector<int64_t> out = {phrases};
  int rc = SQLITE_OK;
  for (int i = 0; i < phrases && rc == SQLITE_OK; ++i) {
    int64_t n = 0;
    rc = api->xQueryPhrase(fts, i, &n, &CountRow);  // a walk of the phrase's doclist
    out.push_back(n);
  }
  if (rc != SQLITE_OK) {
    sqlite3_result_error_code(ctx, rc);
    return;
  }
  sqlite3_result_blob(ctx, out.data(), static_cast<int>(out.size() * sizeof(int64_t)),
                      SQLITE_TRANSIENT);
}

// SQLite's varint (FTS5 records use it): 7 bits per byte, big-endian, the 9th byte whole.
bool GetVarint(std::string_view in, size_t* at, uint64_t* v) {
  *v = 0;
  for (int i = 0; i < 9; ++i) {
    if (*at >= in.size()) return false;
    const uint8_t b = static_cast<uint8_t>(in[(*at)++]);
    if (i == 8) {
      *v = (*v << 8) | b;
      return true;
    }
    *v = (*v << 7) | (b & 0x7f);
    if ((b & 0x80) == 0) return true;
  }
  return true;
}

void Rank(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* ctx, int argc,
          sqlite3_value** argv) {
  const auto* stats =
      argc == 1
          ? static_cast<const RankStats*>(sqlite3_value_pointer(argv[0], kRankStatsPointerType))
          : nullptr;
  const int phrases = api->xPhraseCount(fts);
  if (stats == nullptr || stats->idf.size() != static_cast<size_t>(phrases) || stats->rows <= 0) {
    sqlite3_result_error(ctx, "estelik_rank: missing or mismatched statistics", -1);
    return;
  }
  std::vector<double> freq(static_cast<size_t>(phrases), 0.0);
  int instances = 0;
  int rc = api->xInstCount(fts, &instances);
  for (int i = 0; i < instances && rc == SQLITE_OK; ++i) {
    int phrase = 0, column = 0, offset = 0;
    rc = api->xInst(fts, i, &phrase, &column, &offset);
    if (rc == SQLITE_OK && column >= 0 && column < 3) freq[phrase] += kRankWeights[column];
  }
  int length = 0;
  if (rc == SQLITE_OK) rc = api->xColumnSize(fts, -1, &length);
  if (rc != SQLITE_OK) {
    sqlite3_result_error_code(ctx, rc);
    return;
  }
  const double avg = stats->tokens / stats->rows;
  const double norm = kK1 * (1 - kB + kB * length / (avg > 0 ? avg : 1));
  double score = 0;
  for (int p = 0; p < phrases; ++p)
    score += stats->idf[p] * (freq[p] * (kK1 + 1)) / (freq[p] + norm);
  sqlite3_result_double(ctx, -score);
}

}  // namespace

Status RankStats::AddTotals(std::string_view averages) {
  if (averages.empty()) return Status::Ok();  // a shard that never held a row
  size_t at = 0;
  uint64_t n = 0;
  if (!GetVarint(averages, &at, &n)) return Corrupt("search index: malformed averages record");
  rows += static_cast<double>(n);
  while (at < averages.size()) {
    if (!GetVarint(averages, &at, &n)) return Corrupt("search index: malformed averages record");
    tokens += static_cast<double>(n);
  }
  return Status::Ok();
}

Status RankStats::AddPhraseRows(std::string_view blob) {
  if (blob.size() % sizeof(int64_t) != 0 || blob.size() < sizeof(int64_t))
    return Corrupt("search index statistics are malformed");
  std::vector<int64_t> v(blob.size() / sizeof(int64_t));
  std::memcpy(v.data(), blob.data(), blob.size());
  const size_t phrases = static_cast<size_t>(v[0]);
  if (v.size() != 1 + phrases) return Corrupt("search index statistics are malformed");
  if (!phrase_rows.empty() && phrases != phrase_rows.size())
    return Corrupt("search index shards disagree on the query's phrases");
  phrase_rows.resize(phrases, 0);
  for (size_t i = 0; i < phrases; ++i) phrase_rows[i] += static_cast<double>(v[1 + i]);
  return Status::Ok();
}

void RankStats::Finish() {
  idf.clear();
  for (double n : phrase_rows) {
    double x = std::log((rows - n + 0.5) / (n + 0.5));
    idf.push_back(x <= 0 ? 1e-6 : x);
  }
}

Status RegisterRankFunctions(sqlite3* db) {
  ESTELIK_ASSIGN_OR_RETURN(fts5_api * api, GetFts5Api(db));
  for (auto [name, fn] :
       {std::pair{"estelik_match_stats", &MatchStats}, std::pair{"estelik_rank", &Rank}}) {
    int rc = api->xCreateFunction(api, name, nullptr, fn, nullptr);
    if (rc != SQLITE_OK)
      return Internal(std::string("could not register the FTS5 function ") + name + ": " +
                      sqlite3_errstr(rc));
  }
  return Status::Ok();
}

}  // namespace estelik::store
