// Fuzz target: a SecureChannel fed arbitrary bytes while it is still in the handshake, as a
// stranger on the network would. Byte 0 picks the role (responder or initiator after its
// first message) and how the rest is split into Feed() calls. The channel must never crash,
// never hand out more than its own handshake messages, and must close or wait.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "sync/protocol/noise_testing.h"
#include "sync/protocol/secure_channel.h"
#include "tests/unit/sync/raw_peer.h"

using estelik::sync::SecureChannel;
using estelik::sync::SecureChannelConfig;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const auto* identity =
      new estelik::sync::testing::Identity(estelik::sync::testing::Identity::FromSeed(0xB0));
  estelik::sync::noise::testing::ScopedEphemeralKeySource ephemerals(
      estelik::sync::noise::testing::SeededKeys(1));
  const bool initiator = data[0] & 1;
  const size_t chunk = (data[0] >> 1) + 1;

  SecureChannelConfig config;
  config.initiator = initiator;
  config.identity_secret_key = identity->secret_key.Clone();
  config.network_key = estelik::crypto::SecretBytes(32);
  config.is_contact = [](const estelik::sync::Ed25519PublicKey&) { return true; };
  auto channel = SecureChannel::Create(std::move(config));
  if (!channel.ok()) abort();
  (void)channel->TakeOutput();

  std::span<const uint8_t> input(data + 1, size - 1);
  while (!input.empty()) {
    const size_t n = std::min(chunk, input.size());
    (void)channel->Feed(input.first(n));
    input = input.subspan(n);
    // A handshake reply (message 2, or message 3 plus a close notice) is small.
    if (channel->TakeOutput().size() > 4096) abort();
    (void)channel->TakeEvents();
  }
  return 0;
}
