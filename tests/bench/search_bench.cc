// search_bench: FTS5 ingest and query cost of the "estelik" tokenizer against SQLite's stock
// "unicode61 remove_diacritics 2", on the same generated corpus and schema.
//
//   search_bench [--docs N] [--queries Q] [--seed S]      (defaults: 100000, 300, 1)
//
// Two plain SQLite files in a temporary directory hold the same schema: an FTS5 table
// fts(title, body) and a side table meta(language, event_date, tags) joined by rowid. The
// program prints ingest rate, query latency p50/p99 (single term, phrase, prefix, filtered;
// bm25 ranking, LIMIT 20), pure tokenizer throughput, the estelik/unicode61 ratios, and a final
// JSON line with every figure. Goals: single-term p99 < 10 ms; tokenizer within 1.3x.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/store/tokenizer.h"
#include "tests/support/corpus.h"
#include "tests/support/temp_dir.h"

namespace {

using estelik::testing::SampleTestimony;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

[[noreturn]] void Die(const std::string& what, sqlite3* db = nullptr) {
  std::fprintf(stderr, "search_bench: %s%s%s\n", what.c_str(), db ? ": " : "",
               db ? sqlite3_errmsg(db) : "");
  std::exit(1);
}

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

void Exec(sqlite3* db, const std::string& sql) {
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) Die(sql, db);
}

Stmt Prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) Die(sql, db);
  return Stmt(raw);
}

void BindText(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
  return out;
}

struct Side {
  std::string name;      // "estelik" or "unicode61"
  std::string tokenize;  // the FTS5 tokenize= argument
  Db db;
  double ingest_seconds = 0;
  std::map<std::string, std::vector<double>> latencies_ms;  // per query kind
  double tokenizer_mb_per_s = 0;
};

Db OpenFresh(const std::string& path) {
  sqlite3* raw = nullptr;
  if (sqlite3_open(path.c_str(), &raw) != SQLITE_OK) Die("open " + path, raw);
  Db db(raw);
  const estelik::Status st = estelik::store::RegisterTokenizer(db.get());
  if (!st.ok()) Die(st.ToString());
  Exec(db.get(), "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  return db;
}

void Ingest(Side& side, const std::vector<SampleTestimony>& corpus) {
  sqlite3* db = side.db.get();
  Exec(db, "CREATE VIRTUAL TABLE fts USING fts5(title, body, tokenize='" + side.tokenize +
               "');"
               "CREATE TABLE meta(id INTEGER PRIMARY KEY, language TEXT NOT NULL, "
               "event_date TEXT NOT NULL, tags TEXT NOT NULL);"
               "CREATE INDEX meta_language_date ON meta(language, event_date);");
  Stmt fts = Prepare(db, "INSERT INTO fts(rowid, title, body) VALUES (?1, ?2, ?3)");
  Stmt meta = Prepare(db, "INSERT INTO meta(id, language, event_date, tags) VALUES (?1,?2,?3,?4)");
  const auto start = Clock::now();
  constexpr size_t kBatch = 5000;
  for (size_t i = 0; i < corpus.size(); ++i) {
    if (i % kBatch == 0) Exec(db, "BEGIN");
    const SampleTestimony& t = corpus[i];
    const std::string tags = Join(t.tags);
    sqlite3_bind_int64(fts.get(), 1, static_cast<int64_t>(i + 1));
    BindText(fts.get(), 2, t.title);
    BindText(fts.get(), 3, t.body);
    if (sqlite3_step(fts.get()) != SQLITE_DONE) Die("insert fts", db);
    sqlite3_reset(fts.get());
    sqlite3_bind_int64(meta.get(), 1, static_cast<int64_t>(i + 1));
    BindText(meta.get(), 2, t.language);
    BindText(meta.get(), 3, t.event_date);
    BindText(meta.get(), 4, tags);
    if (sqlite3_step(meta.get()) != SQLITE_DONE) Die("insert meta", db);
    sqlite3_reset(meta.get());
    if (i % kBatch == kBatch - 1 || i + 1 == corpus.size()) Exec(db, "COMMIT");
  }
  side.ingest_seconds = Seconds(start);
}

// A query set shared by both sides, drawn deterministically from the corpus.
struct Query {
  std::string match;
  std::string language;  // filtered queries only
  std::string from, to;
};

class Lcg {
 public:
  explicit Lcg(uint64_t seed) : x_(seed * 2 + 1) {}
  size_t Below(size_t n) {
    x_ = x_ * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<size_t>((x_ >> 33) % n);
  }

 private:
  uint64_t x_;
};

// Words of a text, split on spaces with ASCII punctuation and the em dash trimmed.
std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find(' ', i);
    if (j == std::string::npos) j = text.size();
    std::string w = text.substr(i, j - i);
    while (!w.empty() && std::strchr(".,;:!?\"()", w.back())) w.pop_back();
    if (w.size() >= 4 && w != "\xE2\x80\x94" && w.find('\'') == std::string::npos) {
      words.push_back(w);
    }
    i = j + 1;
  }
  return words;
}

// The first `n` code points of a UTF-8 word.
std::string Utf8Prefix(const std::string& w, size_t n) {
  size_t i = 0;
  for (size_t cps = 0; i < w.size() && cps < n; ++cps) {
    ++i;
    while (i < w.size() && (static_cast<unsigned char>(w[i]) & 0xC0) == 0x80) ++i;
  }
  return w.substr(0, i);
}

std::map<std::string, std::vector<Query>> MakeQueries(const std::vector<SampleTestimony>& corpus,
                                                      size_t count, uint64_t seed) {
  // Names people search for, in every spelling; and ordinary words from the corpus.
  const std::vector<std::string> names = {
      "Zhanaozen", "Janaozen", "Жанаозен",   "Жаңаөзен",  "Jañaözen",  "Aktau",       "Aqtau",
      "Актау",     "Ақтау",    "Mangystau",  "Мангистау", "Маңғыстау", "Mañğystau",   "Tengiz",
      "Тенгиз",    "Теңіз",    "Kazakhstan", "Казахстан", "Қазақстан", "Karazhanbas", "Қаражанбас",
      "Sadykov",   "Садықов",  "Нұрлан",     "Roza"};
  Lcg rng(seed);
  std::map<std::string, std::vector<Query>> q;
  for (size_t i = 0; i < count; ++i) {
    const SampleTestimony& t = corpus[rng.Below(corpus.size())];
    const std::vector<std::string> words = Words(t.body);
    const std::string word = words[rng.Below(words.size())];
    const std::string term = (i % 2 == 0) ? names[rng.Below(names.size())] : word;
    q["single"].push_back({"\"" + term + "\"", "", "", ""});
    const size_t at = rng.Below(words.size() - 1);
    q["phrase"].push_back({"\"" + words[at] + " " + words[at + 1] + "\"", "", "", ""});
    q["prefix"].push_back({"\"" + Utf8Prefix(word, 4) + "\"*", "", "", ""});
    static const char* kLanguages[] = {"en", "ru", "kk"};
    const int month = 5 + static_cast<int>(rng.Below(6));
    char from[16], to[16];
    std::snprintf(from, sizeof from, "2011-%02d-01", month);
    std::snprintf(to, sizeof to, "2011-%02d-28", month + 2);
    q["filtered"].push_back({"\"" + term + "\"", kLanguages[rng.Below(3)], from, to});
  }
  return q;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

void RunQueries(Side& side, const std::map<std::string, std::vector<Query>>& queries) {
  sqlite3* db = side.db.get();
  Stmt plain = Prepare(db,
                       "SELECT rowid, bm25(fts) FROM fts WHERE fts MATCH ?1 "
                       "ORDER BY bm25(fts) LIMIT 20");
  // CROSS JOIN keeps the FTS scan outermost: left to itself the planner walks the meta index
  // and re-runs the MATCH once per row in the date range, which is 10-100x slower.
  Stmt filtered =
      Prepare(db,
              "SELECT fts.rowid, bm25(fts) FROM fts CROSS JOIN meta ON meta.id = fts.rowid "
              "WHERE fts MATCH ?1 AND meta.language = ?2 AND meta.event_date "
              "BETWEEN ?3 AND ?4 ORDER BY bm25(fts) LIMIT 20");
  for (const auto& [kind, list] : queries) {
    sqlite3_stmt* s = kind == "filtered" ? filtered.get() : plain.get();
    for (const Query& query : list) {
      const auto start = Clock::now();
      BindText(s, 1, query.match);
      if (kind == "filtered") {
        BindText(s, 2, query.language);
        BindText(s, 3, query.from);
        BindText(s, 4, query.to);
      }
      int rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      }
      if (rc != SQLITE_DONE) Die("query " + query.match, db);
      sqlite3_reset(s);
      side.latencies_ms[kind].push_back(Seconds(start) * 1000.0);
    }
  }
}

int CountToken(void* count, int, const char*, int, int, int) {
  ++*static_cast<size_t*>(count);
  return SQLITE_OK;
}

// Pure tokenizer throughput through the FTS5 tokenizer API (best of three passes).
void MeasureTokenizer(Side& side, const std::vector<SampleTestimony>& corpus) {
  sqlite3* db = side.db.get();
  auto api = estelik::store::GetFts5Api(db);
  if (!api.ok()) Die(api.status().ToString());
  const bool ours = side.name == "estelik";
  void* user = nullptr;
  fts5_tokenizer tok{};
  if ((*api)->xFindTokenizer(*api, ours ? "estelik" : "unicode61", &user, &tok) != SQLITE_OK) {
    Die("no tokenizer " + side.name);
  }
  const char* args[] = {"remove_diacritics", "2"};
  Fts5Tokenizer* instance = nullptr;
  if (tok.xCreate(user, ours ? nullptr : args, ours ? 0 : 2, &instance) != SQLITE_OK) {
    Die("cannot create tokenizer " + side.name);
  }
  size_t bytes = 0;
  for (const auto& t : corpus) bytes += t.title.size() + t.body.size();
  double best = 1e9;
  size_t tokens = 0;
  for (int pass = 0; pass < 3; ++pass) {
    tokens = 0;
    const auto start = Clock::now();
    for (const auto& t : corpus) {
      tok.xTokenize(instance, &tokens, FTS5_TOKENIZE_DOCUMENT, t.title.data(),
                    static_cast<int>(t.title.size()), CountToken);
      tok.xTokenize(instance, &tokens, FTS5_TOKENIZE_DOCUMENT, t.body.data(),
                    static_cast<int>(t.body.size()), CountToken);
    }
    best = std::min(best, Seconds(start));
  }
  tok.xDelete(instance);
  side.tokenizer_mb_per_s = static_cast<double>(bytes) / 1e6 / best;
  std::printf("  %-9s tokenizer: %.1f MB/s (%zu tokens, %.1f MB)\n", side.name.c_str(),
              side.tokenizer_mb_per_s, tokens, static_cast<double>(bytes) / 1e6);
}

size_t ParseFlag(int argc, char** argv, const char* name, size_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::strtoull(argv[i + 1], nullptr, 10);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t docs = ParseFlag(argc, argv, "--docs", 100000);
  const size_t query_count = ParseFlag(argc, argv, "--queries", 300);
  const uint64_t seed = ParseFlag(argc, argv, "--seed", 1);
  if (docs < 2 || query_count < 1)
    Die("usage: search_bench [--docs N>=2] [--queries Q] [--seed S]");

  std::printf("generating %zu testimonies (seed %llu)...\n", docs,
              static_cast<unsigned long long>(seed));
  const auto gen_start = Clock::now();
  const std::vector<SampleTestimony> corpus = estelik::testing::GenerateCorpus(seed, docs);
  size_t bytes = 0;
  for (const auto& t : corpus) bytes += t.title.size() + t.body.size();
  std::printf("  %.1f MB of text in %.2f s\n", static_cast<double>(bytes) / 1e6,
              Seconds(gen_start));
  const auto queries = MakeQueries(corpus, query_count, seed);

  estelik::testing::TempDir dir;
  std::vector<Side> sides;
  for (const char* tokenize : {"estelik", "unicode61 remove_diacritics 2"}) {
    Side side;
    side.tokenize = tokenize;
    side.name = side.tokenize.substr(0, side.tokenize.find(' '));
    sides.push_back(std::move(side));
  }
  for (Side& side : sides) {
    side.db = OpenFresh(dir.File(side.name + ".db"));
    std::printf("%s: ingesting...\n", side.name.c_str());
    Ingest(side, corpus);
    std::printf("  ingest: %.0f docs/s (%.2f s)\n", static_cast<double>(docs) / side.ingest_seconds,
                side.ingest_seconds);
    RunQueries(side, queries);  // warm the page cache
    side.latencies_ms.clear();
    RunQueries(side, queries);
    for (const auto& [kind, ms] : side.latencies_ms) {
      std::printf("  %-8s p50 %.3f ms  p99 %.3f ms\n", kind.c_str(), Percentile(ms, 0.5),
                  Percentile(ms, 0.99));
    }
    MeasureTokenizer(side, corpus);
  }

  const Side& e = sides[0];
  const Side& u = sides[1];
  const double ingest_ratio = e.ingest_seconds / u.ingest_seconds;
  const double tokenizer_ratio = u.tokenizer_mb_per_s / e.tokenizer_mb_per_s;
  std::printf("ratios estelik/unicode61: ingest time %.2fx, tokenizer cost %.2fx\n", ingest_ratio,
              tokenizer_ratio);
  std::string json = "{\"bench\":\"search\",\"docs\":" + std::to_string(docs) +
                     ",\"queries_per_kind\":" + std::to_string(query_count) +
                     ",\"text_mb\":" + std::to_string(static_cast<double>(bytes) / 1e6);
  for (const Side* side : {&e, &u}) {
    json += ",\"" + side->name + "\":{\"ingest_docs_per_s\":" +
            std::to_string(static_cast<double>(docs) / side->ingest_seconds) +
            ",\"tokenizer_mb_per_s\":" + std::to_string(side->tokenizer_mb_per_s);
    for (const auto& [kind, ms] : side->latencies_ms) {
      json += ",\"" + kind + "_p50_ms\":" + std::to_string(Percentile(ms, 0.5)) + ",\"" + kind +
              "_p99_ms\":" + std::to_string(Percentile(ms, 0.99));
    }
    json += "}";
  }
  json += ",\"ingest_time_ratio\":" + std::to_string(ingest_ratio) +
          ",\"tokenizer_cost_ratio\":" + std::to_string(tokenizer_ratio) + "}";
  std::printf("%s\n", json.c_str());
  return 0;
}
