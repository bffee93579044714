// The discovery beacon (docs/DISCOVERY.md), pinned by a vector computed independently
// (Python hashlib.blake2b) from the documented construction.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/bytes.h"
#include "sync/net/beacon.h"

namespace estelik::sync::net {
namespace {

constexpr uint64_t kTime = 1'700'000'000;  // window 28333333

std::vector<uint8_t> Sequence(uint8_t first, size_t n) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(first + i);
  return out;
}

crypto::SecretBytes KeyFrom(uint8_t first) {
  return DeriveDiscoveryKey(Sequence(first, 32)).value();
}

BeaconNonce VectorNonce() {
  BeaconNonce nonce;
  for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<uint8_t>(0xa0 + i);
  return nonce;
}

TEST(BeaconTest, KeyDerivationMatchesTheVector) {
  EXPECT_EQ(Hex(KeyFrom(0x00).span()),
            "3a266dda16916901032c6b87695979c428e488cba6bf90d754a2c79cade707b1");
}

TEST(BeaconTest, EncodingMatchesTheVector) {
  const Beacon beacon = EncodeBeacon(KeyFrom(0x00), 47001, kTime, VectorNonce());
  EXPECT_EQ(Hex(beacon),
            "01"                                  // version
            "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"    // nonce
            "ecd6"                                // sealed port
            "8115a57fc9ce8caaeb567f87c5e4ab9f");  // tag
}

TEST(BeaconTest, SecretsOfTheWrongSizeAreRejected) {
  EXPECT_EQ(DeriveDiscoveryKey(Sequence(0, 15)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(DeriveDiscoveryKey(Sequence(0, 65)).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(DeriveDiscoveryKey(Sequence(0, 16)).ok());
  EXPECT_TRUE(DeriveDiscoveryKey(Sequence(0, 64)).ok());
}

TEST(BeaconTest, TheKeyHolderRecognisesTheBeaconAndLearnsThePort) {
  std::vector<crypto::SecretBytes> keys;
  keys.push_back(KeyFrom(0x40));
  keys.push_back(KeyFrom(0x00));
  const Beacon beacon = EncodeBeacon(keys[1], 47001, kTime);
  const auto match = MatchBeacon(beacon, keys, kTime);
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(match->key_index, 1u);
  EXPECT_EQ(match->port, 47001);
}

TEST(BeaconTest, ABeaconUnderAnUnknownKeyIsIgnored) {
  std::vector<crypto::SecretBytes> keys;
  keys.push_back(KeyFrom(0x40));
  const Beacon beacon = EncodeBeacon(KeyFrom(0x00), 47001, kTime);
  EXPECT_FALSE(MatchBeacon(beacon, keys, kTime).has_value());
}

TEST(BeaconTest, TwoBeaconsFromTheSameNodeShareNoByteString) {
  const crypto::SecretBytes key = KeyFrom(0x00);
  const Beacon a = EncodeBeacon(key, 47001, kTime);
  const Beacon b = EncodeBeacon(key, 47001, kTime);
  EXPECT_NE(a, b);
  // Beyond the version byte, nothing repeats: not the nonce, not the sealed port, not the tag.
  EXPECT_NE(Hex(std::span(a).subspan(1, 16)), Hex(std::span(b).subspan(1, 16)));
  EXPECT_NE(Hex(std::span(a).subspan(19)), Hex(std::span(b).subspan(19)));
}

TEST(BeaconTest, ABeaconIsAcceptedOneWindowEitherSideAndNotBeyond) {
  std::vector<crypto::SecretBytes> keys;
  keys.push_back(KeyFrom(0x00));
  const Beacon beacon = EncodeBeacon(keys[0], 9, kTime);
  EXPECT_TRUE(MatchBeacon(beacon, keys, kTime + kBeaconWindowSeconds).has_value());
  EXPECT_TRUE(MatchBeacon(beacon, keys, kTime - kBeaconWindowSeconds).has_value());
  EXPECT_FALSE(MatchBeacon(beacon, keys, kTime + 2 * kBeaconWindowSeconds).has_value());
  EXPECT_FALSE(MatchBeacon(beacon, keys, kTime - 2 * kBeaconWindowSeconds).has_value());
}

TEST(BeaconTest, MalformedOrAlteredDatagramsAreIgnored) {
  std::vector<crypto::SecretBytes> keys;
  keys.push_back(KeyFrom(0x00));
  const Beacon beacon = EncodeBeacon(keys[0], 47001, kTime);
  std::vector<uint8_t> bytes(beacon.begin(), beacon.end());

  EXPECT_FALSE(MatchBeacon({}, keys, kTime).has_value());
  EXPECT_FALSE(MatchBeacon(std::span(bytes).first(kBeaconSize - 1), keys, kTime).has_value());
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(MatchBeacon(longer, keys, kTime).has_value());
  for (size_t i = 0; i < bytes.size(); ++i) {  // every single-bit flip, including the version
    std::vector<uint8_t> altered = bytes;
    altered[i] ^= 0x01;
    EXPECT_FALSE(MatchBeacon(altered, keys, kTime).has_value()) << "byte " << i;
  }
  EXPECT_TRUE(MatchBeacon(bytes, keys, kTime).has_value());
}

}  // namespace
}  // namespace estelik::sync::net
