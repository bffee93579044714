// Internal helpers of core/store: RAII prepared statements and transactions over a
// connection the store does not own. Not part of the public API.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace estelik::store::internal {

// Status for a failed SQLite call, with the connection's message and `what` was being done.
Status SqliteError(sqlite3* db, int rc, std::string_view what);

// Runs SQL with no results (may hold several statements).
Status Exec(sqlite3* db, const char* sql);

// A prepared statement, finalized on destruction. Bind indexes are 1-based as in SQLite.
class Stmt {
 public:
  Stmt() = default;
  static Result<Stmt> Prepare(sqlite3* db, std::string_view sql);
  Stmt(Stmt&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, std::string_view text);
  Stmt& BindBlob(int i, std::span<const uint8_t> blob);
  Stmt& BindBlob(int i, std::string_view blob);
  Stmt& BindNull(int i);

  // Steps once. Returns true when a row is available, false when done.
  Result<bool> Step();
  // Steps to completion, expecting no rows.
  Status Run();
  void Reset();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const;
  std::string Blob(int col) const;  // a BLOB column as bytes in a std::string
  std::span<const uint8_t> BlobSpan(int col) const;

  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

// BEGIN IMMEDIATE on construction (a SAVEPOINT when a transaction is already open);
// rolled back on destruction unless Commit() succeeded.
class Transaction {
 public:
  static Result<Transaction> Begin(sqlite3* db);
  Transaction(Transaction&& o) noexcept : db_(o.db_), open_(o.open_), nested_(o.nested_) {
    o.open_ = false;
  }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();
  Status Commit();

 private:
  explicit Transaction(sqlite3* db) : db_(db), open_(true) {}
  sqlite3* db_;
  bool open_;
  bool nested_ = false;
};

// Strict UTF-8 (what proto3 string fields require).
bool IsUtf8(std::string_view s);

std::string Hex(std::span<const uint8_t> bytes);
inline std::string Hex(std::string_view bytes) {
  return Hex(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}
inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace estelik::store::internal
