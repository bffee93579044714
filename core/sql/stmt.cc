#include "core/sql/stmt.h"

#include <cassert>
#include <utility>

#include "core/sql/sql_status.h"

namespace estelik::sql {

Result<Stmt> Stmt::Prepare(sqlite3* db, std::string_view sql) {
  assert(db != nullptr);
  Stmt s;
  s.db_ = db;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &s.stmt_, nullptr);
  if (rc != SQLITE_OK) return FromSqlite(db, rc, "preparing a statement");
  // Whitespace or a comment alone prepares to no statement; callers always mean one.
  if (s.stmt_ == nullptr) return Internal("preparing a statement: the SQL holds no statement");
  return s;
}

Stmt::Stmt(Stmt&& o) noexcept
    : db_(o.db_),
      stmt_(std::exchange(o.stmt_, nullptr)),
      bind_rc_(o.bind_rc_),
      bind_index_(o.bind_index_) {}

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    db_ = o.db_;
    stmt_ = std::exchange(o.stmt_, nullptr);
    bind_rc_ = o.bind_rc_;
    bind_index_ = o.bind_index_;
  }
  return *this;
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

void Stmt::CheckBind(int i, int rc) {
  // SQLITE_RANGE would mean an index outside the statement: asserted before binding.
  assert(rc != SQLITE_RANGE && rc != SQLITE_MISUSE);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) {
    bind_rc_ = rc;
    bind_index_ = i;
  }
}

#define ESTELIK_SQL_ASSERT_PARAM(i) \
  assert(stmt_ != nullptr && (i) >= 1 && (i) <= sqlite3_bind_parameter_count(stmt_))

Stmt& Stmt::BindText(int i, std::string_view text) {
  ESTELIK_SQL_ASSERT_PARAM(i);
  // A zero-length text is '' (not NULL) only with a non-null pointer.
  CheckBind(i, sqlite3_bind_text(stmt_, i, text.empty() ? "" : text.data(),
                                 static_cast<int>(text.size()), SQLITE_TRANSIENT));
  return *this;
}

Stmt& Stmt::BindBlob(int i, std::span<const uint8_t> bytes) {
  ESTELIK_SQL_ASSERT_PARAM(i);
  // A zero-length blob must still be a BLOB (X''), not NULL: the private scope is X''.
  static const uint8_t kEmpty = 0;
  CheckBind(i, sqlite3_bind_blob(stmt_, i, bytes.empty() ? &kEmpty : bytes.data(),
                                 static_cast<int>(bytes.size()), SQLITE_TRANSIENT));
  return *this;
}

Stmt& Stmt::BindBlob(int i, std::string_view bytes) {
  return BindBlob(
      i, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

Stmt& Stmt::BindInt(int i, int64_t v) {
  ESTELIK_SQL_ASSERT_PARAM(i);
  CheckBind(i, sqlite3_bind_int64(stmt_, i, v));
  return *this;
}

Stmt& Stmt::BindDouble(int i, double v) {
  ESTELIK_SQL_ASSERT_PARAM(i);
  CheckBind(i, sqlite3_bind_double(stmt_, i, v));
  return *this;
}

Stmt& Stmt::BindNull(int i) {
  ESTELIK_SQL_ASSERT_PARAM(i);
  CheckBind(i, sqlite3_bind_null(stmt_, i));
  return *this;
}

Stmt& Stmt::BindPointer(int i, void* p, const char* type) {
  ESTELIK_SQL_ASSERT_PARAM(i);
  assert(type != nullptr);
  CheckBind(i, sqlite3_bind_pointer(stmt_, i, p, type, nullptr));
  return *this;
}

#undef ESTELIK_SQL_ASSERT_PARAM

Result<bool> Stmt::Step() {
  assert(stmt_ != nullptr);
  if (bind_rc_ != SQLITE_OK) {
    return FromSqlite(nullptr, bind_rc_, "binding parameter " + std::to_string(bind_index_));
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return FromSqlite(db_, rc, "executing a statement");
}

Status Stmt::Run() {
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) break;
  }
  sqlite3_reset(stmt_);
  return Status::Ok();
}

void Stmt::Reset() {
  assert(stmt_ != nullptr);
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
  bind_index_ = 0;
}

void Stmt::AssertColumn([[maybe_unused]] int col) const {
  assert(stmt_ != nullptr && col >= 0 && col < sqlite3_column_count(stmt_));
}

int64_t Stmt::Int(int col) const {
  AssertColumn(col);
  return sqlite3_column_int64(stmt_, col);
}

double Stmt::Double(int col) const {
  AssertColumn(col);
  return sqlite3_column_double(stmt_, col);
}

bool Stmt::IsNull(int col) const {
  AssertColumn(col);
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

std::string Stmt::Text(int col) const {
  AssertColumn(col);
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
}

std::string Stmt::Blob(int col) const {
  AssertColumn(col);
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(static_cast<const char*>(p), n) : std::string();
}

std::span<const uint8_t> Stmt::BlobSpan(int col) const {
  AssertColumn(col);
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (!p) return {};
  return {static_cast<const uint8_t*>(p), static_cast<size_t>(n)};
}

Status Exec(sqlite3* db, std::string_view sql) {
  assert(db != nullptr);
  const std::string text(sql);  // sqlite3_exec needs a NUL-terminated string
  int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) return Status::Ok();
  return FromSqlite(db, rc, "executing SQL");  // appends the connection's message
}

Result<std::string> QueryText(sqlite3* db, std::string_view sql) {
  ESTELIK_ASSIGN_OR_RETURN(Stmt stmt, Stmt::Prepare(db, sql));
  ESTELIK_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return Internal(std::string(sql) + " returned no row");
  return stmt.Text(0);
}

}  // namespace estelik::sql
