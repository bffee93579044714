// The one mapping from SQLite result codes to Status, for every layer that runs SQL (the vault,
// the store, the op log, settings). docs/FORMAT.md "Pages" says what a damaged page reports.
//
// Damage: the encrypting VFS (core/vault/vfs.cc) cannot hand SQLite a reason with an error
// code, so it notes on this thread where it found damage ("vault is corrupt or tampered:
// store.db page 412") and returns SQLITE_IOERR_AUTH, SQLITE_NOTADB or SQLITE_CORRUPT. Whoever
// then maps that code to a Status takes the note as the message, so every path that reads a
// damaged page (store, op log, search, attachments, rebuild, export, sync) reports kCorrupt
// naming the file and page, never "disk I/O error".
//
// Thread safety: the note is per thread; the mapping is a pure function of its arguments and
// that note.
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>

#include "core/status.h"

namespace estelik::sql {

// Records the damage the VFS just found on this thread; `message` is the whole user-facing
// sentence, e.g. "vault is corrupt or tampered: store.db page 412".
void NoteDamage(std::string message);
// The last damage noted on this thread; empty if none since ClearDamage().
const std::string& LastDamage();
void ClearDamage();

// Maps `rc`, returned by a call on `db` (may be null), to a Status:
// - SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_IOERR_AUTH (also when `rc` is only the primary code
//   and `db`'s extended code says so): kCorrupt with the noted damage as the message, or
//   "vault is corrupt or tampered: <what>: <SQLite's message>" when nothing was noted;
// - SQLITE_FULL: kIo "<what>: the disk is full";
// - other I/O, open and read-only errors: kIo; SQLITE_CONSTRAINT: kAlreadyExists;
// - SQLITE_BUSY / SQLITE_LOCKED: kIo "<what>: the vault is in use by another process or
//   connection";
// - SQLITE_INTERRUPT: kLocked "<what>: the vault was locked during this call" (only a
//   panic-lock interrupts a statement, through sql::Interrupt, interrupt.h);
// - anything else (misuse, bad SQL): kInternal.
// `what` says what was being done ("store: executing a statement"). Requires rc != SQLITE_OK.
Status FromSqlite(sqlite3* db, int rc, std::string_view what);

// Whether `rc` (with `db`'s extended code, `db` may be null) is one of the damage codes above.
bool IsDamage(sqlite3* db, int rc);

}  // namespace estelik::sql
