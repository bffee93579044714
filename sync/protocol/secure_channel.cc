#include "sync/protocol/secure_channel.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "core/ids.h"
#include "proto/wire.pb.h"

namespace estelik::sync {
namespace {

using crypto::SecretBytes;

// Record types: the first plaintext byte of every transport message (docs/PROTOCOL.md).
constexpr uint8_t kRecordDataMore = 0x00;  // a fragment of a message; more fragments follow
constexpr uint8_t kRecordDataLast = 0x01;  // the last (or only) fragment of a message
constexpr uint8_t kRecordClose = 0x02;     // close notice: code byte, then UTF-8 reason

// Close codes carried by a close notice.
constexpr uint8_t kCloseNormal = 0;
constexpr uint8_t kCloseProtocol = 1;
constexpr uint8_t kCloseLimit = 2;
constexpr uint8_t kCloseRefused = 3;
constexpr uint8_t kCloseInternal = 4;
constexpr size_t kMaxCloseReason = 256;

constexpr size_t kMaxRecordBody = kMaxFrameSize - noise::kTagLen - 1;  // 65518
constexpr size_t kMinTransportFrame = noise::kTagLen + 1;
// XK: message 1 is e (32 bytes) and the tag of an empty payload encrypted under es; 2 is e
// and the encrypted payload; 3 is the encrypted s and the encrypted payload.
constexpr size_t kHelloSize = noise::kDhLen + noise::kTagLen;
static_assert(kHelloSize == kHandshakeMessage1Size);
constexpr size_t kMaxResponseSize = noise::kDhLen + kMaxHandshakePayload + noise::kTagLen;
static_assert(kMaxResponseSize == kMaxHandshakeMessage2Size);
constexpr size_t kMaxIdentitySize =
    noise::kDhLen + noise::kTagLen + kMaxHandshakePayload + noise::kTagLen;
static_assert(kMaxIdentitySize == kMaxHandshakeMessage3Size);
// Each queued event costs this much on top of its message, so a flood of empty messages is
// bounded by max_pending_input too.
constexpr size_t kEventOverhead = 64;

const char kNotAnEstelikPeer[] = "network key mismatch or not an Estelik peer";
// The responder's reason when message 1 does not authenticate. Nothing is sent back.
const char kNotForUs[] =
    "handshake message 1 did not authenticate: the peer dialed another identity, uses another "
    "network key or transport version, or is not an Estelik peer (nothing was sent to it)";

void Wipe(std::vector<uint8_t>& bytes) {
  if (!bytes.empty()) sodium_memzero(bytes.data(), bytes.size());
  bytes.clear();
}

Status StatusForPeerClose(uint8_t code, const std::string& text) {
  switch (code) {
    case kCloseNormal:
      return Status(Code::kAborted, "peer closed the channel: " + text);
    case kCloseLimit:
      return LimitExceeded("peer closed the channel because we exceeded its limits: " + text);
    case kCloseRefused:
      return PermissionDenied("peer refused the connection: " + text);
    case kCloseInternal:
      return Status(Code::kAborted, "peer closed the channel after an internal error: " + text);
    case kCloseProtocol:
    default:  // unknown codes too: the peer reports something went wrong
      return ProtocolError("peer closed the channel, reporting a protocol violation: " + text);
  }
}

// The first kMaxCloseReason bytes of `reason`, without cutting a UTF-8 sequence in two.
std::string_view Truncated(std::string_view reason) {
  if (reason.size() <= kMaxCloseReason) return reason;
  size_t lead = kMaxCloseReason;  // the sequence that straddles the cut starts at or before it
  while (lead > 0 && (static_cast<uint8_t>(reason[lead]) & 0xc0) == 0x80) --lead;
  return reason.substr(0, lead);
}

// Framed size of a message of `size` bytes once fragmented, encrypted and length-prefixed.
size_t FramedSize(size_t size) {
  const size_t records = std::max<size_t>(1, (size + kMaxRecordBody - 1) / kMaxRecordBody);
  return size + records * (kFrameHeaderSize + 1 + noise::kTagLen);
}

void AppendFrameHeader(size_t size, std::vector<uint8_t>* out) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(size >> shift));
}

}  // namespace

SecureChannel::SecureChannel(SecureChannel&&) noexcept = default;
SecureChannel& SecureChannel::operator=(SecureChannel&&) noexcept = default;

SecureChannel::~SecureChannel() {
  Wipe(plaintext_);
  Wipe(inbound_);
  Wipe(frame_);
  for (auto& message : queued_) Wipe(message);
}

Result<SecureChannel> SecureChannel::Create(SecureChannelConfig config) {
  crypto::EnsureSodium();
  if (config.identity_secret_key.size() != crypto_sign_SECRETKEYBYTES) {
    return InvalidArgument("identity secret key must be 64 bytes (libsodium Ed25519 layout)");
  }
  if (config.network_key.size() != kNetworkKeySize) {
    return InvalidArgument("network key must be 32 bytes");
  }
  if (!config.is_contact) return InvalidArgument("is_contact predicate is required");
  if (config.initiator && !config.expected_peer) {
    return InvalidArgument(
        "an initiator must name the contact it dials (expected_peer): transport version 2 "
        "(Noise XK) needs the responder's key before the first message");
  }
  if (config.limits.max_message_size == 0) {
    return InvalidArgument("max_message_size must be at least 1 byte");
  }

  SecureChannel channel;
  channel.initiator_ = config.initiator;
  crypto_sign_ed25519_sk_to_pk(channel.identity_.data(), config.identity_secret_key.data());
  SecretBytes static_private(noise::kDhLen);
  if (crypto_sign_ed25519_sk_to_curve25519(static_private.data(),
                                           config.identity_secret_key.data()) != 0) {
    return InvalidArgument("identity secret key is not a valid Ed25519 key");
  }
  ESTELIK_ASSIGN_OR_RETURN(noise::KeyPair static_keys,
                           noise::KeyPair::FromPrivate(static_private.span()));

  noise::HandshakeConfig handshake;
  handshake.pattern = noise::Pattern::kXK;
  handshake.initiator = config.initiator;
  if (config.initiator) {
    // The XK pre-message: the responder's static key, known before anything is sent.
    noise::PublicKey remote{};
    if (crypto_sign_ed25519_pk_to_curve25519(remote.data(), config.expected_peer->data()) != 0) {
      return InvalidArgument("expected_peer is not a valid Ed25519 public key");
    }
    handshake.remote_static = remote;
  }
  // Prologue: "estelik/2" || network key. Never sent; both sides must hash the same bytes.
  handshake.prologue.resize(kProtocolVersionString.size() + kNetworkKeySize);
  std::memcpy(handshake.prologue.data(), kProtocolVersionString.data(),
              kProtocolVersionString.size());
  std::memcpy(handshake.prologue.data() + kProtocolVersionString.size(), config.network_key.data(),
              kNetworkKeySize);
  handshake.local_static = std::move(static_keys);
  Result<noise::HandshakeState> state = noise::HandshakeState::Create(std::move(handshake));
  sodium_memzero(handshake.prologue.data(), handshake.prologue.size());
  if (!state.ok()) return state.status();
  channel.handshake_.emplace(std::move(state).value());

  pb::HandshakePayload payload;
  // The initiator proves who it is in message 3. The responder's identity is already known to
  // the initiator (it dialed it), so message 2 does not repeat it.
  if (config.initiator) {
    payload.set_identity_ed25519(channel.identity_.data(), channel.identity_.size());
  }
  payload.set_protocol_version(kProtocolVersion);
  payload.set_max_message_size(config.limits.max_message_size);
  for (const std::string& capability : config.capabilities) payload.add_capabilities(capability);
  if (payload.ByteSizeLong() > kMaxHandshakePayload) {
    return InvalidArgument("handshake payload exceeds 1024 bytes: too many capabilities");
  }
  channel.handshake_payload_.resize(payload.ByteSizeLong());
  payload.SerializeToArray(channel.handshake_payload_.data(),
                           static_cast<int>(channel.handshake_payload_.size()));
  channel.config_ = std::move(config);
  channel.frame_.reserve(kMaxResponseSize);

  // The keys now live in the handshake state; keep no second copy.
  channel.config_.identity_secret_key.Wipe();
  channel.config_.network_key.Wipe();

  if (channel.initiator_) {
    channel.state_ = State::kAwaitingResponse;
    ESTELIK_RETURN_IF_ERROR(channel.WriteHandshake(/*with_payload=*/false));
  } else {
    channel.state_ = State::kAwaitingHello;
  }
  return channel;
}

// ---------------------------------------------------------------------------------------------
// Input

Status SecureChannel::Feed(std::span<const uint8_t> bytes) {
  while (!bytes.empty() && state_ != State::kClosed) {
    if (header_bytes_ < kFrameHeaderSize) {
      const size_t take = std::min(kFrameHeaderSize - header_bytes_, bytes.size());
      std::copy_n(bytes.begin(), take, header_.begin() + header_bytes_);
      header_bytes_ += take;
      bytes = bytes.subspan(take);
      if (header_bytes_ < kFrameHeaderSize) break;
      frame_size_ = (size_t{header_[0]} << 24) | (size_t{header_[1]} << 16) |
                    (size_t{header_[2]} << 8) | size_t{header_[3]};
      // Check the length before buffering a single byte of the body.
      if (frame_size_ > kMaxFrameSize) {
        Fail(LimitExceeded("peer sent a frame larger than 65535 bytes (" +
                           std::to_string(frame_size_) + ")"));
        break;
      }
      if (frame_size_ == 0) {
        Fail(ProtocolError("peer sent an empty frame"));
        break;
      }
      const size_t limit = FrameLimitForState();
      if (state_ == State::kAwaitingHello && frame_size_ != kHelloSize) {
        Fail(ProtocolError(std::string(kNotAnEstelikPeer) + ": first handshake message has " +
                           std::to_string(frame_size_) + " bytes, expected 48"));
        break;
      }
      if (frame_size_ > limit) {
        Fail(LimitExceeded("peer sent a handshake message of " + std::to_string(frame_size_) +
                           " bytes; at most " + std::to_string(limit) + " are allowed"));
        break;
      }
      if (state_ == State::kOpen && frame_size_ < kMinTransportFrame) {
        Fail(ProtocolError("peer sent a transport frame of " + std::to_string(frame_size_) +
                           " bytes, shorter than the minimum of 17"));
        break;
      }
      frame_.clear();
    }
    const size_t take = std::min(frame_size_ - frame_.size(), bytes.size());
    frame_.insert(frame_.end(), bytes.begin(), bytes.begin() + take);
    bytes = bytes.subspan(take);
    if (frame_.size() < frame_size_) break;
    header_bytes_ = 0;
    Status status = ProcessFrame(frame_);
    frame_.clear();
    if (!status.ok()) Fail(std::move(status));
  }
  return close_reason_;
}

size_t SecureChannel::FrameLimitForState() const {
  switch (state_) {
    case State::kAwaitingHello:
      return kHelloSize;
    case State::kAwaitingResponse:
      return kMaxResponseSize;
    case State::kAwaitingIdentity:
      return kMaxIdentitySize;
    default:
      return kMaxFrameSize;
  }
}

Status SecureChannel::ProcessFrame(std::span<const uint8_t> frame) {
  if (state_ == State::kOpen) return ProcessTransportFrame(frame);
  return ProcessHandshakeFrame(frame);
}

Status SecureChannel::ProcessHandshakeFrame(std::span<const uint8_t> frame) {
  std::vector<uint8_t> payload;
  Status read = handshake_->ReadMessage(frame, &payload);
  if (!read.ok()) {
    if (state_ == State::kAwaitingHello) return ProtocolError(kNotForUs);
    if (read.code() == Code::kCorrupt) return ProtocolError(kNotAnEstelikPeer);
    return ProtocolError(std::string(kNotAnEstelikPeer) + ": " + read.message());
  }
  switch (state_) {
    case State::kAwaitingHello:
      // Message 1's payload is empty (its length was checked to be exactly 48). It
      // authenticated under es: the initiator knows our static key. Only now do we answer.
      ESTELIK_RETURN_IF_ERROR(WriteHandshake(/*with_payload=*/true));
      state_ = State::kAwaitingIdentity;
      return Status::Ok();
    case State::kAwaitingResponse:
      ESTELIK_RETURN_IF_ERROR(VerifyPeer(payload));
      ESTELIK_RETURN_IF_ERROR(WriteHandshake(/*with_payload=*/true));
      return Open();
    case State::kAwaitingIdentity:
      ESTELIK_RETURN_IF_ERROR(Open());  // keys first, so a refusal can be sent encrypted
      return VerifyPeer(payload);
    default:
      return Internal("handshake frame in state " + std::to_string(static_cast<int>(state_)));
  }
}

Status SecureChannel::VerifyPeer(std::span<const uint8_t> payload) {
  pb::HandshakePayload message;
  if (!message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return ProtocolError("peer sent a malformed handshake payload");
  }
  if (message.protocol_version() != kProtocolVersion) {
    return Unsupported("peer speaks Estelik transport version " +
                       std::to_string(message.protocol_version()) + "; this build speaks " +
                       std::to_string(kProtocolVersion));
  }
  const std::string& claimed = message.identity_ed25519();
  Ed25519PublicKey identity{};
  if (initiator_) {
    // Message 2 decrypted under a key mixed from es, so the responder holds the private key of
    // the static key we dialed: it is config_.expected_peer. A repeated identity must match.
    identity = *config_.expected_peer;
    if (!claimed.empty()) {
      Ed25519PublicKey repeated{};
      if (claimed.size() != repeated.size()) {
        return ProtocolError("peer's identity key is " + std::to_string(claimed.size()) +
                             " bytes, not 32");
      }
      std::copy_n(claimed.begin(), repeated.size(), repeated.begin());
      if (!crypto::ConstantTimeEquals(repeated, identity)) {
        return PermissionDenied("peer claims identity " + ShortId(repeated) +
                                ", not the contact we dialed (" + ShortId(identity) + ")");
      }
    }
  } else {
    if (claimed.size() != identity.size()) {
      return ProtocolError("peer's identity key is " + std::to_string(claimed.size()) +
                           " bytes, not 32");
    }
    std::copy_n(claimed.begin(), identity.size(), identity.begin());
    // The peer proved it holds the private key of its Noise static key (se); that key must be
    // the X25519 form of the Ed25519 identity it claims.
    noise::PublicKey derived{};
    const auto& remote = handshake_->remote_static();
    if (!remote || crypto_sign_ed25519_pk_to_curve25519(derived.data(), identity.data()) != 0 ||
        !crypto::ConstantTimeEquals(derived, *remote)) {
      return PermissionDenied("peer claims identity " + ShortId(identity) +
                              " but its handshake key does not belong to it (impersonation?)");
    }
  }
  if (!config_.is_contact(identity)) {
    return PermissionDenied("peer " + ShortId(identity) + " is not a contact");
  }
  return Accept(identity, {message.capabilities().begin(), message.capabilities().end()},
                message.max_message_size());
}

Status SecureChannel::Accept(const Ed25519PublicKey& identity,
                             std::vector<std::string> capabilities, uint64_t max_message_size) {
  peer_ = identity;
  peer_capabilities_ = std::move(capabilities);
  peer_max_message_size_ = max_message_size == 0 ? size_t{1} << 20 : max_message_size;
  ChannelEvent event;
  event.kind = ChannelEvent::Kind::kHandshakeComplete;
  event.peer = identity;
  event.peer_capabilities = peer_capabilities_;
  events_.push_back(std::move(event));
  // The initiator flushes messages queued before the handshake as soon as it is open; the
  // responder only once the peer is accepted, here.
  if (!initiator_) {
    for (auto& queued : queued_) ESTELIK_RETURN_IF_ERROR(SendNow(queued));
    for (auto& queued : queued_) Wipe(queued);
    queued_.clear();
    queued_bytes_ = 0;
  }
  return Status::Ok();
}

Status SecureChannel::WriteHandshake(bool with_payload) {
  std::vector<uint8_t> message;
  ESTELIK_RETURN_IF_ERROR(handshake_->WriteMessage(
      with_payload ? std::span<const uint8_t>(handshake_payload_) : std::span<const uint8_t>(),
      &message));
  AppendFrameHeader(message.size(), &output_);
  output_.insert(output_.end(), message.begin(), message.end());
  return Status::Ok();
}

Status SecureChannel::Open() {
  ESTELIK_ASSIGN_OR_RETURN(auto ciphers, handshake_->Split());
  send_ = std::move(ciphers.first);
  receive_ = std::move(ciphers.second);
  handshake_.reset();  // wipes the ephemeral key and the chaining key
  state_ = State::kOpen;
  frame_.reserve(kMaxFrameSize);
  if (initiator_) {
    for (auto& queued : queued_) ESTELIK_RETURN_IF_ERROR(SendNow(queued));
    for (auto& queued : queued_) Wipe(queued);
    queued_.clear();
    queued_bytes_ = 0;
  }
  return Status::Ok();
}

Status SecureChannel::ProcessTransportFrame(std::span<const uint8_t> frame) {
  plaintext_.clear();
  if (!receive_.DecryptWithAd({}, frame, &plaintext_).ok()) {
    return Corrupt(
        "peer sent a frame that failed authentication (tampered, replayed, reordered or "
        "truncated)");
  }
  if (receive_.nonce() % kRekeyInterval == 0) receive_.Rekey();
  // The responder accepts application data only from a peer it has accepted.
  if (!peer_) return PermissionDenied("peer sent data before being accepted");
  Status status = ProcessRecord(plaintext_);
  sodium_memzero(plaintext_.data(), plaintext_.size());
  return status;
}

Status SecureChannel::ProcessRecord(std::span<const uint8_t> record) {
  const uint8_t type = record[0];  // frames are at least 17 bytes: never empty here
  const std::span<const uint8_t> body = record.subspan(1);
  if (type == kRecordDataMore || type == kRecordDataLast) {
    if (body.size() > config_.limits.max_message_size - inbound_.size()) {
      return LimitExceeded("peer sent a message larger than " +
                           std::to_string(config_.limits.max_message_size) + " bytes");
    }
    inbound_.insert(inbound_.end(), body.begin(), body.end());
    if (type == kRecordDataMore) return Status::Ok();
    pending_input_bytes_ += inbound_.size() + kEventOverhead;
    if (pending_input_bytes_ > config_.limits.max_pending_input) {
      return LimitExceeded("received messages not taken by the application exceed " +
                           std::to_string(config_.limits.max_pending_input) + " bytes");
    }
    ChannelEvent event;
    event.kind = ChannelEvent::Kind::kMessage;
    event.message = std::move(inbound_);
    inbound_ = {};
    events_.push_back(std::move(event));
    return Status::Ok();
  }
  if (type == kRecordClose) {
    if (body.empty()) return ProtocolError("peer sent a close notice without a code");
    const size_t text_size = std::min(body.size() - 1, kMaxCloseReason);
    const std::string text(reinterpret_cast<const char*>(body.data() + 1), text_size);
    Finish(StatusForPeerClose(body[0], text), body[0]);
    return close_reason_;
  }
  return ProtocolError("peer sent an unknown record type " + std::to_string(type));
}

// ---------------------------------------------------------------------------------------------
// Output

Status SecureChannel::Send(std::span<const uint8_t> message) {
  if (state_ == State::kClosed) {
    return Status(Code::kAborted, "channel is closed: " + close_reason_.message());
  }
  const size_t limit = peer_ ? peer_max_message_size_ : config_.limits.max_message_size;
  if (message.size() > limit) {
    return LimitExceeded("message of " + std::to_string(message.size()) +
                         " bytes exceeds the peer's limit of " + std::to_string(limit));
  }
  const size_t pending = output_.size() + queued_bytes_;
  const size_t needed = FramedSize(message.size());
  const size_t budget = config_.limits.max_pending_output;
  if (needed > budget || pending > budget - needed) {
    return LimitExceeded("output queue is full (" + std::to_string(pending) +
                         " bytes pending); write out TakeOutput() before sending more");
  }
  if (!peer_ || state_ != State::kOpen) {
    queued_.emplace_back(message.begin(), message.end());
    queued_bytes_ += FramedSize(message.size());
    return Status::Ok();
  }
  Status status = SendNow(message);
  if (!status.ok()) Fail(status);
  return status;
}

Status SecureChannel::SendNow(std::span<const uint8_t> message) {
  if (message.size() > peer_max_message_size_) {
    return LimitExceeded("a message queued before the handshake (" +
                         std::to_string(message.size()) + " bytes) exceeds the peer's limit of " +
                         std::to_string(peer_max_message_size_));
  }
  do {
    const size_t take = std::min(message.size(), kMaxRecordBody);
    const uint8_t type = take == message.size() ? kRecordDataLast : kRecordDataMore;
    ESTELIK_RETURN_IF_ERROR(EncryptRecord(type, message.first(take), {}));
    message = message.subspan(take);
  } while (!message.empty());
  return Status::Ok();
}

Status SecureChannel::EncryptRecord(uint8_t type, std::span<const uint8_t> body1,
                                    std::span<const uint8_t> body2) {
  plaintext_.clear();
  plaintext_.push_back(type);
  plaintext_.insert(plaintext_.end(), body1.begin(), body1.end());
  plaintext_.insert(plaintext_.end(), body2.begin(), body2.end());
  const size_t header_at = output_.size();
  AppendFrameHeader(0, &output_);
  Status status = send_.EncryptWithAd({}, plaintext_, &output_);
  sodium_memzero(plaintext_.data(), plaintext_.size());
  if (!status.ok()) {
    output_.resize(header_at);
    return status;
  }
  const size_t size = output_.size() - header_at - kFrameHeaderSize;
  for (int i = 0; i < 4; ++i) output_[header_at + i] = static_cast<uint8_t>(size >> (24 - 8 * i));
  if (send_.nonce() % kRekeyInterval == 0) send_.Rekey();
  return Status::Ok();
}

CloseCode CloseCodeFor(const Status& status) {
  switch (status.code()) {
    case Code::kAborted:
      return CloseCode::kNormal;
    case Code::kProtocol:
    case Code::kCorrupt:
    case Code::kUnsupported:
      return CloseCode::kProtocol;
    case Code::kLimitExceeded:
      return CloseCode::kLimit;
    case Code::kPermissionDenied:
      return CloseCode::kRefused;
    default:
      return CloseCode::kInternal;
  }
}

void SecureChannel::Close(CloseCode code, std::string_view reason) {
  if (state_ == State::kClosed) return;
  if (state_ == State::kOpen) {
    const uint8_t byte = static_cast<uint8_t>(code);
    const std::string_view text = Truncated(reason);
    (void)EncryptRecord(kRecordClose, std::span(&byte, 1),
                        std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }
  const std::string local = "closed locally: " + std::string(reason);
  Finish(code == CloseCode::kNormal
             ? Status(Code::kAborted, local)
             : Status(StatusForPeerClose(static_cast<uint8_t>(code), "").code(), local));
}

// Closes with `reason`, telling the peer why if the channel is encrypted by now. Strangers
// get no notice during the handshake.
void SecureChannel::Fail(Status reason) {
  if (state_ == State::kClosed) return;
  if (state_ == State::kOpen) {
    const std::string_view text = Truncated(reason.message());
    const uint8_t code = static_cast<uint8_t>(CloseCodeFor(reason));
    (void)EncryptRecord(kRecordClose, std::span(&code, 1),
                        std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }
  Finish(std::move(reason));
}

void SecureChannel::Finish(Status reason, std::optional<uint8_t> peer_close_code) {
  state_ = State::kClosed;
  handshake_.reset();
  send_ = noise::CipherState();
  receive_ = noise::CipherState();
  Wipe(inbound_);
  for (auto& queued : queued_) Wipe(queued);
  queued_.clear();
  queued_bytes_ = 0;
  close_reason_ = reason;
  ChannelEvent event;
  event.kind = ChannelEvent::Kind::kClosed;
  event.reason = std::move(reason);
  event.peer_close_code = peer_close_code;
  events_.push_back(std::move(event));
}

std::vector<uint8_t> SecureChannel::TakeOutput() {
  std::vector<uint8_t> out;
  out.swap(output_);
  return out;
}

std::vector<ChannelEvent> SecureChannel::TakeEvents() {
  std::vector<ChannelEvent> out;
  out.swap(events_);
  pending_input_bytes_ = 0;
  return out;
}

}  // namespace estelik::sync
