// BLAKE2b-256 (libsodium crypto_generichash, unkeyed, 32-byte output): the one hash of the
// engine (op chains, content hashes, attachment chunks, export bundles).
//
// Thread safety: Blake2b256 may be called from any thread; a Hasher is used by one thread at
// a time.
#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/ids.h"

namespace estelik::crypto {

using ::estelik::kHashSize;  // core/ids.h
using Hash256 = std::array<uint8_t, kHashSize>;

// BLAKE2b-256 of `data`.
Hash256 Blake2b256(std::span<const uint8_t> data);
Hash256 Blake2b256(std::string_view data);

// Streaming BLAKE2b-256: Update() any number of times, then Finish(). Hashing the pieces of a
// message gives the same result as Blake2b256 of the whole. Copyable (a copy forks the state).
class Hasher {
 public:
  Hasher();
  void Update(std::span<const uint8_t> data);
  void Update(std::string_view data);
  // Returns the hash of everything passed to Update() since construction or the last
  // Finish(), and starts over empty: a Hasher can be reused, never finalized twice.
  Hash256 Finish();

 private:
  crypto_generichash_state state_;
};

}  // namespace estelik::crypto
