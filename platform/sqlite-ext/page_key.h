// The extension's unlock, kept apart from estelikvfs.cc: that file includes sqlite3ext.h,
// whose macros reroute every sqlite3_* call through the host's API table, which the engine's
// own headers must not see.
#pragma once

#include <string>
#include <string_view>

#include "core/crypto/secret.h"
#include "core/status.h"

namespace estelik::sqlite_ext {

// The page key of the vault in `dir`, from vault::Vault::UnlockPageKey (so the failed-unlock
// guard counts the attempt and the derivation is the Vault's own).
Result<crypto::SecretBytes> PageKeyForVault(const std::string& dir, std::string_view passphrase);

}  // namespace estelik::sqlite_ext
