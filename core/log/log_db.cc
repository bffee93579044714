#include "core/log/log_db.h"

#include "core/sql/sql_status.h"

namespace estelik::log::internal {

namespace {
Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  return sql::FromSqlite(db, rc, "op log database: " + std::string(what));
}
}  // namespace

Stmt::Stmt(sqlite3* db, std::string_view sql) : db_(db) {
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) status_ = SqliteError(db, rc, "prepare");
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::Bind(int i, int64_t v) {
  if (stmt_) sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Stmt& Stmt::Bind(int i, std::span<const uint8_t> blob) {
  // A zero-length blob must still bind as a blob, not NULL (the private scope is X'').
  if (stmt_) {
    sqlite3_bind_blob(stmt_, i, blob.empty() ? "" : static_cast<const void*>(blob.data()),
                      static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  }
  return *this;
}
Stmt& Stmt::BindBlob(int i, std::string_view blob) {
  return Bind(i,
              std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(blob.data()), blob.size()));
}
Stmt& Stmt::BindText(int i, std::string_view text) {
  if (stmt_) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  return *this;
}

Result<bool> Stmt::Step() {
  if (!status_.ok()) return status_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, "step");
}

Status Stmt::Run() {
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

void Stmt::Reset() {
  if (stmt_) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

int64_t Stmt::Int(int col) const { return sqlite3_column_int64(stmt_, col); }
std::string Stmt::Blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(static_cast<const char*>(p), n) : std::string();
}
std::string Stmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
}

Status Exec(sqlite3* db, std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  int rc = sqlite3_exec(db, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return SqliteError(db, rc, msg);
  }
  return Status::Ok();
}

StmtCache::Handle StmtCache::Get(const char* sql) {
  auto& slot = stmts_[sql];
  if (!slot || !slot->prepare_status().ok()) slot = std::make_unique<Stmt>(db_, sql);
  slot->Reset();
  return Handle(slot.get());
}

Savepoint::Savepoint(sqlite3* db) : db_(db) { status_ = Exec(db, "SAVEPOINT estelik_log"); }

Savepoint::~Savepoint() {
  if (!done_ && status_.ok()) {
    (void)Exec(db_, "ROLLBACK TO estelik_log");
    (void)Exec(db_, "RELEASE estelik_log");
  }
}

Status Savepoint::Commit() {
  ESTELIK_RETURN_IF_ERROR(status_);
  Status st = Exec(db_, "RELEASE estelik_log");
  done_ = st.ok();  // a failed RELEASE (e.g. busy) still rolls back in the destructor
  return st;
}

}  // namespace estelik::log::internal
