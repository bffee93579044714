// Helpers shared by the encrypting-VFS tests: open a real SQLite database through the VFS in
// a TempDir, run SQL, flip bytes in files.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/crypto/secret.h"
#include "core/vault/vfs.h"
#include "tests/support/temp_dir.h"

namespace estelik::vault::vfstest {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

// Opens `path` through the estelik VFS (key must be attached). Null on failure.
inline Db OpenRaw(const std::string& path, int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) {
  EXPECT_TRUE(RegisterVfs().ok());
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, kVfsName);
  Db db(raw);
  if (rc != SQLITE_OK) {
    ADD_FAILURE() << "sqlite3_open_v2(" << path << "): " << sqlite3_errstr(rc) << " / "
                  << LastVfsError();
    return nullptr;
  }
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

// Opens and configures; fails the test on error.
inline Db Open(const std::string& path, bool wal) {
  Db db = OpenRaw(path);
  if (db == nullptr) {
    ADD_FAILURE() << "cannot open " << path;
    return nullptr;
  }
  Status s = ConfigureConnection(db.get(), wal);
  if (!s.ok()) {
    ADD_FAILURE() << "ConfigureConnection: " << s.ToString();
    return nullptr;
  }
  return db;
}

// Runs `sql`; returns the SQLite result code.
inline int Exec(sqlite3* db, const std::string& sql) {
  return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
}

inline void MustExec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  ASSERT_EQ(rc, SQLITE_OK) << sql << ": " << (error ? error : "") << " / " << LastVfsError();
  sqlite3_free(error);
}

// Every row of the first column of `sql` as text; `rc` receives the final step's code.
inline std::vector<std::string> Column(sqlite3* db, const std::string& sql, int* rc = nullptr) {
  std::vector<std::string> rows;
  sqlite3_stmt* stmt = nullptr;
  int r = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  if (r == SQLITE_OK) {
    while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      rows.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
    }
    if (r == SQLITE_DONE) r = SQLITE_OK;
  }
  sqlite3_finalize(stmt);
  if (rc != nullptr) *rc = r;
  return rows;
}

inline std::string One(sqlite3* db, const std::string& sql) {
  int rc = 0;
  std::vector<std::string> rows = Column(db, sql, &rc);
  EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << sqlite3_errmsg(db) << " / " << LastVfsError();
  return rows.empty() ? std::string() : rows[0];
}

// XORs the byte at `offset` of `path` with `mask`.
inline void FlipByte(const std::string& path, long offset, unsigned char mask = 0x01) {
  FILE* f = std::fopen(path.c_str(), "r+b");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(std::fseek(f, offset, SEEK_SET), 0);
  int c = std::fgetc(f);
  ASSERT_NE(c, EOF) << path << " has no byte " << offset;
  ASSERT_EQ(std::fseek(f, offset, SEEK_SET), 0);
  std::fputc(c ^ mask, f);
  std::fclose(f);
}

inline void CopyFile(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

// A vault-like folder with a random page key attached to its store.db.
struct TestVault {
  estelik::testing::TempDir dir;
  std::string path = dir.File("store.db");
  crypto::SecretBytes key = crypto::SecretBytes::Random(32);
  TestVault() { EXPECT_TRUE(AttachKey(path, key).ok()); }
  ~TestVault() { DetachKey(path); }
};

}  // namespace estelik::vault::vfstest
