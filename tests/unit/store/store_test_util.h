// Helpers for the store tests. ALL SQLite opening of the store tests happens here: the suite
// runs on the real encrypted store (the "estelik" VFS, WAL, as the Vault opens store.db).
#pragma once

#include <sodium.h>
#include <sqlite3.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/crypto/secret.h"
#include "core/store/store.h"
#include "core/vault/vfs.h"
#include "core/vault/vfs_format.h"
#include "proto/record.pb.h"
#include "tests/support/temp_dir.h"

namespace estelik::store::testing {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;

// The page key of every test vault: random, one per test process.
inline const crypto::SecretBytes& TestPageKey() {
  static const crypto::SecretBytes key = [] {
    crypto::EnsureSodium();
    crypto::SecretBytes k(32);
    randombytes_buf(k.data(), k.size());
    return k;
  }();
  return key;
}

// Opens (creating if needed) an encrypted store.db at `path` exactly as the Vault does:
// through the encrypting VFS with TestPageKey(), ConfigureConnection(wal = true) (WAL,
// locking_mode=EXCLUSIVE: one connection per file at a time). Aborts the test binary on
// failure: nothing can be tested without it.
inline DbHandle OpenTestDb(const std::string& path) {
  if (!vault::RegisterVfs().ok() || !vault::AttachKey(path, TestPageKey()).ok()) std::abort();
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                           vault::kVfsName);
  if (rc != SQLITE_OK || !vault::ConfigureConnection(db, /*wal=*/true).ok()) {
    sqlite3_close_v2(db);
    std::abort();
  }
  return DbHandle(db);
}

// A plain (unencrypted) SQLite file, for the few tests about SQLite's own files: the v1
// fixture, the WAL purge, and files written by tools that open plain SQLite.
inline DbHandle OpenPlainTestDb(const std::string& path, bool wal = false) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc == SQLITE_OK && wal)
    rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_close_v2(db);
    std::abort();
  }
  return DbHandle(db);
}

// The plaintext of every page of the encrypted database file at `path` (closed), opened with
// TestPageKey() exactly as the VFS seals them (docs/FORMAT.md "Pages"); "" if any page fails
// to open. This is what the file holds, free pages and slack included, not what SQL shows.
inline std::string DecryptedPages(const std::string& path) {
  const std::string file = estelik::testing::ReadFileBytes(path);
  namespace f = vault::vfs_format;
  if (file.size() % f::kPageBytes != 0) return "";
  std::string plain;
  for (size_t page = 0; page * f::kPageBytes < file.size(); ++page) {
    uint8_t out[f::kPageContent];
    const auto* sealed = reinterpret_cast<const uint8_t*>(file.data() + page * f::kPageBytes);
    if (!f::OpenUnit(TestPageKey(), f::FileKind::kMain, page + 1, sealed, f::kPageContent, out))
      return "";
    plain.append(reinterpret_cast<const char*>(out), sizeof out);
  }
  return plain;
}

// Deterministic 16-byte id / 32-byte author from a small number.
inline std::string Id(uint8_t n) { return std::string(15, '\x11') + static_cast<char>(n); }
inline std::string Author(uint8_t n) { return std::string(31, '\xa0') + static_cast<char>(n); }
inline crypto::SecretBytes Key(uint8_t n) {
  crypto::SecretBytes k(kContentKeySize);
  for (size_t i = 0; i < k.size(); ++i) k.data()[i] = static_cast<uint8_t>(n + i);
  return k;
}
inline pb::Hlc Hlc(uint64_t wall, uint32_t counter = 0) {
  pb::Hlc h;
  h.set_wall_ms(wall);
  h.set_counter(counter);
  return h;
}
inline pb::TestimonyFields Fields(const std::string& title, const std::string& body,
                                  const std::string& language = "kk") {
  pb::TestimonyFields f;
  f.set_title(title);
  f.set_body(body);
  f.set_language(language);
  f.set_consent_scope(pb::CONSENT_SCOPE_PRIVATE);
  return f;
}
inline NewTestimony Testimony(uint8_t n, pb::TestimonyFields fields, uint64_t created_wall = 0) {
  NewTestimony t;
  t.id = Id(n);
  t.author = Author(1);
  t.created = Hlc(created_wall ? created_wall : 1000 + n);
  t.recorded_unix_ms = 500 + n;
  t.fields = std::move(fields);
  return t;
}

}  // namespace estelik::store::testing
