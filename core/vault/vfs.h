// The encrypting SQLite VFS ("estelik"): a shim over the default VFS that seals every page of
// a database, its WAL and its rollback journal with an AEAD. See docs/FORMAT.md ("Pages").
//
// A database opened through this VFS needs a key: either registered for its path with
// AttachKey() before sqlite3_open_v2(), or supplied on demand by a KeyProvider (the loadable
// sqlite3 extension uses one that reads ESTELIK_PASSPHRASE and the vault.key next to the
// database). Opening a file with no key available fails with SQLITE_CANTOPEN (LastVfsError()
// says why).
//
// Errors SQLite reports for a vault: SQLITE_IOERR_AUTH when a page, WAL frame or journal block
// fails authentication or is truncated, SQLITE_NOTADB when page 1 does not open with the key
// (wrong key), SQLITE_IOERR_WRITE when a page 1 without the VFS's geometry would be written.
// Temp files SQLite asks the VFS for are kept in memory; super-journals are refused.
//
// Thread safety: every function here may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/crypto/secret.h"
#include "core/status.h"

struct sqlite3;

namespace estelik::vault {

inline constexpr char kVfsName[] = "estelik";
// Page size every Estelik database uses (set before the first table is created).
inline constexpr int kPageSize = 4096;

// The AEAD that seals a database's pages, WAL frames and journal blocks (docs/FORMAT.md,
// "Pages"). Fixed for the life of a database: chosen when it is created, recognized from page 1
// when it is opened. AES-256-GCM only where crypto_aead_aes256gcm_is_available().
enum class PageCipher : uint8_t { kXChaCha20Poly1305 = 0, kAes256Gcm = 1 };

// AES-256-GCM if this CPU has the instructions libsodium needs (AES-NI and PCLMUL), else
// XChaCha20-Poly1305.
PageCipher PreferredPageCipher();

// Registers the "estelik" VFS with SQLite (not as the default). Idempotent.
Status RegisterVfs();

// Makes `page_key` (32 bytes, from DeriveSubkey(master, 1, "estlpage")) the key for the
// database at `db_path` and its -wal and -journal files. `db_path` is the path as given to
// sqlite3_open_v2; it is canonicalized. The key is copied into secure memory. `cipher` seals a
// database created under this key; an existing database keeps the cipher it was created with
// (recognized from page 1: its tag verifies under exactly one of the two ciphers). kUnsupported
// if `cipher` is kAes256Gcm on a CPU without AES-NI.
Status AttachKey(const std::string& db_path, const crypto::SecretBytes& page_key,
                 PageCipher cipher = PageCipher::kXChaCha20Poly1305);

// Forgets the key of `db_path` and wipes it. Connections already open keep working until
// closed; callers close them first (panic-lock does).
void DetachKey(const std::string& db_path);

// Called when a database with no attached key is opened. Returns the page key or an error.
using KeyProvider = std::function<Result<crypto::SecretBytes>(const std::string& db_path)>;
void SetKeyProvider(KeyProvider provider);

// Call right after sqlite3_open_v2(..., kVfsName), before any other statement. On a new, empty
// database sets the page size (kPageSize) and the 40 reserve bytes the VFS needs (the VFS
// refuses to write a page 1 laid out otherwise); on any database sets temp_store=MEMORY,
// mmap_size=0 and synchronous=FULL, then reads page 1, so a wrong key (kCorrupt, "wrong key or
// not an Estelik vault") or a tampered header is reported here. `wal` selects journal_mode=WAL,
// otherwise DELETE. With `wal` it also sets locking_mode=EXCLUSIVE so the wal-index stays in
// process memory and no -shm file reaches the disk: the connection then holds the database
// for itself until closed (one connection per vault).
Status ConfigureConnection(sqlite3* db, bool wal);

// The last corruption the VFS detected on this thread, e.g. "vault is corrupt or tampered:
// store.db page 412"; empty if none. SQLite reports such reads as SQLITE_IOERR_AUTH /
// SQLITE_CORRUPT, which carries no detail; callers add this message to their Status.
std::string LastVfsError();
// How the note above starts when neither page 1 nor page 2 opens under the key given: at this
// level a wrong key and a store damaged from its first page look alike (callers that proved the
// key, like Vault, report damage).
inline constexpr std::string_view kWrongKeyNote = "wrong key or not an Estelik vault";
// Forgets this thread's LastVfsError().
void ClearLastVfsError();

}  // namespace estelik::vault
