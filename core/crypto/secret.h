// SecretBytes: key material in libsodium secure memory.
//
// The buffer comes from sodium_malloc (guard pages, mlock'ed so it is never swapped to disk)
// and is wiped by sodium_free on destruction or Wipe(). It is move-only: a key is never
// silently copied. Use Clone() when a second owner is really needed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace estelik::crypto {

// Initializes libsodium once; safe to call from any thread, any number of times.
// Aborts the process if libsodium cannot initialize (no usable randomness).
void EnsureSodium();

class SecretBytes {
 public:
  SecretBytes() = default;
  // Allocates `size` bytes of zeroed secure memory. Aborts if secure memory is exhausted.
  explicit SecretBytes(size_t size);
  // Copies `bytes` into new secure memory.
  static SecretBytes CopyOf(std::span<const uint8_t> bytes);
  // `size` bytes from the system CSPRNG.
  static SecretBytes Random(size_t size);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  SecretBytes Clone() const;
  // Zeroes and frees the memory; afterwards empty() is true.
  void Wipe();

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return data_ == nullptr; }
  std::span<const uint8_t> span() const { return {data_, size_}; }
  std::span<uint8_t> mutable_span() { return {data_, size_}; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Constant-time equality of two equal-length byte strings; false if the lengths differ.
bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b);

}  // namespace estelik::crypto
