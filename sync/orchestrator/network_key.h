// The community's network key (docs/PROTOCOL.md "Transport"): given as raw bytes (the C API),
// as 64 hex digits or in a file (the CLI), or else the public default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/crypto/secret.h"
#include "core/status.h"

namespace estelik::sync {

struct NetworkKeySource {
  const uint8_t* bytes = nullptr;          // kNetworkKeySize raw bytes, borrowed for the call
  std::optional<std::string> hex;          // 64 hex digits (trailing whitespace ignored)
  std::string hex_origin = "network key";  // what `hex` is called in errors ("--network-key")
  std::optional<std::string> file;         // a file of 64 hex digits or 32 raw bytes
};

// The first of `bytes`, `hex` and `file` that is given, else DefaultNetworkKey(). Errors:
// kInvalidArgument "ORIGIN: a network key is 64 hex digits (32 bytes)" (wrong length) or
// "ORIGIN: a network key is 64 hex digits" (a non-hex digit), ORIGIN being hex_origin or the
// file's path; kNotFound "cannot read network key file PATH".
Result<crypto::SecretBytes> LoadNetworkKey(NetworkKeySource source);

// 64 hex digits (trailing whitespace ignored) as a key; errors as LoadNetworkKey says. The
// text is wiped once read.
Result<crypto::SecretBytes> ParseNetworkKeyHex(std::string hex, const std::string& origin);

// A key file: exactly 32 raw bytes, or else 64 hex digits.
Result<crypto::SecretBytes> ReadNetworkKeyFile(const std::string& path);

}  // namespace estelik::sync
