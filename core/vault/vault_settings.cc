// Vault settings kept encrypted inside store.db: table vault_settings(name, value), created on
// first write so that a vault nobody configured has exactly the schema it always had.
#include <sqlite3.h>

#include <optional>
#include <string>

#include "core/sql/stmt.h"
#include "core/vault/vault.h"

namespace estelik::vault {
namespace {

constexpr char kAutoLockName[] = "auto_lock_seconds";

// Every failure here is reported with what was being done; a damaged page still names the page
// (sql::FromSqlite takes the VFS's note as the whole message).
Status SettingsError(const Status& s, const char* what) {
  if (s.code() == Code::kCorrupt) return s;
  return Status(s.code(), std::string(what) + ": " + s.message());
}

}  // namespace

Status Vault::SetAutoLockSeconds(uint32_t seconds) {
  if (locked() || db() == nullptr) return VaultLocked();
  if (seconds > kMaxAutoLockSeconds) {
    return InvalidArgument("auto-lock must be at most " + std::to_string(kMaxAutoLockSeconds) +
                           " seconds (one week; 0 turns it off), not " + std::to_string(seconds));
  }
  Status s = sql::Exec(db(),
                       "CREATE TABLE IF NOT EXISTS vault_settings("
                       "name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID");
  if (s.ok()) {
    Result<sql::Stmt> stmt =
        sql::Stmt::Prepare(db(),
                           "INSERT INTO vault_settings(name, value) VALUES(?1, ?2) "
                           "ON CONFLICT(name) DO UPDATE SET value = excluded.value");
    s = stmt.ok() ? stmt->BindText(1, kAutoLockName).BindInt(2, seconds).Run() : stmt.status();
  }
  return s.ok() ? s : SettingsError(s, "cannot save the auto-lock setting");
}

Result<uint32_t> Vault::AutoLockSeconds() const {
  if (locked() || db() == nullptr) return VaultLocked();
  Result<std::optional<int64_t>> stored = ReadSetting(kAutoLockName);
  if (!stored.ok()) return SettingsError(stored.status(), "cannot read the vault settings");
  const int64_t value = stored->value_or(0);  // never set: off
  if (value < 0 || value > kMaxAutoLockSeconds) {
    return Corrupt("vault is corrupt or tampered: auto-lock setting " + std::to_string(value) +
                   " is out of range");
  }
  return static_cast<uint32_t>(value);
}

Result<std::optional<int64_t>> Vault::ReadSetting(const char* name) const {
  ESTELIK_ASSIGN_OR_RETURN(
      sql::Stmt exists,
      sql::Stmt::Prepare(
          db(), "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'vault_settings'"));
  ESTELIK_ASSIGN_OR_RETURN(bool table, exists.Step());
  if (!table) return std::optional<int64_t>();  // nobody configured this vault
  ESTELIK_ASSIGN_OR_RETURN(
      sql::Stmt stmt, sql::Stmt::Prepare(db(), "SELECT value FROM vault_settings WHERE name = ?1"));
  stmt.BindText(1, name);
  ESTELIK_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(stmt.Int(0));
}

}  // namespace estelik::vault
