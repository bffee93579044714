// Randomness from the system CSPRNG (libsodium randombytes). Never fails, never blocks after
// libsodium is initialized (which these functions do themselves).
//
// Thread safety: every function may be called from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace estelik::crypto {

// Fills `out` with random bytes.
void RandomFill(std::span<uint8_t> out);

// A uniformly random integer in [0, upper_bound), without modulo bias. `upper_bound` must be
// at least 1 (0 returns 0).
uint32_t RandomUniform(uint32_t upper_bound);

// N random bytes, e.g. an id or a nonce: `auto id = RandomArray<16>();`
template <size_t N>
std::array<uint8_t, N> RandomArray() {
  std::array<uint8_t, N> out;
  RandomFill(out);
  return out;
}

}  // namespace estelik::crypto
