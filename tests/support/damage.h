// Damaging a vault's store.db the way a flipped bit or a tamperer would, page by page, to test
// what every public entry point reports (docs/FORMAT.md "Pages": "vault is corrupt or
// tampered: store.db page N").
#pragma once

#include <cstdint>
#include <set>
#include <string>

namespace estelik::testing {

// The size of one store.db page on disk (core/vault/vfs_format.h kPageBytes).
inline constexpr uint64_t kStorePageBytes = 4096;

// Flips one byte in the middle of each page (1-based page numbers) of the file at `path`.
// Returns an empty string, or why the file could not be changed.
std::string FlipPages(const std::string& path, const std::set<uint32_t>& pages);

// The page number a message "vault is corrupt or tampered: store.db page N" names, or 0.
uint32_t DamagedPageNamed(const std::string& message);

}  // namespace estelik::testing
