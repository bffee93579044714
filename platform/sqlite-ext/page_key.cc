#include "platform/sqlite-ext/page_key.h"

#include "core/vault/key_file.h"
#include "core/vault/vault.h"

namespace estelik::sqlite_ext {

Result<crypto::SecretBytes> PageKeyForVault(const std::string& dir, std::string_view passphrase) {
  ESTELIK_ASSIGN_OR_RETURN(vault::UnlockedKey unlocked, vault::Vault::UnlockKey(dir, passphrase));
  return vault::DeriveSubkey(unlocked.master_key, 1, "estlpage");
}

}  // namespace estelik::sqlite_ext
