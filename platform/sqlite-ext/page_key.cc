#include "platform/sqlite-ext/page_key.h"

#include "core/vault/vault.h"

namespace estelik::sqlite_ext {

Result<crypto::SecretBytes> PageKeyForVault(const std::string& dir, std::string_view passphrase) {
  return vault::Vault::UnlockPageKey(dir, passphrase);
}

}  // namespace estelik::sqlite_ext
