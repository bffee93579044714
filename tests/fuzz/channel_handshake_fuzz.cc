// Fuzz target: a SecureChannel fed arbitrary bytes while it is still in the handshake, as a
// stranger on the network would. Byte 0 picks the role, the mode and how the rest is split
// into Feed() calls:
//   mode 0: the rest is raw bytes;
//   mode 1: an authentic first message from a hand-written peer (raw_peer.h) comes first
//           (message 1 for a responder, message 2 for an initiator), then the raw bytes, so
//           the fuzzer reaches the later handshake states;
//   mode 2: the rest is the payload of an authentic message 2 (initiator) or 3 (responder),
//           so the HandshakePayload checks see arbitrary bytes.
// The channel must never crash, never hand out more than its own handshake messages, and must
// close or wait. A responder in mode 0 must send nothing at all: transport v2 answers only an
// initiator that knows its key (a stranger learns nothing).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "sync/protocol/noise_testing.h"
#include "sync/protocol/secure_channel.h"
#include "tests/unit/sync/raw_peer.h"

using estelik::sync::SecureChannel;
using estelik::sync::SecureChannelConfig;
using estelik::sync::testing::Frames;
using estelik::sync::testing::Identity;
using estelik::sync::testing::NetworkKey;
using estelik::sync::testing::RawPeer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const auto* alice = new Identity(Identity::FromSeed(0xA1));
  static const auto* bob = new Identity(Identity::FromSeed(0xB0));
  estelik::sync::noise::testing::ScopedEphemeralKeySource ephemerals(
      estelik::sync::noise::testing::SeededKeys(1));
  const bool initiator = data[0] & 1;
  const int mode = ((data[0] >> 1) & 3) % 3;
  const size_t chunk = (data[0] >> 3) + 1;

  // The channel under test is Bob as a responder, or Alice dialing Bob as an initiator.
  SecureChannelConfig config;
  config.initiator = initiator;
  config.identity_secret_key = (initiator ? alice : bob)->secret_key.Clone();
  config.network_key = estelik::crypto::SecretBytes::CopyOf(NetworkKey(0));
  config.is_contact = [](const estelik::sync::Ed25519PublicKey&) { return true; };
  if (initiator) config.expected_peer = bob->public_key;
  auto channel = SecureChannel::Create(std::move(config));
  if (!channel.ok()) abort();
  const std::vector<uint8_t> hello = channel->TakeOutput();

  std::span<const uint8_t> input(data + 1, size - 1);
  std::vector<uint8_t> prefix;
  if (mode != 0) {
    // The hand-written other side of the handshake.
    RawPeer peer(!initiator, initiator ? *bob : *alice, NetworkKey(0),
                 initiator ? std::nullopt : std::optional(bob->public_key));
    if (initiator) {
      const auto frames = Frames(hello);
      if (frames.size() != 1 || !peer.ReadHandshake(frames[0]).ok()) abort();
    } else {
      const std::vector<uint8_t> message1 = peer.WriteHandshake();
      if (!channel->Feed(message1).ok()) abort();
      const auto frames = Frames(channel->TakeOutput());
      if (frames.size() != 1 || !peer.ReadHandshake(frames[0]).ok()) abort();
    }
    if (mode == 2) {
      // Message 2 or 3 whose payload is the fuzz input (truncated to the 1024-byte limit).
      const std::span<const uint8_t> payload = input.first(std::min<size_t>(input.size(), 1024));
      peer.payload().Clear();
      if (!peer.payload().ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        peer.payload().set_protocol_version(static_cast<uint32_t>(payload.size()));
      }
      input = {};
    }
    prefix = peer.WriteHandshake();
  }
  if (!prefix.empty()) (void)channel->Feed(prefix);
  if (channel->TakeOutput().size() > 4096) abort();
  (void)channel->TakeEvents();

  while (!input.empty()) {
    const size_t n = std::min(chunk, input.size());
    (void)channel->Feed(input.first(n));
    input = input.subspan(n);
    const size_t out = channel->TakeOutput().size();
    // A stranger (no authentic message 1) gets nothing from a responder.
    if (!initiator && mode == 0 && out != 0) abort();
    // A handshake reply (message 2, or message 3 plus a close notice) is small.
    if (out > 4096) abort();
    (void)channel->TakeEvents();
  }
  return 0;
}
