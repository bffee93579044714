// The sizes of the engine's ids, keys and hashes, declared once (docs/FORMAT.md gives each
// one's bytes), and the one short form of an id that messages print.
//
// Thread safety: ShortId is pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace estelik {

inline constexpr size_t kTestimonyIdSize = 16;   // random, chosen by the author
inline constexpr size_t kAttachmentIdSize = 16;  // random, chosen by the author
inline constexpr size_t kCircleIdSize = 32;      // BLAKE2b-256 committing to the admin
inline constexpr size_t kHashSize = 32;          // BLAKE2b-256: op hashes, content hashes
inline constexpr size_t kPublicKeySize = 32;     // Ed25519 and X25519 public keys

// How many leading bytes of an id, a key or a hash a message shows.
inline constexpr size_t kShortIdBytes = 8;

// The short form of `id` in messages: its first kShortIdBytes bytes as 16 lower-case hex
// digits (all of it when shorter). Enough to tell apart any two ids a vault will hold, and
// a prefix every command that takes an id accepts.
std::string ShortId(std::string_view id);
std::string ShortId(std::span<const uint8_t> id);

// InvalidArgument "<what> must be <size> bytes, got <n>" unless `bytes` is `size` bytes long.
Status CheckIdSize(std::string_view bytes, size_t size, const char* what);

}  // namespace estelik
