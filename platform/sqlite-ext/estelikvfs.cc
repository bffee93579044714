// The loadable SQLite extension: lets the stock sqlite3 shell (or any SQLite program that
// loads extensions) open an Estelik vault for inspection.
//
//   ESTELIK_PASSPHRASE='...' sqlite3
//   sqlite> .load /path/to/libestelikvfs
//   sqlite> .open file:/path/to/vault/store.db?vfs=estelik
//   (the URI form; the 3.40 shell's .open has no --vfs option. `sqlite3 -vfs estelik` cannot be
//   used because the VFS only exists once the extension is loaded.)
//
// Loading registers the "estelik" VFS (not as the default VFS: other databases the shell opens
// stay untouched) with a key provider that unlocks `vault.key` in the database's directory
// with $ESTELIK_PASSPHRASE and derives the page key from the master key. The extension stays
// loaded for the life of the process (SQLITE_OK_LOAD_PERMANENTLY) because the VFS lives in it.
//
// The VFS code calls the SQLite library it was linked against; the host must use the same
// shared libsqlite3 (as Debian's sqlite3 shell does).
#include <sqlite3ext.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/vault/vfs.h"
#include "platform/sqlite-ext/page_key.h"

SQLITE_EXTENSION_INIT1

namespace {

estelik::Result<estelik::crypto::SecretBytes> KeyFromEnvironment(const std::string& db_path) {
  using namespace estelik;
  const char* passphrase = std::getenv("ESTELIK_PASSPHRASE");
  if (passphrase == nullptr || *passphrase == '\0') {
    return Status(Code::kWrongPassphrase,
                  "set ESTELIK_PASSPHRASE to the vault's passphrase before opening " + db_path);
  }
  // Through the Vault's one unlock path, so the failed-unlock guard counts this attempt too.
  return sqlite_ext::PageKeyForVault(std::filesystem::path(db_path).parent_path().string(),
                                     passphrase);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int sqlite3_estelikvfs_init(
    sqlite3* db, char** error, const sqlite3_api_routines* api) {
  SQLITE_EXTENSION_INIT2(api);
  (void)db;
  estelik::Status s = estelik::vault::RegisterVfs();
  if (!s.ok()) {
    if (error != nullptr) *error = sqlite3_mprintf("%s", s.message().c_str());
    return SQLITE_ERROR;
  }
  estelik::vault::SetKeyProvider(KeyFromEnvironment);
  return SQLITE_OK_LOAD_PERMANENTLY;
}
