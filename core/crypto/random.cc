#include "core/crypto/random.h"

#include <sodium.h>

#include "core/crypto/secret.h"

namespace estelik::crypto {

void RandomFill(std::span<uint8_t> out) {
  EnsureSodium();
  randombytes_buf(out.data(), out.size());
}

uint32_t RandomUniform(uint32_t upper_bound) {
  EnsureSodium();
  return upper_bound == 0 ? 0 : randombytes_uniform(upper_bound);
}

}  // namespace estelik::crypto
