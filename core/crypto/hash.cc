#include "core/crypto/hash.h"

#include "core/crypto/secret.h"

namespace estelik::crypto {

Hash256 Blake2b256(std::span<const uint8_t> data) {
  EnsureSodium();
  Hash256 out;
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), nullptr, 0);
  return out;
}

Hash256 Blake2b256(std::string_view data) {
  return Blake2b256(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

Hasher::Hasher() {
  EnsureSodium();
  crypto_generichash_init(&state_, nullptr, 0, kHashSize);
}

void Hasher::Update(std::span<const uint8_t> data) {
  crypto_generichash_update(&state_, data.data(), data.size());
}

void Hasher::Update(std::string_view data) {
  Update(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

Hash256 Hasher::Finish() {
  Hash256 out;
  crypto_generichash_final(&state_, out.data(), out.size());
  crypto_generichash_init(&state_, nullptr, 0, kHashSize);
  return out;
}

}  // namespace estelik::crypto
