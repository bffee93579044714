// Helpers shared by the Archive's source files. Not part of the public API.
#pragma once

#include <string>

#include "core/log/identity.h"

namespace estelik::archive {

// `size` random bytes.
std::string RandomId(size_t size);
// The identity's Ed25519 public key as a byte string.
std::string AuthorBytes(const log::Identity& identity);

}  // namespace estelik::archive
