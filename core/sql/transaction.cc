#include "core/sql/transaction.h"

#include <cassert>

#include "core/sql/stmt.h"

namespace estelik::sql {
namespace {
// One name for every level: ROLLBACK TO and RELEASE act on the innermost savepoint of that
// name, which is always the current Transaction's because Transactions end in reverse order.
constexpr char kSavepoint[] = "SAVEPOINT estelik";
constexpr char kRelease[] = "RELEASE estelik";
constexpr char kRollbackNested[] = "ROLLBACK TO estelik; RELEASE estelik";
}  // namespace

Result<Transaction> Transaction::Begin(sqlite3* db) {
  assert(db != nullptr);
  const bool nested = sqlite3_get_autocommit(db) == 0;
  ESTELIK_RETURN_IF_ERROR(Exec(db, nested ? kSavepoint : "BEGIN IMMEDIATE"));
  return Transaction(db, nested);
}

Transaction::Transaction(Transaction&& o) noexcept
    : db_(o.db_), nested_(o.nested_), open_(o.open_) {
  o.open_ = false;
}

Transaction::~Transaction() {
  if (!open_) return;
  // Errors cannot be reported from here; SQLite rolls back a failed transaction itself.
  sqlite3_exec(db_, nested_ ? kRollbackNested : "ROLLBACK", nullptr, nullptr, nullptr);
}

Status Transaction::Commit() {
  assert(open_ && "Transaction::Commit: already committed or moved from");
  ESTELIK_RETURN_IF_ERROR(Exec(db_, nested_ ? kRelease : "COMMIT"));
  open_ = false;
  return Status::Ok();
}

}  // namespace estelik::sql
