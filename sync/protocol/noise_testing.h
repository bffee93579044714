// Test-only hooks for noise.h. Production code never includes this header.
//
// Noise test vectors fix each side's ephemeral key, and deterministic tests of the secure
// channel want reproducible bytes. While a ScopedEphemeralKeySource is alive, every
// KeyPair::Generate() on the constructing thread takes its private key from the source
// instead of the system CSPRNG. Static keys never come from here.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace estelik::sync::noise::testing {

// Fills its argument (kDhLen bytes) with the next private key.
using EphemeralKeySource = std::function<void(std::span<uint8_t>)>;

class ScopedEphemeralKeySource {
 public:
  explicit ScopedEphemeralKeySource(EphemeralKeySource source);
  ~ScopedEphemeralKeySource();
  ScopedEphemeralKeySource(const ScopedEphemeralKeySource&) = delete;
  ScopedEphemeralKeySource& operator=(const ScopedEphemeralKeySource&) = delete;

 private:
  EphemeralKeySource source_;
  EphemeralKeySource* previous_;
};

// A source handing out `keys` in order (for vectors); once exhausted it derives further keys
// deterministically from the last one.
EphemeralKeySource KeysInOrder(std::vector<std::vector<uint8_t>> keys);
// A deterministic source: key i = BLAKE2b-256(seed || i).
EphemeralKeySource SeededKeys(uint64_t seed);

}  // namespace estelik::sync::noise::testing
