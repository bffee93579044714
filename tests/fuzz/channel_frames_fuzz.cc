// Fuzz target: frame decoding and message reassembly after a completed handshake. A
// hand-written peer (raw_peer.h) completes the handshake with a SecureChannel, then the input
// is read as a script of operations: authentic records of any type and size, raw bytes
// injected into the stream, replays of earlier frames, sends in the other direction, and
// event draining. The channel must never crash, and must never hold more than its limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "sync/protocol/noise_testing.h"
#include "sync/protocol/secure_channel.h"
#include "tests/unit/sync/raw_peer.h"

namespace {

using estelik::sync::SecureChannel;
using estelik::sync::SecureChannelConfig;
using estelik::sync::testing::Frames;
using estelik::sync::testing::Identity;
using estelik::sync::testing::NetworkKey;
using estelik::sync::testing::RawPeer;

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : rest_(data, size) {}
  bool empty() const { return rest_.empty(); }
  uint8_t Byte() {
    if (rest_.empty()) return 0;
    const uint8_t b = rest_[0];
    rest_ = rest_.subspan(1);
    return b;
  }
  std::span<const uint8_t> Take(size_t n) {
    n = std::min(n, rest_.size());
    auto out = rest_.first(n);
    rest_ = rest_.subspan(n);
    return out;
  }

 private:
  std::span<const uint8_t> rest_;
};

void FeedInChunks(SecureChannel& channel, std::span<const uint8_t> bytes, size_t chunk) {
  while (!bytes.empty()) {
    const size_t n = std::min(chunk, bytes.size());
    (void)channel.Feed(bytes.first(n));
    bytes = bytes.subspan(n);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* alice = new Identity(Identity::FromSeed(0xA1));
  static const auto* bob = new Identity(Identity::FromSeed(0xB0));
  estelik::sync::noise::testing::ScopedEphemeralKeySource ephemerals(
      estelik::sync::noise::testing::SeededKeys(2));

  SecureChannelConfig config;
  config.initiator = false;
  config.identity_secret_key = bob->secret_key.Clone();
  config.network_key = estelik::crypto::SecretBytes::CopyOf(NetworkKey(1));
  config.is_contact = [](const estelik::sync::Ed25519PublicKey&) { return true; };
  config.limits.max_message_size = 200000;  // small enough for the fuzzer to reach
  config.limits.max_pending_input = 400000;
  config.limits.max_pending_output = 300000;
  auto channel = SecureChannel::Create(std::move(config));
  if (!channel.ok()) abort();
  RawPeer peer(true, *alice, NetworkKey(1), bob->public_key);  // Alice dials Bob (XK)
  if (!channel->Feed(peer.WriteHandshake()).ok()) abort();
  const auto response = Frames(channel->TakeOutput());
  if (response.size() != 1 || !peer.ReadHandshake(response[0]).ok()) abort();
  if (!channel->Feed(peer.WriteHandshake()).ok()) abort();
  (void)channel->TakeEvents();

  Reader in(data, size);
  std::vector<uint8_t> last;
  while (!in.empty() && !channel->is_closed()) {
    const uint8_t op = in.Byte();
    const size_t chunk = (in.Byte() & 0x3f) + 1;
    switch (op % 6) {
      case 0: {  // an authentic record: type, 16-bit length (repeated fill), contents
        const uint8_t type = in.Byte();
        size_t length = in.Byte();
        length = (length << 8) | in.Byte();
        std::vector<uint8_t> body(std::min<size_t>(length, 65518), in.Byte());
        last = peer.Record(type % 4, body);
        FeedInChunks(*channel, last, chunk);
        break;
      }
      case 1: {  // raw bytes straight into the stream
        FeedInChunks(*channel, in.Take(in.Byte()), chunk);
        break;
      }
      case 2:  // replay the last authentic frame
        FeedInChunks(*channel, last, chunk);
        break;
      case 3: {  // a small message the other way
        std::vector<uint8_t> message(in.Byte(), 0x42);
        (void)channel->Send(message);
        break;
      }
      case 4:
        (void)channel->TakeOutput();
        break;
      case 5:
        (void)channel->TakeEvents();
        break;
    }
    if (channel->TakeOutput().size() > 400000) abort();  // max_pending_output + a close notice
  }
  return 0;
}
