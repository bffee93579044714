// vfs_crash_writer DB_PATH KEY_HEX wal|delete
//
// Writes transactions through the encrypting VFS forever and prints "<id>\n" on stdout after
// each COMMIT returned. The crash test kills it with SIGKILL at random moments and checks that
// every printed id survived. Each transaction inserts a row with that id, rewrites a few older
// rows and adds an FTS-sized blob, so commits touch many pages.
#include <sodium.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "core/crypto/secret.h"
#include "core/vault/vfs.h"

namespace {

int Fail(const char* what, sqlite3* db) {
  std::fprintf(stderr, "vfs_crash_writer: %s: %s / %s\n", what, db ? sqlite3_errmsg(db) : "",
               estelik::vault::LastVfsError().c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace estelik;
  if (argc != 4) {
    std::fprintf(stderr, "usage: vfs_crash_writer DB_PATH KEY_HEX wal|delete\n");
    return 1;
  }
  crypto::EnsureSodium();
  crypto::SecretBytes key(32);
  size_t key_len = 0;
  if (sodium_hex2bin(key.data(), key.size(), argv[2], std::strlen(argv[2]), nullptr, &key_len,
                     nullptr) != 0 ||
      key_len != 32) {
    std::fprintf(stderr, "vfs_crash_writer: KEY_HEX must be 64 hex digits\n");
    return 1;
  }
  const bool wal = std::strcmp(argv[3], "wal") == 0;
  if (!vault::RegisterVfs().ok() || !vault::AttachKey(argv[1], key).ok()) return 2;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vault::kVfsName) !=
      SQLITE_OK) {
    return Fail("open", db);
  }
  Status configured = vault::ConfigureConnection(db, wal);
  if (!configured.ok()) {
    std::fprintf(stderr, "vfs_crash_writer: %s\n", configured.ToString().c_str());
    return 2;
  }
  // A small cache so large transactions spill pages before commit.
  if (sqlite3_exec(db,
                   "PRAGMA cache_size=30;"
                   "CREATE TABLE IF NOT EXISTS tx(id INTEGER PRIMARY KEY, body TEXT, n INTEGER)",
                   nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Fail("schema", db);
  }
  sqlite3_stmt* max_stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM tx", -1, &max_stmt, nullptr);
  if (sqlite3_step(max_stmt) != SQLITE_ROW) return Fail("max", db);
  long long next = sqlite3_column_int64(max_stmt, 0) + 1;
  sqlite3_finalize(max_stmt);
  for (;; ++next) {
    std::string id = std::to_string(next);
    // Every 10th transaction is large (many pages, spills the cache).
    int rows = next % 10 == 0 ? 60 : 1;
    std::string sql = "BEGIN;";
    sql += "INSERT INTO tx(id, body, n) VALUES (" + id + ", hex(randomblob(600)), 0);";
    if (rows > 1) {
      sql += "UPDATE tx SET n = n + 1, body = hex(randomblob(500)) WHERE id % 7 = " + id + " % 7;";
    }
    sql += "COMMIT;";
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Fail("transaction", db);
    }
    std::string line = id + "\n";
    if (write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      return 3;
    }
  }
}
