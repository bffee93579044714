// search_bench: search through the engine. N generated testimonies are ingested through
// store::Store (CreateTestimony, one Store::Batch per 1,000) and queried through Store::Search
// (20 hits with snippets, as an app asks), once with the "estelik" tokenizer and once with an
// identical store whose FTS table uses SQLite's "unicode61 remove_diacritics 2"
// (StoreOptions::fts_tokenizer, bench-only).
//
//   search_bench [--docs N] [--queries Q] [--seed S] [--dir D] [--only CLASS]
//                                                     (100000, 300, 1, temp, every class)
//
// With --dir the stores are kept in D and reused by the next run with the same flags (ingest is
// then not measured). The stores use SQLite's default VFS with the vault's connection settings
// (WAL, locking_mode=EXCLUSIVE, synchronous=FULL, temp_store=MEMORY): the encrypting VFS's
// own cost is measured by vfs_bench. Prints ingest rate, p50/p99 latency of each query class,
// tokenizer throughput, estelik/unicode61 ratios, recall and precision on the labelled
// evaluation set (tests/data/search_eval) for each tokenizer, and a final JSON line.
// Goals: single-term p99 < 10 ms at 100k; tokenizer cost within 1.5x of unicode61; eval
// recall and precision >= 0.97 (estelik).
#include <sqlite3.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/crypto/secret.h"
#include "core/store/store.h"
#include "core/store/tokenizer.h"
#include "tests/support/corpus.h"
#include "tests/support/search_eval.h"
#include "tests/support/temp_dir.h"

namespace {

using estelik::store::Store;
using estelik::testing::SampleTestimony;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// CPU time of this thread in ms: on a shared machine wall time mostly measures the others.
double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "search_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const estelik::Status& st, const std::string& what) {
  if (!st.ok()) Die(what + ": " + st.ToString());
}

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

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

// --- Corpus → Store ---

std::string TestimonyId(size_t i) {
  std::string id(estelik::store::kTestimonyIdSize, '\0');
  for (int b = 0; b < 8; ++b) id[15 - b] = static_cast<char>((i + 1) >> (8 * b));
  id[0] = 'g';
  return id;
}

estelik::store::NewTestimony ToNew(const SampleTestimony& s, size_t i) {
  estelik::store::NewTestimony t;
  t.id = TestimonyId(i);
  t.author = std::string(estelik::store::kAuthorSize, 'A');
  t.created.set_wall_ms(1'600'000'000'000ull + i * 1000);
  t.recorded_unix_ms = 1'600'000'000'000ull + i * 1000;
  auto& f = t.fields;
  f.set_language(s.language);
  f.set_title(s.title);
  f.set_body(s.body);
  for (const auto& x : s.tags) f.add_tags(x);
  for (const auto& x : s.places) f.add_places(x);
  for (const auto& x : s.people) f.add_people(x);
  f.mutable_event_dates()->set_from(s.event_date);
  f.mutable_event_dates()->set_to(s.event_date);
  f.set_consent_scope(estelik::pb::CONSENT_SCOPE_PRIVATE);
  return t;
}

// The vault's connection settings (vault::ConfigureConnection) on the default VFS.
Db OpenDb(const std::string& path) {
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK)
    Die("cannot open " + path);
  Db db(raw);
  const char* pragmas =
      "PRAGMA temp_store=MEMORY; PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; "
      "PRAGMA synchronous=FULL;";
  if (sqlite3_exec(db.get(), pragmas, nullptr, nullptr, nullptr) != SQLITE_OK)
    Die(std::string("pragmas: ") + sqlite3_errmsg(db.get()));
  return db;
}

// --- Queries ---

struct Query {
  std::string text;
  std::string language;  // filtered queries only
  std::string from, to;
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

// Single terms as people search: a third place and person names in every script (very
// common: most testimonies name Zhanaozen), a third a word of a random testimony (frequency
// weighted: mostly common words), a third a rare word (in at most 20 testimonies: a name of a
// person, street or village).
std::map<std::string, std::vector<Query>> MakeQueries(const std::vector<SampleTestimony>& corpus,
                                                      size_t count, uint64_t seed) {
  const std::vector<std::string> names = {
      "Zhanaozen", "Janaozen", "Жанаозен",   "Жаңаөзен",  "Jañaözen",  "Aktau",       "Aqtau",
      "Актау",     "Ақтау",    "Mangystau",  "Мангистау", "Маңғыстау", "Mañğystau",   "Tengiz",
      "Тенгиз",    "Теңіз",    "Kazakhstan", "Казахстан", "Қазақстан", "Karazhanbas", "Қаражанбас",
      "Sadykov",   "Садықов",  "Нұрлан",     "Roza",      "Shetpe",    "Бейнеу",      "Атырау"};
  std::unordered_map<std::string, uint32_t> df;
  for (const auto& t : corpus) {
    std::set<std::string> seen;
    for (auto& w : Words(t.title + " " + t.body)) seen.insert(std::move(w));
    for (const auto& w : seen) ++df[w];
  }
  Lcg rng(seed);
  auto random_word = [&](std::vector<std::string>* words) {
    while (true) {
      *words = Words(corpus[rng.Below(corpus.size())].body);
      if (words->size() >= 2) return (*words)[rng.Below(words->size())];
    }
  };
  auto rare_word = [&] {
    while (true) {
      for (const auto& w : Words(corpus[rng.Below(corpus.size())].body))
        if (df[w] <= 20) return w;
    }
  };
  std::map<std::string, std::vector<Query>> q;
  for (size_t i = 0; i < count; ++i) {
    std::vector<std::string> words;
    const std::string word = random_word(&words);
    std::string term = i % 3 == 0   ? names[rng.Below(names.size())]
                       : i % 3 == 1 ? word
                                    : rare_word();
    q["single"].push_back({term, "", "", ""});
    const size_t at = rng.Below(words.size() - 1);
    q["phrase"].push_back({"\"" + words[at] + " " + words[at + 1] + "\"", "", "", ""});
    q["prefix"].push_back({Utf8Prefix(word, 4) + "*", "", "", ""});
    static const char* kLanguages[] = {"en", "ru", "kk"};
    const int month = 5 + static_cast<int>(rng.Below(6));
    char from[16], to[16];
    std::snprintf(from, sizeof from, "2011-%02d-01", month);
    std::snprintf(to, sizeof to, "2011-%02d-28", month + 2);
    q["filtered"].push_back({term, kLanguages[rng.Below(3)], from, to});
  }
  return q;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

struct ClassResult {
  std::vector<double> ms;
  std::vector<double> cpu_ms;
  double hits = 0;    // mean hits per query
  double capped = 0;  // fraction with ranked_recent_only
};

struct Side {
  std::string name;      // "estelik" or "unicode61"
  std::string tokenize;  // StoreOptions::fts_tokenizer
  double ingest_seconds = 0;
  double withdraw_ms = 0;
  std::map<std::string, ClassResult> classes;
  double tokenizer_mb_per_s = 0;
  double eval_recall = 0;  // on tests/data/search_eval (search quality, not speed)
  double eval_precision = 0;
};

// Recall and precision of `side`'s tokenizer on the labelled evaluation set, in a store of its
// own (tests/data/search_eval; the same figures SearchEvalTest asserts for estelik).
void RunEval(Side& side, const std::string& path, const estelik::testing::SearchEval& eval) {
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  Db db = OpenDb(path);
  estelik::store::StoreOptions options;
  options.fts_tokenizer = side.tokenize;
  auto opened = Store::Open(db.get(), options);
  Check(opened.status(), "Store::Open (eval)");
  Store& store = **opened;
  std::map<std::string, std::string> ids;  // store id -> eval id
  estelik::crypto::SecretBytes key(estelik::store::kContentKeySize);
  auto batch = store.BeginBatch();
  Check(batch.status(), "BeginBatch");
  for (size_t i = 0; i < eval.testimonies.size(); ++i) {
    SampleTestimony s;
    s.language = "kk";
    s.body = eval.testimonies[i].text;
    s.event_date = "2011-12-16";
    estelik::store::NewTestimony t = ToNew(s, 10'000'000 + i);
    ids[t.id] = eval.testimonies[i].id;
    Check(store.CreateTestimony(t, key), "CreateTestimony (eval)");
  }
  Check(batch->Commit(), "Batch::Commit");
  const estelik::testing::EvalScore score = estelik::testing::ScoreSearchEval(
      eval,
      [&](const std::string& text) {
        estelik::pb::SearchQuery q;
        q.set_text(text);
        q.mutable_page()->set_limit(500);
        auto page = store.Search(q);
        if (!page.ok()) Die("eval query " + text + ": " + page.status().ToString());
        std::vector<std::string> found;
        for (const auto& h : page->hits()) found.push_back(ids[h.testimony_id()]);
        return found;
      },
      nullptr);
  side.eval_recall = score.recall();
  side.eval_precision = score.precision();
  std::printf("  eval     recall %.3f  precision %.3f  (%zu queries, %zu testimonies)\n",
              side.eval_recall, side.eval_precision, eval.queries.size(), eval.testimonies.size());
}

void RunQueries(Store& store, Side& side, const std::map<std::string, std::vector<Query>>& qs) {
  side.classes.clear();
  for (const auto& [kind, list] : qs) {
    ClassResult& r = side.classes[kind];
    size_t hits = 0, capped = 0;
    for (const Query& query : list) {
      estelik::pb::SearchQuery sq;
      sq.set_text(query.text);
      sq.mutable_page()->set_limit(20);
      if (!query.language.empty()) {
        sq.mutable_filter()->add_languages(query.language);
        sq.mutable_filter()->mutable_event_dates()->set_from(query.from);
        sq.mutable_filter()->mutable_event_dates()->set_to(query.to);
      }
      const auto start = Clock::now();
      const double cpu_start = ThreadCpuMs();
      auto page = store.Search(sq);
      r.cpu_ms.push_back(ThreadCpuMs() - cpu_start);
      r.ms.push_back(Seconds(start) * 1000.0);
      if (!page.ok()) Die("query " + query.text + ": " + page.status().ToString());
      hits += page->hits_size();
      capped += page->ranked_recent_only();
    }
    r.hits = static_cast<double>(hits) / static_cast<double>(list.size());
    r.capped = static_cast<double>(capped) / static_cast<double>(list.size());
  }
}

int CountToken(void* count, int, const char*, int, int, int) {
  ++*static_cast<size_t*>(count);
  return SQLITE_OK;
}

// Pure tokenizer throughput through the FTS5 tokenizer API, both tokenizers in the same loop:
// passes alternate between them (best of five each), so that load from other processes on a
// shared machine falls on both alike and their ratio stays meaningful.
void MeasureTokenizers(std::vector<Side>& sides, const std::vector<SampleTestimony>& corpus) {
  sqlite3* raw = nullptr;
  if (sqlite3_open(":memory:", &raw) != SQLITE_OK) Die("cannot open :memory:");
  Db db(raw);
  Check(estelik::store::RegisterTokenizer(db.get()), "RegisterTokenizer");
  auto api = estelik::store::GetFts5Api(db.get());
  if (!api.ok()) Die(api.status().ToString());
  struct Instance {
    fts5_tokenizer tok{};
    Fts5Tokenizer* instance = nullptr;
    double best = 1e9;
  };
  std::vector<Instance> inst(sides.size());
  for (size_t i = 0; i < sides.size(); ++i) {
    const bool ours = sides[i].name == "estelik";
    void* user = nullptr;
    if ((*api)->xFindTokenizer(*api, ours ? "estelik" : "unicode61", &user, &inst[i].tok) !=
        SQLITE_OK)
      Die("no tokenizer " + sides[i].name);
    const char* args[] = {"remove_diacritics", "2"};
    if (inst[i].tok.xCreate(user, ours ? nullptr : args, ours ? 0 : 2, &inst[i].instance) !=
        SQLITE_OK)
      Die("cannot create tokenizer " + sides[i].name);
  }
  size_t bytes = 0;
  for (const auto& t : corpus) bytes += t.title.size() + t.body.size();
  for (int pass = 0; pass < 5; ++pass) {
    for (Instance& x : inst) {
      size_t tokens = 0;
      const auto start = Clock::now();
      for (const auto& t : corpus) {
        x.tok.xTokenize(x.instance, &tokens, FTS5_TOKENIZE_DOCUMENT, t.title.data(),
                        static_cast<int>(t.title.size()), CountToken);
        x.tok.xTokenize(x.instance, &tokens, FTS5_TOKENIZE_DOCUMENT, t.body.data(),
                        static_cast<int>(t.body.size()), CountToken);
      }
      x.best = std::min(x.best, Seconds(start));
    }
  }
  for (size_t i = 0; i < sides.size(); ++i) {
    inst[i].tok.xDelete(inst[i].instance);
    sides[i].tokenizer_mb_per_s = static_cast<double>(bytes) / 1e6 / inst[i].best;
    std::printf("%s: tokenizer %.1f MB/s (best of 5, passes alternating)\n", sides[i].name.c_str(),
                sides[i].tokenizer_mb_per_s);
  }
}

size_t ParseFlag(int argc, char** argv, const char* name, size_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::strtoull(argv[i + 1], nullptr, 10);
  }
  return fallback;
}

std::string StringFlag(int argc, char** argv, const char* name) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return "";
}

void RunSide(Side& side, const std::string& path, const std::vector<SampleTestimony>& corpus,
             const std::map<std::string, std::vector<Query>>& queries) {
  const bool reuse = std::filesystem::exists(path);
  Db db = OpenDb(path);
  estelik::store::StoreOptions options;
  options.fts_tokenizer = side.tokenize;
  auto opened = Store::Open(db.get(), options);
  Check(opened.status(), "Store::Open");
  Store& store = **opened;
  std::printf("%s:\n", side.name.c_str());
  if (!reuse) {
    estelik::crypto::SecretBytes key(estelik::store::kContentKeySize);
    constexpr size_t kBatch = 1000;
    const auto start = Clock::now();
    for (size_t i = 0; i < corpus.size(); i += kBatch) {
      auto batch = store.BeginBatch();
      Check(batch.status(), "BeginBatch");
      for (size_t k = i; k < std::min(corpus.size(), i + kBatch); ++k)
        Check(store.CreateTestimony(ToNew(corpus[k], k), key), "CreateTestimony");
      Check(batch->Commit(), "Batch::Commit");
    }
    side.ingest_seconds = Seconds(start);
    std::printf("  ingest   %.0f docs/s (%.1f s)\n",
                static_cast<double>(corpus.size()) / side.ingest_seconds, side.ingest_seconds);
  } else {
    std::printf("  ingest   (reused %s)\n", path.c_str());
  }
  RunQueries(store, side, queries);  // warm the page cache
  RunQueries(store, side, queries);
  for (const auto& [kind, r] : side.classes) {
    std::printf(
        "  %-8s p50 %7.3f ms  p99 %7.3f ms  (CPU p50 %.3f  p99 %.3f ms; %.1f hits, %.0f%% "
        "ranked recent only)\n",
        kind.c_str(), Percentile(r.ms, 0.5), Percentile(r.ms, 0.99), Percentile(r.cpu_ms, 0.5),
        Percentile(r.cpu_ms, 0.99), r.hits, 100.0 * r.capped);
  }
  if (!reuse && side.name == "estelik") {
    // Withdrawal rewrites the testimony's FTS shard ('optimize', 1/16 of the index) and
    // checkpoints the WAL: its cost grows with the store. Three withdrawals, mean.
    const auto start = Clock::now();
    for (size_t k = 0; k < 3; ++k) {
      estelik::pb::Hlc hlc;
      hlc.set_wall_ms(1'700'000'000'000ull + k);
      Check(store.Withdraw(TestimonyId(k), std::string(estelik::store::kAuthorSize, 'A'), hlc),
            "Withdraw");
    }
    side.withdraw_ms = Seconds(start) * 1000.0 / 3;
    std::printf("  withdraw %.0f ms each\n", side.withdraw_ms);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const size_t docs = ParseFlag(argc, argv, "--docs", 100000);
  const size_t query_count = ParseFlag(argc, argv, "--queries", 300);
  const uint64_t seed = ParseFlag(argc, argv, "--seed", 1);
  const std::string keep_dir = StringFlag(argc, argv, "--dir");
  if (docs < 10 || query_count < 1)
    Die("usage: search_bench [--docs N>=10] [--queries Q] [--seed S] [--dir D] [--only CLASS]");

  std::printf("generating %zu testimonies (seed %llu)...\n", docs,
              static_cast<unsigned long long>(seed));
  const std::vector<SampleTestimony> corpus = estelik::testing::GenerateCorpus(seed, docs);
  size_t bytes = 0;
  for (const auto& t : corpus) bytes += t.title.size() + t.body.size();
  std::printf("  %.1f MB of text; default VFS (not encrypted: see vfs_bench)\n",
              static_cast<double>(bytes) / 1e6);
  auto queries = MakeQueries(corpus, query_count, seed);
  const std::string only = StringFlag(argc, argv, "--only");
  if (!only.empty()) std::erase_if(queries, [&](const auto& q) { return q.first != only; });
  if (queries.empty())
    Die("--only: no query class " + only + " (single, phrase, prefix, filtered)");

  estelik::testing::TempDir temp;
  std::string dir = keep_dir.empty() ? temp.path().string() : keep_dir;
  std::filesystem::create_directories(dir);
  std::vector<Side> sides(2);
  sides[0].name = sides[0].tokenize = "estelik";
  sides[1].name = "unicode61";
  sides[1].tokenize = "unicode61 remove_diacritics 2";
  const std::string tag = "-" + std::to_string(docs) + "-" + std::to_string(seed) + ".db";
  for (Side& side : sides) RunSide(side, dir + "/" + side.name + tag, corpus, queries);
  MeasureTokenizers(sides, corpus);
  estelik::testing::SearchEval eval;
  std::string eval_error;
  if (!estelik::testing::LoadSearchEval(estelik::testing::SearchEvalDir(ESTELIK_SOURCE_DIR), &eval,
                                        &eval_error))
    Die(eval_error);
  for (Side& side : sides) {
    std::printf("%s:\n", side.name.c_str());
    RunEval(side, dir + "/eval-" + side.name + ".db", eval);
  }

  const Side& e = sides[0];
  const Side& u = sides[1];
  const double ingest_ratio = u.ingest_seconds > 0 ? e.ingest_seconds / u.ingest_seconds : 0;
  const double tokenizer_ratio = u.tokenizer_mb_per_s / e.tokenizer_mb_per_s;
  std::printf("estelik/unicode61: ingest time %.2fx, tokenizer cost %.2fx", ingest_ratio,
              tokenizer_ratio);
  for (const auto& [kind, r] : e.classes) {
    std::printf(", %s p99 %.2fx", kind.c_str(),
                Percentile(r.ms, 0.99) / Percentile(u.classes.at(kind).ms, 0.99));
  }
  std::printf("\n");
  std::string json = "{\"bench\":\"search\",\"vfs\":\"default\",\"docs\":" + std::to_string(docs) +
                     ",\"queries_per_class\":" + std::to_string(query_count) +
                     ",\"text_mb\":" + std::to_string(static_cast<double>(bytes) / 1e6);
  for (const Side* side : {&e, &u}) {
    json += ",\"" + side->name + "\":{\"ingest_docs_per_s\":" +
            std::to_string(
                side->ingest_seconds > 0 ? static_cast<double>(docs) / side->ingest_seconds : 0) +
            ",\"tokenizer_mb_per_s\":" + std::to_string(side->tokenizer_mb_per_s) +
            ",\"eval_recall\":" + std::to_string(side->eval_recall) +
            ",\"eval_precision\":" + std::to_string(side->eval_precision);
    if (side->withdraw_ms > 0) json += ",\"withdraw_ms\":" + std::to_string(side->withdraw_ms);
    for (const auto& [kind, r] : side->classes) {
      json += ",\"" + kind + "_p50_ms\":" + std::to_string(Percentile(r.ms, 0.5)) + ",\"" + kind +
              "_p99_ms\":" + std::to_string(Percentile(r.ms, 0.99)) + ",\"" + kind +
              "_cpu_p50_ms\":" + std::to_string(Percentile(r.cpu_ms, 0.5)) + ",\"" + kind +
              "_cpu_p99_ms\":" + std::to_string(Percentile(r.cpu_ms, 0.99)) + ",\"" + kind +
              "_ranked_recent_only\":" + std::to_string(r.capped);
    }
    json += "}";
  }
  json += ",\"ingest_time_ratio\":" + std::to_string(ingest_ratio) +
          ",\"tokenizer_cost_ratio\":" + std::to_string(tokenizer_ratio) + "}";
  std::printf("%s\n", json.c_str());
  return 0;
}
