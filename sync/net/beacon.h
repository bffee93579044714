// Beacon: the LAN discovery datagram, pure (no sockets, no clocks), so it can be pinned by
// test vectors. docs/DISCOVERY.md is the normative description; in short:
//
//   offset size  field
//   0      1     version, 0x01
//   1      16    nonce, fresh random bytes for every beacon
//   17     2     sealed port: the TCP listening port (big-endian) XOR pad[0..2]
//   19     16    tag
//   total  35
//
//   K      = BLAKE2b-256(key = shared secret, msg = "estelik/discovery/v1/key")
//   pad    = BLAKE2b-128(key = K, msg = "estelik/discovery/v1/port" || nonce)
//   window = floor(unix seconds / 60), as 8 bytes big-endian
//   tag    = BLAKE2b-128(key = K, msg = "estelik/discovery/v1/tag" || version || nonce
//                                        || window || sealed port)
//
// Someone without K sees 35 bytes that look random and differ in every beacon (the nonce
// changes the pad and the tag), so a beacon reveals neither who sent it nor, across beacons,
// that it is the same sender. Someone with K recognises it and learns the port. A beacon is
// only a hint where to dial: it is replayable within its time window, and the Noise handshake
// decides who the peer really is.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "core/crypto/secret.h"
#include "core/status.h"

namespace estelik::sync::net {

inline constexpr uint8_t kBeaconVersion = 1;
inline constexpr size_t kBeaconNonceSize = 16;
inline constexpr size_t kBeaconTagSize = 16;
inline constexpr size_t kBeaconSize = 1 + kBeaconNonceSize + 2 + kBeaconTagSize;  // 35
inline constexpr size_t kDiscoveryKeySize = 32;
inline constexpr size_t kDiscoverySecretMinSize = 16;
inline constexpr size_t kDiscoverySecretMaxSize = 64;
inline constexpr uint64_t kBeaconWindowSeconds = 60;

using BeaconNonce = std::array<uint8_t, kBeaconNonceSize>;
using Beacon = std::array<uint8_t, kBeaconSize>;

// The discovery key K for a secret shared with a contact or a whole network (16 to 64 bytes).
// kInvalidArgument for a secret of another size.
Result<crypto::SecretBytes> DeriveDiscoveryKey(std::span<const uint8_t> shared_secret);

// The beacon announcing `port` under `key` (kDiscoveryKeySize bytes) at `unix_seconds`.
// The second form draws a fresh random nonce, which is what a sender must always do.
Beacon EncodeBeacon(const crypto::SecretBytes& key, uint16_t port, uint64_t unix_seconds,
                    const BeaconNonce& nonce);
Beacon EncodeBeacon(const crypto::SecretBytes& key, uint16_t port, uint64_t unix_seconds);

struct BeaconMatch {
  size_t key_index = 0;  // which of the keys recognised it
  uint16_t port = 0;
};

// Recognises `datagram` as a beacon under one of `keys`, made in the time window of
// `unix_seconds` or the one before or after (clock skew up to a minute). nullopt for anything
// else: wrong size, unknown version, unknown key, stale. The work done does not depend on
// which key, if any, matches: every key and window is tried and tags are compared in constant
// time. Costs 4 BLAKE2b calls per key and datagram: callers rate-limit.
std::optional<BeaconMatch> MatchBeacon(std::span<const uint8_t> datagram,
                                       std::span<const crypto::SecretBytes> keys,
                                       uint64_t unix_seconds);

}  // namespace estelik::sync::net
