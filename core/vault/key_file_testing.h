// Test-only entry points of the key file: the same code paths as KeyFile, with the randomness
// injected so a test can pin the exact bytes of the format (tests/unit/vault/key_file_test.cc).
// Never call these from production code: a predictable source makes a predictable key.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/vault/key_file.h"

namespace estelik::vault::internal {

// Fills its argument with random bytes.
using RandomSource = std::function<void(std::span<uint8_t>)>;

// KeyFile::Create with `random` instead of the system CSPRNG. Create draws, in this order:
// the salt (16 bytes), the master key (32), the slot choice (1 byte; its low bit is the slot),
// the slot's nonce (24) and the filler of the other slot (72).
Result<UnlockedKey> CreateWithRandomSource(const std::string& path, std::string_view passphrase,
                                           const KdfParams& params, const RandomSource& random);

}  // namespace estelik::vault::internal
