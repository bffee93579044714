#include "sync/net/beacon.h"

#include <sodium.h>

#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace estelik::sync::net {
namespace {

// Domain separation: each use of K hashes a distinct label, so a pad can never be mistaken
// for a tag or a key.
constexpr std::string_view kKeyLabel = "estelik/discovery/v1/key";
constexpr std::string_view kPadLabel = "estelik/discovery/v1/port";
constexpr std::string_view kTagLabel = "estelik/discovery/v1/tag";

constexpr size_t kNonceOffset = 1;
constexpr size_t kPortOffset = kNonceOffset + kBeaconNonceSize;
constexpr size_t kTagOffset = kPortOffset + 2;
static_assert(kTagOffset + kBeaconTagSize == kBeaconSize);

using Tag = std::array<uint8_t, kBeaconTagSize>;

// Keyed BLAKE2b of the concatenation of `parts`, `out.size()` bytes (16 to 64).
void KeyedHash(std::span<uint8_t> out, std::span<const uint8_t> key,
               std::initializer_list<std::span<const uint8_t>> parts) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, key.data(), key.size(), out.size());
  for (auto part : parts) crypto_generichash_update(&state, part.data(), part.size());
  crypto_generichash_final(&state, out.data(), out.size());
  sodium_memzero(&state, sizeof state);
}

std::span<const uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::array<uint8_t, 8> WindowBytes(uint64_t window) {
  std::array<uint8_t, 8> out{};
  for (int i = 7; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<uint8_t>(window);
    window >>= 8;
  }
  return out;
}

std::array<uint8_t, 2> Pad(const crypto::SecretBytes& key, std::span<const uint8_t> nonce) {
  std::array<uint8_t, 16> pad{};
  KeyedHash(pad, key.span(), {Bytes(kPadLabel), nonce});
  return {pad[0], pad[1]};
}

// The tag over the first kTagOffset bytes of a beacon (version, nonce, sealed port).
Tag ComputeTag(const crypto::SecretBytes& key, std::span<const uint8_t> beacon, uint64_t window) {
  const std::array<uint8_t, 8> w = WindowBytes(window);
  const std::span<const uint8_t> version = beacon.subspan(0, 1);
  const std::span<const uint8_t> nonce = beacon.subspan(kNonceOffset, kBeaconNonceSize);
  const std::span<const uint8_t> port = beacon.subspan(kPortOffset, 2);
  Tag tag{};
  KeyedHash(tag, key.span(), {Bytes(kTagLabel), version, nonce, w, port});
  return tag;
}

}  // namespace

Result<crypto::SecretBytes> DeriveDiscoveryKey(std::span<const uint8_t> shared_secret) {
  if (shared_secret.size() < kDiscoverySecretMinSize ||
      shared_secret.size() > kDiscoverySecretMaxSize) {
    return InvalidArgument("a discovery secret must be 16 to 64 bytes, not " +
                           std::to_string(shared_secret.size()));
  }
  crypto::EnsureSodium();
  crypto::SecretBytes key(kDiscoveryKeySize);
  KeyedHash(key.mutable_span(), shared_secret, {Bytes(kKeyLabel)});
  return key;
}

Beacon EncodeBeacon(const crypto::SecretBytes& key, uint16_t port, uint64_t unix_seconds,
                    const BeaconNonce& nonce) {
  crypto::EnsureSodium();
  Beacon beacon{};
  beacon[0] = kBeaconVersion;
  std::memcpy(beacon.data() + kNonceOffset, nonce.data(), nonce.size());
  const std::array<uint8_t, 2> pad = Pad(key, nonce);
  beacon[kPortOffset] = static_cast<uint8_t>(port >> 8) ^ pad[0];
  beacon[kPortOffset + 1] = static_cast<uint8_t>(port) ^ pad[1];
  const Tag tag = ComputeTag(key, beacon, unix_seconds / kBeaconWindowSeconds);
  std::memcpy(beacon.data() + kTagOffset, tag.data(), tag.size());
  return beacon;
}

Beacon EncodeBeacon(const crypto::SecretBytes& key, uint16_t port, uint64_t unix_seconds) {
  crypto::EnsureSodium();
  BeaconNonce nonce;
  randombytes_buf(nonce.data(), nonce.size());
  return EncodeBeacon(key, port, unix_seconds, nonce);
}

std::optional<BeaconMatch> MatchBeacon(std::span<const uint8_t> datagram,
                                       std::span<const crypto::SecretBytes> keys,
                                       uint64_t unix_seconds) {
  if (datagram.size() != kBeaconSize || datagram[0] != kBeaconVersion) return std::nullopt;
  crypto::EnsureSodium();
  const std::span<const uint8_t> tag = datagram.subspan(kTagOffset, kBeaconTagSize);
  const std::span<const uint8_t> nonce = datagram.subspan(kNonceOffset, kBeaconNonceSize);
  const uint64_t now_window = unix_seconds / kBeaconWindowSeconds;
  std::optional<BeaconMatch> match;
  // No early exit: every key and window costs the same whether or not it matches.
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].size() != kDiscoveryKeySize) continue;
    bool matched = false;
    for (uint64_t window : {now_window - 1, now_window, now_window + 1}) {
      const Tag expected = ComputeTag(keys[i], datagram, window);
      matched |= crypto::ConstantTimeEquals(expected, tag);
    }
    const std::array<uint8_t, 2> pad = Pad(keys[i], nonce);
    if (matched && !match) {
      const uint16_t port = static_cast<uint16_t>(((datagram[kPortOffset] ^ pad[0]) << 8) |
                                                  (datagram[kPortOffset + 1] ^ pad[1]));
      match = BeaconMatch{i, port};
    }
  }
  return match;
}

}  // namespace estelik::sync::net
