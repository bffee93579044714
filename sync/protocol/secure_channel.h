// SecureChannel: Estelik's encrypted, authenticated, framed channel between two contacts, as a
// sans-IO state machine (docs/PROTOCOL.md, "Transport").
//
// The channel never touches a socket or a clock. Its driver (sync/net over TCP, a phone shell
// over Bluetooth, a test in memory) moves bytes:
//
//   Feed(bytes)     bytes that arrived from the peer, in order, split anywhere;
//   TakeOutput()    bytes to write to the peer, in order;
//   TakeEvents()    what happened: handshake complete (with the peer's verified identity),
//                   an application message, or closed (with the reason);
//   Send(message)   queue one application message (any size up to the peer's limit);
//   Close(reason)   end the channel, telling the peer why.
//
// The handshake (transport version 2) is Noise_XK_25519_ChaChaPoly_BLAKE2b with static keys
// derived from the two Ed25519 identities: the initiator must already know which contact it
// dials (`expected_peer`), and the responder sends nothing at all until message 1 proves that
// (a stranger, or a contact dialing someone else, gets zero bytes back). Only identities for
// which `is_contact` returns true get through. The prologue binds the protocol version and the
// community's network key. Timeouts are the driver's job.
//
// Safety against a hostile peer: every byte count a peer controls is bounded (ChannelLimits);
// any violation, malformed or unauthenticated byte closes the channel with a reason and
// changes nothing else. After a kClosed event the driver should write out TakeOutput() (it
// may hold a close notice for the peer) and then drop the transport.
//
// Not thread-safe: one owner drives a channel. Movable, not copyable.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto/secret.h"
#include "core/status.h"
#include "sync/protocol/noise.h"

namespace estelik::sync {

using Ed25519PublicKey = std::array<uint8_t, 32>;

// "estelik/2": the transport version string bound into every handshake's prologue. Version 1
// (Noise_XX) is not spoken any more: a v1 peer fails to authenticate.
inline constexpr std::string_view kProtocolVersionString = "estelik/2";
inline constexpr uint32_t kProtocolVersion = 2;
inline constexpr size_t kNetworkKeySize = 32;
// Frames: 4-byte big-endian length, then that many bytes (one Noise message).
inline constexpr size_t kFrameHeaderSize = 4;
inline constexpr size_t kMaxFrameSize = noise::kMaxMessageLen;  // 65535
inline constexpr size_t kMaxHandshakePayload = 1024;
// Handshake message 1 (`-> e, es` with an empty payload): 32 + 16 bytes, always.
inline constexpr size_t kHandshakeMessage1Size = 48;
// Handshake message 2 (`<- e, ee` + payload) and 3 (`-> s, se` + payload), at most.
inline constexpr size_t kMaxHandshakeMessage2Size = 32 + kMaxHandshakePayload + 16;       // 1072
inline constexpr size_t kMaxHandshakeMessage3Size = 32 + 16 + kMaxHandshakePayload + 16;  // 1088
// Transport ciphers rekey (Noise Rekey()) after every 65536 messages in each direction.
inline constexpr uint64_t kRekeyInterval = 65536;

// Bounds on what the peer can make us hold in memory.
struct ChannelLimits {
  // Largest application message we accept from the peer (advertised to it), in bytes.
  size_t max_message_size = size_t{1} << 20;
  // Bytes of output (framed, encrypted) not yet taken by TakeOutput(), plus messages queued
  // before the handshake completed. Send() fails with kLimitExceeded past this.
  size_t max_pending_output = size_t{4} << 20;
  // Bytes of received application messages not yet taken by TakeEvents(). The channel closes
  // with kLimitExceeded past this: drivers should take events after every Feed().
  size_t max_pending_input = size_t{8} << 20;
};

struct SecureChannelConfig {
  bool initiator = false;  // the side that dialed; it sends the first handshake message
  // Our Ed25519 identity secret key in libsodium's 64-byte layout (seed || public key).
  crypto::SecretBytes identity_secret_key;
  // The community's 32-byte shared secret; peers with a different one cannot connect.
  crypto::SecretBytes network_key;
  // Whether a verified peer identity may connect. Called once per handshake. Required.
  std::function<bool(const Ed25519PublicKey&)> is_contact;
  // Initiator: required; the contact being dialed. Its static key is the XK pre-message, so
  // only the device holding this identity can read message 1 and answer; any other device
  // (or a stranger listening) stays silent. Responder: ignored.
  std::optional<Ed25519PublicKey> expected_peer;
  std::vector<std::string> capabilities;  // advertised to the peer, e.g. "replication/1"
  ChannelLimits limits;
};

// The code of a close notice (docs/PROTOCOL.md "Close codes"): why the sender closed.
enum class CloseCode : uint8_t {
  kNormal = 0,    // finished or cancelled
  kProtocol = 1,  // the receiver broke the protocol (bad record, failed authentication, ...)
  kLimit = 2,     // the receiver exceeded one of the sender's limits (sizes, rates, time)
  kRefused = 3,   // the sender refuses the receiver (not a contact, wrong identity)
  kInternal = 4,  // an error on the sender's own side (disk, bug)
};
// The close code that tells a peer about a failure with this status (kAborted: kNormal).
CloseCode CloseCodeFor(const Status& status);

struct ChannelEvent {
  enum class Kind { kHandshakeComplete, kMessage, kClosed };
  Kind kind = Kind::kClosed;
  Ed25519PublicKey peer{};                     // kHandshakeComplete: the verified identity
  std::vector<std::string> peer_capabilities;  // kHandshakeComplete
  std::vector<uint8_t> message;                // kMessage: one whole application message
  // kClosed: why. kAborted for an orderly close by either side; otherwise the violation
  // (kProtocol, kCorrupt, kLimitExceeded, kPermissionDenied, kUnsupported). When the peer
  // closed, the Status code follows its close code and the message ends with its reason.
  Status reason;
  // kClosed by the peer's close notice: the code it sent (any byte; unknown ones read as
  // kProtocol in `reason`). Empty when we closed, or the carrier just ended.
  std::optional<uint8_t> peer_close_code;
};

class SecureChannel {
 public:
  enum class State {
    kAwaitingHello,     // responder: waiting for handshake message 1
    kAwaitingResponse,  // initiator: sent message 1, waiting for message 2
    kAwaitingIdentity,  // responder: sent message 2, waiting for message 3
    kOpen,              // handshake complete; application messages flow
    kClosed,
  };

  // Fails (kInvalidArgument) on a malformed key, a missing is_contact, or an initiator without
  // a valid expected_peer. An initiator's first handshake message is ready in TakeOutput() at
  // once. A responder writes nothing before a message 1 that authenticates: if it does not,
  // the channel closes (kProtocol) with TakeOutput() empty.
  static Result<SecureChannel> Create(SecureChannelConfig config);

  SecureChannel(SecureChannel&&) noexcept;
  SecureChannel& operator=(SecureChannel&&) noexcept;
  ~SecureChannel();

  // Consumes bytes from the peer. Returns OK, or the reason the channel is (now) closed.
  // Incomplete frames wait for more bytes. Bytes fed after closing are ignored.
  Status Feed(std::span<const uint8_t> bytes);
  // Queues one application message. Before the handshake completes it is held and sent once
  // it does. Fails with kLimitExceeded (message larger than the peer accepts, or output
  // queue full: take output first) or kAborted (closed); the channel stays as it was.
  Status Send(std::span<const uint8_t> message);
  // Closes the channel: if open, queues an encrypted close notice carrying `code` and
  // `reason` (UTF-8; at most 256 bytes are sent). Emits a kClosed event: kAborted for kNormal,
  // otherwise the Status code the peer would report for `code`. No effect if already closed.
  // Before the handshake completes nothing is sent (strangers learn nothing).
  void Close(CloseCode code, std::string_view reason);
  void Close(std::string_view reason) { Close(CloseCode::kNormal, reason); }

  // Bytes to write to the peer, in order; the channel forgets them.
  std::vector<uint8_t> TakeOutput();
  bool HasOutput() const { return !output_.empty(); }
  // Events since the last call, in order.
  std::vector<ChannelEvent> TakeEvents();

  State state() const { return state_; }
  bool is_open() const { return state_ == State::kOpen; }
  bool is_closed() const { return state_ == State::kClosed; }
  // The reason of the close, or OK while not closed.
  const Status& close_reason() const { return close_reason_; }
  // The verified peer identity, once the handshake has completed.
  const std::optional<Ed25519PublicKey>& peer() const { return peer_; }
  // The largest application message the peer accepts (its advertised max_message_size), once
  // the handshake has completed; 0 before.
  size_t peer_max_message_size() const { return peer_ ? peer_max_message_size_ : 0; }
  const Ed25519PublicKey& identity() const { return identity_; }

 private:
  SecureChannel() = default;

  Status ProcessFrame(std::span<const uint8_t> frame);
  Status ProcessHandshakeFrame(std::span<const uint8_t> frame);
  Status ProcessTransportFrame(std::span<const uint8_t> frame);
  Status ProcessRecord(std::span<const uint8_t> record);
  Status WriteHandshake(bool with_payload);
  Status VerifyPeer(std::span<const uint8_t> payload);
  Status Accept(const Ed25519PublicKey& identity, std::vector<std::string> capabilities,
                uint64_t max_message_size);
  Status Open();
  Status EncryptRecord(uint8_t type, std::span<const uint8_t> body1,
                       std::span<const uint8_t> body2);
  Status SendNow(std::span<const uint8_t> message);
  size_t FrameLimitForState() const;
  void Fail(Status reason);
  void Finish(Status reason, std::optional<uint8_t> peer_close_code = std::nullopt);

  State state_ = State::kClosed;
  bool initiator_ = false;
  SecureChannelConfig config_;
  Ed25519PublicKey identity_{};
  std::optional<noise::HandshakeState> handshake_;
  noise::CipherState send_;
  noise::CipherState receive_;
  std::optional<Ed25519PublicKey> peer_;
  std::vector<std::string> peer_capabilities_;
  size_t peer_max_message_size_ = 0;
  std::vector<uint8_t> handshake_payload_;  // our message 2 or 3 payload (HandshakePayload)

  // Input: the current frame's header and body as they arrive.
  std::array<uint8_t, kFrameHeaderSize> header_{};
  size_t header_bytes_ = 0;
  size_t frame_size_ = 0;
  std::vector<uint8_t> frame_;
  std::vector<uint8_t> plaintext_;  // scratch for one decrypted record (wiped)
  std::vector<uint8_t> inbound_;    // the application message being reassembled (wiped)

  std::vector<uint8_t> output_;
  std::vector<std::vector<uint8_t>> queued_;  // sends before the handshake completed
  size_t queued_bytes_ = 0;
  std::vector<ChannelEvent> events_;
  size_t pending_input_bytes_ = 0;
  Status close_reason_;
};

}  // namespace estelik::sync
