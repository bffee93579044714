#include "core/sql/stmt_cache.h"

#include <cassert>

namespace estelik::sql {

Result<StmtCache::Handle> StmtCache::Get(const char* sql) {
  assert(db_ != nullptr && sql != nullptr);
  auto it = stmts_.find(sql);
  if (it == stmts_.end()) {
    ESTELIK_ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_, sql));
    it = stmts_.emplace(sql, std::make_unique<Stmt>(std::move(s))).first;
  }
  // A handle still alive for this statement would be reset under its holder.
  assert(!sqlite3_stmt_busy(it->second->get()) && "StmtCache: statement still in use");
  it->second->Reset();
  return Handle(it->second.get());
}

}  // namespace estelik::sql
