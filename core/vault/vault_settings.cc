// Vault settings kept encrypted inside store.db: table vault_settings(name, value), created on
// first write so that a vault nobody configured has exactly the schema it always had.
#include <sqlite3.h>

#include <string>

#include "core/sql/sql_status.h"
#include "core/vault/vault.h"

namespace estelik::vault {
namespace {

constexpr char kAutoLockName[] = "auto_lock_seconds";

struct StmtCloser {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtCloser>;

Status SettingsError(sqlite3* db, const std::string& what) {
  return sql::FromSqlite(db, sqlite3_extended_errcode(db), what);
}

Result<Stmt> Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
    return SettingsError(db, "cannot read the vault settings");
  }
  return Stmt(raw);
}

Status LockedError() {
  return Status(Code::kLocked, "the vault is locked; enter the passphrase again");
}

}  // namespace

Status Vault::SetAutoLockSeconds(uint32_t seconds) {
  if (locked() || db() == nullptr) return LockedError();
  if (seconds > kMaxAutoLockSeconds) {
    return InvalidArgument("auto-lock must be at most " + std::to_string(kMaxAutoLockSeconds) +
                           " seconds (one week; 0 turns it off), not " + std::to_string(seconds));
  }
  if (sqlite3_exec(db(),
                   "CREATE TABLE IF NOT EXISTS vault_settings("
                   "name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
                   nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SettingsError(db(), "cannot save the auto-lock setting");
  }
  ESTELIK_ASSIGN_OR_RETURN(Stmt stmt,
                           Prepare(db(),
                                   "INSERT INTO vault_settings(name, value) VALUES(?1, ?2) "
                                   "ON CONFLICT(name) DO UPDATE SET value = excluded.value"));
  sqlite3_bind_text(stmt.get(), 1, kAutoLockName, -1, SQLITE_STATIC);
  sqlite3_bind_int64(stmt.get(), 2, seconds);
  if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
    return SettingsError(db(), "cannot save the auto-lock setting");
  }
  return Status::Ok();
}

Result<uint32_t> Vault::AutoLockSeconds() const {
  if (locked() || db() == nullptr) return LockedError();
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt exists,
      Prepare(db(),
              "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'vault_settings'"));
  int rc = sqlite3_step(exists.get());
  if (rc == SQLITE_DONE) return uint32_t{0};  // never set
  if (rc != SQLITE_ROW) return SettingsError(db(), "cannot read the vault settings");
  ESTELIK_ASSIGN_OR_RETURN(Stmt stmt,
                           Prepare(db(), "SELECT value FROM vault_settings WHERE name = ?1"));
  sqlite3_bind_text(stmt.get(), 1, kAutoLockName, -1, SQLITE_STATIC);
  rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) return uint32_t{0};
  if (rc != SQLITE_ROW) return SettingsError(db(), "cannot read the vault settings");
  sqlite3_int64 value = sqlite3_column_int64(stmt.get(), 0);
  if (value < 0 || value > kMaxAutoLockSeconds) {
    return Corrupt("vault is corrupt or tampered: auto-lock setting " + std::to_string(value) +
                   " is out of range");
  }
  return static_cast<uint32_t>(value);
}

}  // namespace estelik::vault
