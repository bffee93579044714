#include "core/sql/sql_status.h"

#include <cassert>

namespace estelik::sql {
namespace {

thread_local std::string t_damage;

// The extended code of the failure: sqlite3_step and friends return only the primary code
// unless extended result codes are on, and SQLITE_IOERR_AUTH is an extended code.
int ExtendedCode(sqlite3* db, int rc) {
  if (db == nullptr || (rc & ~0xff) != 0) return rc;
  int extended = sqlite3_extended_errcode(db);
  return (extended & 0xff) == (rc & 0xff) ? extended : rc;
}

}  // namespace

void NoteDamage(std::string message) { t_damage = std::move(message); }
const std::string& LastDamage() { return t_damage; }
void ClearDamage() { t_damage.clear(); }

bool IsDamage(sqlite3* db, int rc) {
  const int code = ExtendedCode(db, rc);
  const int primary = code & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB || code == SQLITE_IOERR_AUTH;
}

Status FromSqlite(sqlite3* db, int rc, std::string_view what) {
  assert(rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE);
  const int code = ExtendedCode(db, rc);
  const std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  const std::string prefix = std::string(what) + ": ";
  if (IsDamage(db, rc)) {
    if (!t_damage.empty()) return Corrupt(t_damage);
    return Corrupt("vault is corrupt or tampered: " + prefix + detail);
  }
  switch (code & 0xff) {
    case SQLITE_FULL:
      return IoError(prefix + "the disk is full");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return IoError(prefix + "the vault is in use by another process or connection");
    case SQLITE_INTERRUPT:
      return Status(Code::kLocked, prefix + "the vault was locked during this call");
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOMEM:
      return IoError(prefix + detail);
    case SQLITE_CONSTRAINT:
      return AlreadyExists(prefix + detail);
    default:
      return Internal(prefix + detail);
  }
}

}  // namespace estelik::sql
