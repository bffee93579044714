#include "core/crypto/secret.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <utility>

namespace estelik::crypto {

void EnsureSodium() {
  static const int result = sodium_init();
  if (result < 0) std::abort();
}

SecretBytes::SecretBytes(size_t size) : size_(size) {
  EnsureSodium();
  // sodium_malloc(0) is allowed but returns a distinct pointer; keep empty() meaningful.
  data_ = static_cast<uint8_t*>(sodium_malloc(size == 0 ? 1 : size));
  if (data_ == nullptr) std::abort();
  sodium_memzero(data_, size == 0 ? 1 : size);
}

SecretBytes SecretBytes::CopyOf(std::span<const uint8_t> bytes) {
  SecretBytes s(bytes.size());
  if (!bytes.empty()) std::memcpy(s.data_, bytes.data(), bytes.size());
  return s;
}

SecretBytes SecretBytes::Random(size_t size) {
  SecretBytes s(size);
  randombytes_buf(s.data_, size);
  return s;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes::~SecretBytes() { Wipe(); }

SecretBytes SecretBytes::Clone() const { return CopyOf(span()); }

void SecretBytes::Wipe() {
  if (data_ != nullptr) sodium_free(data_);  // sodium_free zeroes before unmapping
  data_ = nullptr;
  size_ = 0;
}

bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace estelik::crypto
