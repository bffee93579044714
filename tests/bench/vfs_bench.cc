// vfs_bench [DOCS] [CACHE_KIB]: the same workload on plain SQLite (default VFS, no reserve bytes)
// and on the encrypting VFS with each page cipher this CPU runs (XChaCha20-Poly1305 always,
// AES-256-GCM with AES-NI), in one run. WAL mode, identical pragmas and page cache on both sides:
//   ingest  DOCS 1 KB documents with an FTS5 index, 100 per transaction (synchronous=FULL)
//   read    100000 point reads by id (enough work that timer noise stays below 1 %)
//   query   2000 FTS5 queries
// The page cache is CACHE_KIB (default 16384, a realistic app cache) on both sides.
// Each phase runs 3 times per configuration (alternating); the best time counts. One overhead
// line (encrypted / plain) per cipher; the last line is JSON for the cipher every vault uses
// (XChaCha20-Poly1305, AttachKey's default: AES-256-GCM stays optional because libsodium 1.0.18
// has no AES-GCM on ARM, so an AES vault could not be opened on a phone):
// {"cipher": C, "ingest_overhead": X, "read_overhead": Y, "query_overhead": Z}.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/crypto/secret.h"
#include "core/vault/vfs.h"
#include "tests/support/temp_dir.h"

namespace {

using Clock = std::chrono::steady_clock;

const char* kWords[] = {"river",  "house",   "soldier", "night",  "mother", "border",  "market",
                        "school", "prison",  "letter",  "winter", "bridge", "village", "doctor",
                        "train",  "station", "garden",  "radio",  "church", "factory"};

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "%s: %s / %s\n", what, sqlite3_errmsg(db),
                 estelik::vault::LastVfsError().c_str());
    std::exit(1);
  }
}

struct Times {
  double ingest = 1e30, read = 1e30, query = 1e30;
};

// `cipher` null: plain SQLite.
void RunOnce(const estelik::vault::PageCipher* cipher, int docs, int cache_kib, Times* best) {
  const bool encrypted = cipher != nullptr;
  estelik::testing::TempDir dir;
  std::string path = dir.File("store.db");
  sqlite3* db = nullptr;
  if (encrypted) {
    auto key = estelik::crypto::SecretBytes::Random(32);
    if (!estelik::vault::RegisterVfs().ok() ||
        !estelik::vault::AttachKey(path, key, *cipher).ok()) {
      std::exit(1);
    }
  }
  Check(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        encrypted ? estelik::vault::kVfsName : nullptr),
        db, "open");
  if (encrypted) {
    estelik::Status s = estelik::vault::ConfigureConnection(db, true);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      std::exit(1);
    }
  } else {
    // The same pragmas ConfigureConnection sets, minus the reserve bytes.
    Check(
        sqlite3_exec(db,
                     "PRAGMA temp_store=MEMORY; PRAGMA mmap_size=0; PRAGMA locking_mode=EXCLUSIVE;"
                     "PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL",
                     nullptr, nullptr, nullptr),
        db, "pragmas");
  }
  std::string cache = "PRAGMA cache_size=-" + std::to_string(cache_kib);
  Check(sqlite3_exec(db, cache.c_str(), nullptr, nullptr, nullptr), db, "cache");
  Check(sqlite3_exec(db,
                     "CREATE TABLE doc(id INTEGER PRIMARY KEY, body TEXT);"
                     "CREATE VIRTUAL TABLE doc_fts USING fts5(body, content='doc', "
                     "content_rowid='id')",
                     nullptr, nullptr, nullptr),
        db, "schema");
  std::mt19937 rng(42);
  // Ingest.
  sqlite3_stmt* ins = nullptr;
  sqlite3_stmt* ins_fts = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO doc(id, body) VALUES (?, ?)", -1, &ins, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO doc_fts(rowid, body) VALUES (?, ?)", -1, &ins_fts, nullptr);
  auto t0 = Clock::now();
  for (int i = 1; i <= docs; ++i) {
    if (i % 100 == 1) Check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
    std::string body;
    while (body.size() < 1024) {
      body += kWords[rng() % 20];
      body += std::to_string(rng() % 500);
      body += ' ';
    }
    for (sqlite3_stmt* st : {ins, ins_fts}) {
      sqlite3_bind_int(st, 1, i);
      sqlite3_bind_text(st, 2, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
      Check(sqlite3_step(st), db, "insert");
      sqlite3_reset(st);
    }
    if (i % 100 == 0 || i == docs) {
      Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
    }
  }
  auto t1 = Clock::now();
  sqlite3_finalize(ins);
  sqlite3_finalize(ins_fts);
  Check(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr), db, "ckpt");
  // Point reads.
  sqlite3_stmt* get = nullptr;
  sqlite3_prepare_v2(db, "SELECT length(body) FROM doc WHERE id = ?", -1, &get, nullptr);
  long long total = 0;
  auto t2 = Clock::now();
  for (int i = 0; i < 100000; ++i) {
    sqlite3_bind_int(get, 1, 1 + static_cast<int>(rng() % docs));
    Check(sqlite3_step(get), db, "get");
    total += sqlite3_column_int(get, 0);
    sqlite3_reset(get);
  }
  auto t3 = Clock::now();
  sqlite3_finalize(get);
  // FTS5 queries.
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT count(*) FROM (SELECT rowid FROM doc_fts WHERE doc_fts MATCH ? "
                     "ORDER BY rank LIMIT 20)",
                     -1, &q, nullptr);
  auto t4 = Clock::now();
  for (int i = 0; i < 2000; ++i) {
    std::string term = std::string(kWords[rng() % 20]) + std::to_string(rng() % 500) + " OR " +
                       kWords[rng() % 20] + std::to_string(rng() % 500);
    sqlite3_bind_text(q, 1, term.c_str(), -1, SQLITE_TRANSIENT);
    Check(sqlite3_step(q), db, "query");
    total += sqlite3_column_int(q, 0);
    sqlite3_reset(q);
  }
  auto t5 = Clock::now();
  sqlite3_finalize(q);
  sqlite3_close(db);
  if (encrypted) estelik::vault::DetachKey(path);
  auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  best->ingest = std::min(best->ingest, secs(t0, t1));
  best->read = std::min(best->read, secs(t2, t3));
  best->query = std::min(best->query, secs(t4, t5));
  if (total == 42) std::puts("");  // keep the reads observable
}

const char* Name(estelik::vault::PageCipher cipher) {
  return cipher == estelik::vault::PageCipher::kAes256Gcm ? "aes256gcm" : "xchacha20poly1305";
}

}  // namespace

int main(int argc, char** argv) {
  using estelik::vault::PageCipher;
  int docs = argc > 1 ? std::atoi(argv[1]) : 5000;
  int cache_kib = argc > 2 ? std::atoi(argv[2]) : 16384;
  estelik::crypto::EnsureSodium();
  const PageCipher preferred = estelik::vault::PreferredPageCipher();
  std::vector<PageCipher> ciphers{PageCipher::kXChaCha20Poly1305};
  if (preferred == PageCipher::kAes256Gcm) ciphers.push_back(PageCipher::kAes256Gcm);
  Times plain;
  std::vector<Times> encrypted(ciphers.size());
  for (int round = 0; round < 3; ++round) {
    RunOnce(nullptr, docs, cache_kib, &plain);
    for (size_t c = 0; c < ciphers.size(); ++c) {
      RunOnce(&ciphers[c], docs, cache_kib, &encrypted[c]);
    }
  }
  std::printf("docs=%d cache=%d KiB\n", docs, cache_kib);
  std::printf("plain:             ingest %.3f s  reads %.3f s  queries %.3f s\n", plain.ingest,
              plain.read, plain.query);
  const size_t chosen = 0;  // ciphers[0]: XChaCha20-Poly1305, the vault's cipher
  for (size_t c = 0; c < ciphers.size(); ++c) {
    const Times& e = encrypted[c];
    std::printf("%-18s ingest %.3f s  reads %.3f s  queries %.3f s\n", Name(ciphers[c]), e.ingest,
                e.read, e.query);
    std::printf("%-18s overhead: ingest %.3f  reads %.3f  queries %.3f\n", Name(ciphers[c]),
                e.ingest / plain.ingest, e.read / plain.read, e.query / plain.query);
  }
  const Times& e = encrypted[chosen];
  std::printf(
      "{\"cipher\": \"%s\", \"ingest_overhead\": %.3f, \"read_overhead\": %.3f, "
      "\"query_overhead\": %.3f}\n",
      Name(ciphers[chosen]), e.ingest / plain.ingest, e.read / plain.read, e.query / plain.query);
  return 0;
}
