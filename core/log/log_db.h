// Internal to core/log: minimal RAII over SQLite statements and savepoints.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"

namespace estelik::log::internal {

// A prepared statement, finalized on destruction. Errors carry SQLite's message.
class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  const Status& prepare_status() const { return status_; }
  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, std::span<const uint8_t> blob);
  Stmt& BindBlob(int i, std::string_view blob);
  Stmt& BindText(int i, std::string_view text);
  // true: a row is available; false: done. Errors become a Status.
  Result<bool> Step();
  Status Run();  // steps to completion
  void Reset();

  int64_t Int(int col) const;
  std::string Blob(int col) const;
  std::string Text(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  Status status_;
};

Status Exec(sqlite3* db, std::string_view sql);

// Prepared statements kept for the life of the cache (preparing costs as much as running
// most of ours). Keyed by the address of the SQL string literal. A handle resets its
// statement when it goes out of scope, so no statement stays active between calls.
class StmtCache {
 public:
  explicit StmtCache(sqlite3* db) : db_(db) {}
  class Handle {
   public:
    explicit Handle(Stmt* s) : s_(s) {}
    ~Handle() { s_->Reset(); }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    Stmt& operator*() { return *s_; }

   private:
    Stmt* s_;
  };
  Handle Get(const char* sql);

 private:
  sqlite3* db_;
  std::unordered_map<const char*, std::unique_ptr<Stmt>> stmts_;
};

// SAVEPOINT that rolls back unless Commit() is called; nests inside a caller's transaction.
class Savepoint {
 public:
  explicit Savepoint(sqlite3* db);
  ~Savepoint();
  Savepoint(const Savepoint&) = delete;
  Savepoint& operator=(const Savepoint&) = delete;
  const Status& begin_status() const { return status_; }
  Status Commit();

 private:
  sqlite3* db_;
  Status status_;
  bool done_ = false;
};

}  // namespace estelik::log::internal
