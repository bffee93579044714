// Helpers shared by the vault tests.
#pragma once

#include "core/vault/vault.h"

namespace estelik::vault {

// Vault options with the cheapest key derivation, for tests that do not measure it.
inline VaultOptions FastOptions() {
  VaultOptions o;
  o.kdf = MinimalKdfParams();
  return o;
}

}  // namespace estelik::vault
