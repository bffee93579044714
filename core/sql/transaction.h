// Transactions: all-or-nothing groups of statements on one connection.
//
// Nesting: a Transaction begun while the connection is in autocommit mode (no transaction
// open) is the outermost one: BEGIN IMMEDIATE, so the write lock is taken at the start and a
// busy vault is reported before any work is done; Commit() is COMMIT. A Transaction begun
// while any transaction is already open on the connection (an outer Transaction, a
// Store::Batch, the Archive applying an op and its store mutation together) is a savepoint
// inside it: SAVEPOINT, and Commit() is RELEASE, which makes its changes part of the outer
// transaction (they are durable only when the outermost one commits). Either way a
// Transaction destroyed without a successful Commit() undoes exactly its own changes
// (ROLLBACK; or ROLLBACK TO and RELEASE, leaving the outer transaction open and intact). So a
// unit of work that promises all-or-nothing keeps that promise whether or not its caller
// already holds a transaction.
//
// Invariants: nested Transactions end in the reverse order of their beginning (RAII scopes
// give this); a Transaction must end before its connection closes. One thread at a time, the
// connection's.
#pragma once

#include <sqlite3.h>

#include "core/status.h"

namespace estelik::sql {

class Transaction {
 public:
  // Begins a transaction on `db` (non-null), outermost or nested as above.
  static Result<Transaction> Begin(sqlite3* db);
  Transaction(Transaction&& o) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  // Rolls back unless Commit() succeeded.
  ~Transaction();

  // Commits (outermost) or releases (nested). On failure (e.g. the disk is full, the vault is
  // busy) nothing is committed and the destructor still rolls back. Call at most once.
  Status Commit();

  // Whether this is a savepoint inside another transaction.
  bool nested() const { return nested_; }

 private:
  Transaction(sqlite3* db, bool nested) : db_(db), nested_(nested), open_(true) {}
  sqlite3* db_;
  bool nested_;
  bool open_;
};

}  // namespace estelik::sql
