#include "core/store/rank.h"

#include <cassert>
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

void Features(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* ctx, int,
              sqlite3_value**) {
  const int phrases = api->xPhraseCount(fts);
  std::vector<double> out(1 + static_cast<size_t>(phrases), 0.0);
  int instances = 0;
  int rc = api->xInstCount(fts, &instances);
  for (int i = 0; i < instances && rc == SQLITE_OK; ++i) {
    int phrase = 0, column = 0, offset = 0;
    rc = api->xInst(fts, i, &phrase, &column, &offset);
    if (rc == SQLITE_OK && column >= 0 && column < 3) out[1 + phrase] += kRankWeights[column];
  }
  int length = 0;
  if (rc == SQLITE_OK) rc = api->xColumnSize(fts, -1, &length);
  if (rc != SQLITE_OK) {
    sqlite3_result_error_code(ctx, rc);
    return;
  }
  out[0] = length;
  sqlite3_result_blob(ctx, out.data(), static_cast<int>(out.size() * sizeof(double)),
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

}  // namespace

Result<RankFeatures> RankFeatures::Decode(std::string_view blob) {
  if (blob.size() % sizeof(double) != 0 || blob.size() < sizeof(double))
    return Corrupt("search index: malformed ranking features");
  std::vector<double> v(blob.size() / sizeof(double));
  std::memcpy(v.data(), blob.data(), blob.size());
  RankFeatures f;
  f.length = v[0];
  f.freq.assign(v.begin() + 1, v.end());
  return f;
}

Status RankStats::AddTotals(std::string_view averages) {
  if (averages.empty()) return Status::Ok();  // a shard that never held a row
  size_t at = 0;
  uint64_t n = 0;
  if (!GetVarint(averages, &at, &n)) return Corrupt("search index: malformed averages record");
  rows += static_cast<double>(n);
  index_rows += static_cast<double>(n);
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

void RankStats::CountCandidate(const RankFeatures& c) {
  if (phrase_rows.empty()) phrase_rows.resize(c.freq.size(), 0);
  assert(c.freq.size() == phrase_rows.size());
  for (size_t p = 0; p < c.freq.size(); ++p) phrase_rows[p] += c.freq[p] > 0 ? 1 : 0;
}

void RankStats::Finish() {
  idf.clear();
  for (double n : phrase_rows) {
    double x = std::log((rows - n + 0.5) / (n + 0.5));
    idf.push_back(x <= 0 ? 1e-6 : x);
  }
}

double RankStats::Rank(const RankFeatures& row) const {
  assert(row.freq.size() == idf.size());
  const double avg = index_rows > 0 ? tokens / index_rows : 0;
  const double norm = kK1 * (1 - kB + kB * row.length / (avg > 0 ? avg : 1));
  double score = 0;
  for (size_t p = 0; p < idf.size(); ++p)
    score += idf[p] * (row.freq[p] * (kK1 + 1)) / (row.freq[p] + norm);
  return -score;
}

Status RegisterRankFunctions(sqlite3* db) {
  ESTELIK_ASSIGN_OR_RETURN(fts5_api * api, GetFts5Api(db));
  for (auto [name, fn] : {std::pair{"estelik_match_stats", &MatchStats},
                          std::pair{"estelik_rank_features", &Features}}) {
    int rc = api->xCreateFunction(api, name, nullptr, fn, nullptr);
    if (rc != SQLITE_OK)
      return Internal(std::string("could not register the FTS5 function ") + name + ": " +
                      sqlite3_errstr(rc));
  }
  return Status::Ok();
}

}  // namespace estelik::store
