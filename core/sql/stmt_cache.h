// A connection's prepared statements, kept for the life of the cache: preparing costs as much
// as running most of the engine's statements.
//
// Ownership and threading: the cache borrows the connection, which must outlive it; it is
// used by the connection's one thread at a time.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <unordered_map>

#include "core/sql/stmt.h"
#include "core/status.h"

namespace estelik::sql {

class StmtCache {
 public:
  explicit StmtCache(sqlite3* db) : db_(db) {}  // `db` non-null
  StmtCache(StmtCache&&) = default;
  StmtCache& operator=(StmtCache&&) = default;

  // A statement borrowed from the cache: reset with its bindings cleared when handed out and
  // again when the handle goes out of scope, so no statement stays active (holding a read
  // snapshot) between calls. At most one handle per SQL text may be alive at a time.
  class Handle {
   public:
    explicit Handle(Stmt* s) : s_(s) {}
    Handle(Handle&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
    Handle& operator=(Handle&&) = delete;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() {
      if (s_) s_->Reset();
    }
    Stmt& operator*() const { return *s_; }
    Stmt* operator->() const { return s_; }

   private:
    Stmt* s_;
  };

  // The statement for `sql`, prepared on first use. Keyed by the address of `sql`, which must
  // be a string literal (or otherwise live, unchanged, as long as the cache). A failed prepare
  // is returned and not cached, so the next call tries again.
  Result<Handle> Get(const char* sql);

 private:
  sqlite3* db_;
  std::unordered_map<const char*, std::unique_ptr<Stmt>> stmts_;
};

}  // namespace estelik::sql
