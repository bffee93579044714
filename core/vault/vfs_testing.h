// Testing hooks of the encrypting VFS. Never used by production code.
#pragma once

#include <cstddef>
#include <cstdint>

namespace estelik::vault::testing {

// Replaces the CSPRNG nonce source with `source` (nullptr restores the CSPRNG). For format
// vector tests only: a fixed nonce destroys confidentiality. Not thread-safe with concurrent
// writes through the VFS.
using NonceSource = void (*)(uint8_t* out, size_t size);
void SetNonceSourceForTesting(NonceSource source);

}  // namespace estelik::vault::testing
