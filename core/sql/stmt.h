// Prepared statements: the one way engine code runs SQL on a connection it does not own (the
// store, the op log, the archive, tools and tests).
//
// Values are bound by explicit kind (BindText, BindBlob, BindInt, BindDouble, BindNull): a
// byte string is never bound as TEXT by accident, and a zero-length blob is X'', not NULL.
// Bind indexes are 1-based and column indexes 0-based, as in SQLite; an index out of range is
// a bug (asserted).
//
// Errors: every failure becomes a Status through the one mapping, sql::FromSqlite
// (core/sql/sql_status.h), so a damaged page reports kCorrupt naming the file and page.
//
// Ownership and threading: a Stmt belongs to the connection it was prepared on and must be
// destroyed before that connection is closed. Like the connection, a Stmt is used by one
// thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/status.h"

namespace estelik::sql {

// A prepared statement, finalized on destruction. Movable, not copyable; a moved-from or
// default-constructed Stmt holds nothing and may only be assigned or destroyed.
class Stmt {
 public:
  Stmt() = default;
  // Prepares the first statement of `sql` on `db` (non-null). Cost: a parse; cache statements
  // that run often (StmtCache).
  static Result<Stmt> Prepare(sqlite3* db, std::string_view sql);
  Stmt(Stmt&& o) noexcept;
  Stmt& operator=(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  // Bind parameter `i` (1-based). Values are copied. A bind SQLite refuses (a value over its
  // size limit, out of memory) is reported by the next Step() or Run().
  Stmt& BindText(int i, std::string_view text);  // UTF-8; empty is '', not NULL
  Stmt& BindBlob(int i, std::span<const uint8_t> bytes);
  Stmt& BindBlob(int i, std::string_view bytes);  // the string's bytes, as a BLOB
  Stmt& BindInt(int i, int64_t v);
  Stmt& BindDouble(int i, double v);
  Stmt& BindNull(int i);
  // sqlite3_bind_pointer: `type` must be a string literal (SQLite keeps the pointer).
  Stmt& BindPointer(int i, void* p, const char* type);

  // Steps once: true when a row is available (read it with the column getters), false when
  // the statement is done. Errors (including a refused bind) become a Status.
  Result<bool> Step();
  // Steps until done, discarding any rows, then resets (bindings are kept).
  Status Run();
  // Resets the statement and clears its bindings, so it can run again.
  void Reset();

  // Column `col` (0-based) of the current row; valid only after Step() returned true. Text,
  // Blob and BlobSpan of NULL are empty; BlobSpan points into SQLite's row buffer and is valid
  // until the next Step(), Reset() or destruction.
  int64_t Int(int col) const;
  double Double(int col) const;
  bool IsNull(int col) const;
  std::string Text(int col) const;
  std::string Blob(int col) const;  // a BLOB column as bytes in a std::string
  std::span<const uint8_t> BlobSpan(int col) const;

  // The raw handle, for SQLite calls this class does not wrap; null when empty.
  sqlite3_stmt* get() const { return stmt_; }

 private:
  void CheckBind(int i, int rc);
  void AssertColumn(int col) const;

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  int bind_rc_ = SQLITE_OK;  // the first bind SQLite refused since the last Reset()
  int bind_index_ = 0;
};

// Runs `sql` on `db` (may hold several statements; any rows are discarded).
Status Exec(sqlite3* db, std::string_view sql);

// Runs one statement and returns the first column of its first row as text (NULL is empty), e.g.
// a PRAGMA's value. kInternal when the statement returns no row.
Result<std::string> QueryText(sqlite3* db, std::string_view sql);

// The one row loop: steps `s` and calls `fn(const Stmt&)` for each row. `fn` returns void,
// or a Status that stops the loop and is returned when not OK. Returns the first step error
// or OK when every row was visited. Does not reset `s`.
template <typename Fn>
Status ForEachRow(Stmt& s, Fn&& fn) {
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Status::Ok();
    if constexpr (std::is_void_v<std::invoke_result_t<Fn&, const Stmt&>>) {
      fn(static_cast<const Stmt&>(s));
    } else {
      ESTELIK_RETURN_IF_ERROR(fn(static_cast<const Stmt&>(s)));
    }
  }
}

}  // namespace estelik::sql
