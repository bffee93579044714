#include "sync/protocol/replication.h"

#include <algorithm>

#include "core/bytes.h"
#include "core/crypto/hash.h"
#include "core/deflate.h"
#include "core/ids.h"
#include "core/log/op_codec.h"

namespace estelik::sync {
namespace {

// Receivers allow bursts of this many seconds of their rate; senders pace to one second.
constexpr double kReceiveBurstSeconds = 2.0;
constexpr double kSendBurstSeconds = 1.0;
constexpr double kSendRateFraction = 0.8;  // margin for clock skew and batching in transit
// zlib level for OpBatch messages. What compresses in a batch is the author, circle id and
// field tags every op header repeats; the sealed bodies do not. On 256 KiB batches level 1
// deflates at 50-60 MB/s of CPU and saves 59-72 bytes per op; level 6 saved at most 2 bytes
// more per op for 5-22 % more CPU.
constexpr int kDeflateLevel = 1;

// Bytes of a protobuf varint holding `value`.
size_t VarintSize(uint64_t value) {
  size_t n = 1;
  for (; value >= 0x80; value >>= 7) ++n;
  return n;
}

// Bytes of a length-delimited field (tag < 16, so one byte) holding `length` bytes.
size_t FieldSize(size_t length) { return 1 + VarintSize(length) + length; }

// An OpBatch of one circle and one maximal op (op bytes at log::kMaxOpBytes, a 64-byte
// signature), as a ReplicationMessage: what kMinMaxMessageSize must always hold.
constexpr size_t kMaxSingleOpMessage =
    1 + 3 + (1 + 1 + kCircleIdSize) + 1 + 3 + (1 + 3 + log::kMaxOpBytes) + (1 + 1 + 64);
static_assert(kMaxSingleOpMessage < kMinMaxMessageSize);
// A Chunk of a full 64 KiB chunk: nonce 24 + 65536 + tag 16 sealed, a 16-byte id, any index.
static_assert(1 + 3 + (1 + 1 + kAttachmentIdSize) + (1 + 10) + (1 + 3 + 24 + 65536 + 16) <
              kMinMaxMessageSize);

// A limit the peer advertised, or ours when it gave none; never above ours for pacing.
uint32_t PeerLimit(uint32_t advertised, uint32_t ours) {
  return advertised == 0 ? ours : std::min(advertised, ours);
}

}  // namespace

crypto::SecretBytes DefaultNetworkKey() {
  const auto hash = crypto::Blake2b256(std::string_view(kDefaultNetworkKeyLabel));
  return crypto::SecretBytes::CopyOf(hash);
}

void ReplicationSession::TokenBucket::Init(double per_second, double burst_seconds,
                                           uint64_t now_ms) {
  rate_per_ms = per_second / 1000.0;
  capacity = std::max(1.0, per_second * burst_seconds);
  tokens = capacity;
  last_ms = now_ms;
}

void ReplicationSession::TokenBucket::Refill(uint64_t now_ms) {
  if (now_ms > last_ms) {
    tokens = std::min(capacity, tokens + static_cast<double>(now_ms - last_ms) * rate_per_ms);
    last_ms = now_ms;
  }
}

Result<std::unique_ptr<ReplicationSession>> ReplicationSession::Create(Replica& replica,
                                                                       ReplicationConfig config) {
  SecureChannelConfig channel_config;
  channel_config.initiator = config.initiator;
  channel_config.identity_secret_key = replica.IdentitySecretKey();
  channel_config.network_key = config.network_key.Clone();
  channel_config.is_contact = [&replica](const Ed25519PublicKey& peer) {
    return replica.IsContact(peer);
  };
  channel_config.expected_peer = config.expected_peer;
  channel_config.capabilities = {kReplicationCapability};
  if (config.deflate) channel_config.capabilities.push_back(kDeflateCapability);
  if (config.limits.max_message_size < kMinMaxMessageSize) {
    return InvalidArgument("max_message_size must be at least " +
                           std::to_string(kMinMaxMessageSize) + " bytes (one maximal op)");
  }
  channel_config.limits.max_message_size = config.limits.max_message_size;
  ESTELIK_ASSIGN_OR_RETURN(SecureChannel channel, SecureChannel::Create(std::move(channel_config)));
  return std::unique_ptr<ReplicationSession>(
      new ReplicationSession(replica, std::move(config), std::move(channel)));
}

ReplicationSession::ReplicationSession(Replica& replica, ReplicationConfig config,
                                       SecureChannel channel)
    : replica_(replica), config_(std::move(config)), channel_(std::move(channel)) {
  send_cursor_ = sending_.end();
  CollectOutput();  // an initiator's first handshake message
}

ReplicationSession::~ReplicationSession() = default;

std::span<const uint8_t> ReplicationSession::PendingOutput() const {
  return {out_.data() + out_pos_, out_.size() - out_pos_};
}

void ReplicationSession::ConsumeOutput(size_t n) {
  out_pos_ += std::min(n, out_.size() - out_pos_);
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  } else if (out_pos_ > out_.size() / 2) {
    out_.erase(out_.begin(), out_.begin() + static_cast<ptrdiff_t>(out_pos_));
    out_pos_ = 0;
  }
  // The driver took bytes: room to produce more (batches, chunks) without waiting for a Tick.
  if (!closed_ && started_ && !OutputFull()) Step(now_ms_);
}

bool ReplicationSession::OutputFull() const {
  return out_.size() - out_pos_ >= config_.limits.output_high_water;
}

void ReplicationSession::CollectOutput() {
  std::vector<uint8_t> bytes = channel_.TakeOutput();
  if (bytes.empty()) return;
  stats_.wire_bytes_sent += bytes.size();
  out_.insert(out_.end(), bytes.begin(), bytes.end());
}

void ReplicationSession::Feed(std::span<const uint8_t> bytes, uint64_t now_ms) {
  if (closed_) return;
  if (!started_) {
    started_ = true;
    start_ms_ = last_sent_ms_ = last_received_ms_ = now_ms;
  }
  now_ms_ = std::max(now_ms_, now_ms);
  last_received_ms_ = now_ms_;
  stats_.wire_bytes_received += bytes.size();
  Status fed = channel_.Feed(bytes);
  (void)fed;  // a failure arrives as a kClosed event with the same reason
  Step(now_ms_);
}

void ReplicationSession::Tick(uint64_t now_ms) {
  if (closed_) return;
  if (!started_) {
    started_ = true;
    start_ms_ = last_sent_ms_ = last_received_ms_ = now_ms;
  }
  now_ms_ = std::max(now_ms_, now_ms);
  const ReplicationLimits& limits = config_.limits;
  if (!peer_ && now_ms_ - start_ms_ >= limits.handshake_timeout_ms) {
    return Fail(LimitExceeded("handshake did not complete within " +
                              std::to_string(limits.handshake_timeout_ms / 1000) + " s"));
  }
  if (now_ms_ - last_received_ms_ >= limits.peer_silence_timeout_ms) {
    return Fail(LimitExceeded("peer silent for " +
                              std::to_string(limits.peer_silence_timeout_ms / 1000) + " s"));
  }
  Step(now_ms_);
  if (!closed_ && channel_.is_open() && sent_hello_ &&
      now_ms_ - last_sent_ms_ >= limits.keepalive_interval_ms) {
    pb::ReplicationMessage keep_alive;
    keep_alive.mutable_keep_alive();
    Status sent = SendMessage(keep_alive);
    if (!sent.ok()) return Fail(sent);
    CollectOutput();
  }
}

void ReplicationSession::TransportClosed(const std::string& why) {
  if (closed_) return;
  Finish(false, "transport closed: " + why);
}

void ReplicationSession::Step(uint64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  HandleEvents();
  if (!closed_) {
    Status produced = Produce();
    if (!produced.ok()) Fail(produced);
  }
  if (!closed_) MaybeFinish();
  HandleEvents();  // a close we initiated
  CollectOutput();
}

void ReplicationSession::HandleEvents() {
  for (ChannelEvent& event : channel_.TakeEvents()) {
    if (closed_) break;
    switch (event.kind) {
      case ChannelEvent::Kind::kHandshakeComplete: {
        const std::vector<std::string>& theirs = event.peer_capabilities;
        deflate_ = config_.deflate &&
                   std::find(theirs.begin(), theirs.end(), kDeflateCapability) != theirs.end();
        Status opened = OnOpen(event.peer);
        if (!opened.ok()) Fail(opened);
        break;
      }
      case ChannelEvent::Kind::kMessage: {
        last_received_ms_ = now_ms_;
        stats_.message_bytes_received += event.message.size();
        stats_.largest_message_received =
            std::max<uint64_t>(stats_.largest_message_received, event.message.size());
        Status handled = CountReceived(event.message.size());
        if (handled.ok()) handled = HandleMessage(event.message);
        if (!handled.ok()) Fail(handled);
        break;
      }
      case ChannelEvent::Kind::kClosed:
        if (!closed_ && sent_done_ && got_done_ && requests_.empty()) {
          Finish(true, "done");  // the peer's close notice right behind its Done
        } else if (!closed_) {
          Finish(false, event.reason.code() == Code::kAborted
                            ? "peer closed the session before finishing: " + event.reason.message()
                            : event.reason.message());
        }
        break;
    }
  }
}

Status ReplicationSession::OnOpen(const Ed25519PublicKey& peer) {
  peer_ = peer;
  stats_.peer = peer;
  // Below this a maximal op could never reach the peer: refused before anything is sent.
  if (channel_.peer_max_message_size() < kMinMaxMessageSize) {
    return ProtocolError(
        "peer accepts messages of at most " + std::to_string(channel_.peer_max_message_size()) +
        " bytes; replication needs at least " + std::to_string(kMinMaxMessageSize));
  }
  const ReplicationLimits& limits = config_.limits;
  in_ops_.Init(limits.max_ops_per_second, kReceiveBurstSeconds, now_ms_);
  in_batches_.Init(limits.max_batches_per_second, kReceiveBurstSeconds, now_ms_);
  ESTELIK_ASSIGN_OR_RETURN(std::vector<std::string> circles, replica_.SharedCircles(peer));
  pb::ReplicationMessage message;
  pb::Hello* hello = message.mutable_hello();
  hello->set_version(kReplicationVersion);
  for (const std::string& circle : circles) {
    if (circle.size() != kCircleIdSize) continue;
    shared_.insert(circle);
    ESTELIK_ASSIGN_OR_RETURN(log::VersionVector versions, replica_.Versions(circle));
    pb::CircleVector* vector = hello->add_circles();
    vector->set_circle_id(circle);
    for (const auto& [author, seq] : versions) {
      pb::AuthorHead* head = vector->add_heads();
      head->set_author(author);
      head->set_seq(seq);
    }
  }
  stats_.circles = shared_.size();
  pb::ReplicationLimits* advertised = hello->mutable_limits();
  advertised->set_max_ops_per_batch(limits.max_ops_per_batch);
  advertised->set_max_ops_per_second(limits.max_ops_per_second);
  advertised->set_max_batches_per_second(limits.max_batches_per_second);
  advertised->set_max_wanted_chunks(limits.max_wanted_chunks);
  ESTELIK_RETURN_IF_ERROR(SendMessage(message));
  sent_hello_ = true;
  return Status::Ok();
}

Status ReplicationSession::HandleMessage(std::span<const uint8_t> bytes) {
  pb::ReplicationMessage message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return ProtocolError("peer sent a malformed replication message (" +
                         std::to_string(bytes.size()) + " bytes)");
  }
  if (message.kind_case() == pb::ReplicationMessage::kDeflated) {
    ESTELIK_ASSIGN_OR_RETURN(message, Inflate(message.deflated(), bytes.size()));
  }
  if (message.kind_case() != pb::ReplicationMessage::kHello && !got_hello_) {
    return ProtocolError("peer sent a replication message before its Hello");
  }
  switch (message.kind_case()) {
    case pb::ReplicationMessage::kHello:
      return OnHello(message.hello());
    case pb::ReplicationMessage::kOpBatch:
      return OnOpBatch(message.op_batch());
    case pb::ReplicationMessage::kOpsDone:
      return OnOpsDone();
    case pb::ReplicationMessage::kWant:
      return OnWant(message.want());
    case pb::ReplicationMessage::kChunk:
      return OnChunk(message.chunk());
    case pb::ReplicationMessage::kDone:
      return OnDone();
    case pb::ReplicationMessage::kKeepAlive:
      return Status::Ok();
    case pb::ReplicationMessage::kDeflated:  // Inflate() refuses nesting
    case pb::ReplicationMessage::KIND_NOT_SET:
      break;
  }
  return ProtocolError("peer sent a replication message of unknown kind");
}

Result<pb::ReplicationMessage> ReplicationSession::Inflate(const std::string& deflated,
                                                           size_t outer_size) {
  if (!deflate_) {
    return ProtocolError(std::string("peer sent a compressed message without negotiating ") +
                         kDeflateCapability);
  }
  // The bound every uncompressed message has: a bomb stops there, having cost at most that.
  ESTELIK_ASSIGN_OR_RETURN(std::string bytes, InflateRaw(deflated, config_.limits.max_message_size,
                                                         "peer's compressed message"));
  // The session limit counts what the peer makes us process, so compression cannot stretch it.
  if (bytes.size() > outer_size) ESTELIK_RETURN_IF_ERROR(CountReceived(bytes.size() - outer_size));
  pb::ReplicationMessage inner;
  if (!inner.ParseFromString(bytes)) {
    return ProtocolError("peer sent a compressed message that holds no replication message (" +
                         std::to_string(bytes.size()) + " bytes inflated)");
  }
  if (inner.kind_case() == pb::ReplicationMessage::kDeflated) {
    return ProtocolError("peer sent a compressed message inside a compressed message");
  }
  ++stats_.messages_deflated_received;
  return inner;
}

Status ReplicationSession::CountReceived(uint64_t bytes) {
  received_bytes_ += bytes;
  if (received_bytes_ > config_.limits.max_session_bytes) {
    return LimitExceeded("peer sent more than " + std::to_string(config_.limits.max_session_bytes) +
                         " bytes in one session");
  }
  return Status::Ok();
}

Status ReplicationSession::OnHello(const pb::Hello& hello) {
  if (got_hello_) return ProtocolError("peer sent a second Hello");
  if (hello.version() != kReplicationVersion) {
    return Unsupported("peer speaks replication version " + std::to_string(hello.version()) +
                       "; this device speaks " + std::to_string(kReplicationVersion));
  }
  const ReplicationLimits& limits = config_.limits;
  if (static_cast<size_t>(hello.circles_size()) > limits.max_circles) {
    return LimitExceeded("peer's Hello lists " + std::to_string(hello.circles_size()) +
                         " circles; the limit is " + std::to_string(limits.max_circles));
  }
  std::map<std::string, log::VersionVector> theirs;
  for (const pb::CircleVector& vector : hello.circles()) {
    if (vector.circle_id().size() != kCircleIdSize) {
      return ProtocolError("peer's Hello has a circle id of " +
                           std::to_string(vector.circle_id().size()) + " bytes");
    }
    if (static_cast<size_t>(vector.heads_size()) > limits.max_authors) {
      return LimitExceeded("peer's Hello lists " + std::to_string(vector.heads_size()) +
                           " authors for one circle; the limit is " +
                           std::to_string(limits.max_authors));
    }
    log::VersionVector& versions = theirs[vector.circle_id()];
    for (const pb::AuthorHead& head : vector.heads()) {
      if (head.author().size() != kPublicKeySize || head.seq() == 0) {
        return ProtocolError("peer's Hello has a malformed author head");
      }
      versions[head.author()] = head.seq();
    }
  }
  // We send every circle we share with the peer; a circle missing from its Hello is one it
  // does not know yet (a new member), so it gets everything.
  for (const std::string& circle : shared_) {
    auto it = theirs.find(circle);
    sending_[circle] = it == theirs.end() ? log::VersionVector{} : std::move(it->second);
  }
  send_cursor_ = sending_.begin();
  peer_limits_ = hello.limits();
  const double ops_rate =
      PeerLimit(peer_limits_.max_ops_per_second(), limits.max_ops_per_second) * kSendRateFraction;
  const double batch_rate =
      PeerLimit(peer_limits_.max_batches_per_second(), limits.max_batches_per_second) *
      kSendRateFraction;
  out_ops_.Init(ops_rate, kSendBurstSeconds, now_ms_);
  out_batches_.Init(batch_rate, kSendBurstSeconds, now_ms_);
  got_hello_ = true;
  return Status::Ok();
}

Status ReplicationSession::OnOpBatch(const pb::OpBatch& batch) {
  if (got_ops_done_) return ProtocolError("peer sent ops after OpsDone");
  const std::string& circle = batch.circle_id();
  if (circle.size() != kCircleIdSize) return ProtocolError("peer sent a batch without a circle");
  // A circle we already know is accepted only if we share it with this peer; an unknown one
  // may be our invitation (see Replica::KnowsCircle).
  if (shared_.count(circle) == 0 && invited_.count(circle) == 0) {
    if (replica_.KnowsCircle(circle)) {
      return PermissionDenied("peer sent ops of circle " + ShortId(circle) +
                              ", which we do not share with it");
    }
    if (invited_.size() >= config_.limits.max_circles) {
      return LimitExceeded("peer sent ops of too many circles we do not know");
    }
    invited_.insert(circle);
    stats_.circles = shared_.size() + invited_.size();
  }
  const size_t count = static_cast<size_t>(batch.envelopes_size());
  if (count == 0) return ProtocolError("peer sent an empty OpBatch");
  if (count > config_.limits.max_ops_per_batch) {
    return LimitExceeded("peer sent a batch of " + std::to_string(count) + " ops; the limit is " +
                         std::to_string(config_.limits.max_ops_per_batch));
  }
  in_ops_.Refill(now_ms_);
  in_batches_.Refill(now_ms_);
  if (in_batches_.tokens < 1.0) {
    return LimitExceeded("peer exceeded " + std::to_string(config_.limits.max_batches_per_second) +
                         " batches per second");
  }
  if (in_ops_.tokens < static_cast<double>(count)) {
    return LimitExceeded("peer exceeded " + std::to_string(config_.limits.max_ops_per_second) +
                         " ops per second");
  }
  in_batches_.tokens -= 1.0;
  in_ops_.tokens -= static_cast<double>(count);
  std::vector<pb::Envelope> envelopes(batch.envelopes().begin(), batch.envelopes().end());
  stats_.ops_received += count;
  ++stats_.batches_received;
  Result<ReceiveOutcome> outcome = replica_.ReceiveOps(circle, envelopes);
  if (!outcome.ok()) {
    return Status(outcome.status().code(),
                  "peer sent an op we rejected: " + outcome.status().message());
  }
  stats_.ops_accepted += outcome->accepted;
  stats_.ops_duplicate += outcome->duplicates;
  stats_.ops_pending += outcome->pending;
  Progress();
  return Status::Ok();
}

Status ReplicationSession::OnOpsDone() {
  if (got_ops_done_) return ProtocolError("peer sent OpsDone twice");
  got_ops_done_ = true;
  return Status::Ok();
}

Status ReplicationSession::PlanWants() {
  wants_planned_ = true;
  if (!peer_) return Status::Ok();
  // Recomputed: ops received in this session may have made us a member of new circles.
  ESTELIK_ASSIGN_OR_RETURN(std::vector<std::string> circles, replica_.SharedCircles(*peer_));
  std::set<std::string> seen;
  for (const std::string& circle : circles) {
    ESTELIK_ASSIGN_OR_RETURN(std::vector<pb::AttachmentInfo> infos,
                             replica_.CircleAttachments(circle));
    for (const pb::AttachmentInfo& info : infos) {
      const std::string& id = info.attachment_id();
      if (!seen.insert(id).second) continue;
      Result<std::vector<uint64_t>> missing = replica_.MissingChunks(id);
      if (!missing.ok() && missing.status().code() == Code::kNotFound) {
        if (!replica_.ExpectAttachment(info).ok()) {
          ++stats_.attachments_skipped;
          continue;
        }
        missing = replica_.MissingChunks(id);
      }
      if (!missing.ok()) {
        ++stats_.attachments_skipped;
        continue;
      }
      if (missing->empty()) continue;
      // Announce it (idempotent), so chunks can be stored whatever order they come in.
      if (!replica_.ExpectAttachment(info).ok()) {
        ++stats_.attachments_skipped;
        continue;
      }
      stats_.chunks_wanted += missing->size();
      wanted_.push_back({id, std::deque<uint64_t>(missing->begin(), missing->end())});
    }
  }
  return Status::Ok();
}

Status ReplicationSession::OnWant(const pb::Want& want) {
  const std::string& id = want.attachment_id();
  if (id.size() != kAttachmentIdSize) return ProtocolError("peer sent a Want without attachment");
  if (!offerable_) {
    // What we may send this peer: attachments of the circles we share with it. Computed once
    // per session (a wanted attachment we lack is answered as unavailable).
    offerable_.emplace();
    for (const std::string& circle : shared_) {
      ESTELIK_ASSIGN_OR_RETURN(std::vector<pb::AttachmentInfo> infos,
                               replica_.CircleAttachments(circle));
      for (const pb::AttachmentInfo& info : infos) {
        (*offerable_)[info.attachment_id()] = info.chunk_count();
      }
    }
  }
  // An attachment we do not offer this peer (not ours to give, or one we never heard of)
  // gets "unavailable" answers; a Want must still stay within the limit.
  auto offer = offerable_->find(id);
  const bool known = offer != offerable_->end();
  uint64_t total = 0;
  uint64_t next_min = 0;
  for (const pb::ChunkRange& range : want.ranges()) {
    if (range.count() == 0 || range.first() < next_min ||
        range.first() > UINT64_MAX - range.count() ||
        (known &&
         (range.count() > offer->second || range.first() > offer->second - range.count()))) {
      return ProtocolError("peer sent a Want with a bad chunk range for attachment " + ShortId(id));
    }
    next_min = range.first() + range.count();
    total += std::min<uint64_t>(range.count(), config_.limits.max_wanted_chunks + 1);
    if (total > config_.limits.max_wanted_chunks) break;
  }
  if (requests_.size() + total > config_.limits.max_wanted_chunks) {
    return LimitExceeded("peer wants more than " +
                         std::to_string(config_.limits.max_wanted_chunks) + " chunks at once");
  }
  for (const pb::ChunkRange& range : want.ranges()) {
    for (uint64_t i = 0; i < range.count(); ++i) {
      requests_.push_back({id, range.first() + i, !known});
    }
  }
  return Status::Ok();
}

Status ReplicationSession::OnChunk(const pb::Chunk& chunk) {
  auto key = std::make_pair(chunk.attachment_id(), chunk.index());
  auto it = outstanding_.find(key);
  if (it == outstanding_.end()) {
    return ProtocolError("peer sent chunk " + std::to_string(chunk.index()) + " of attachment " +
                         ShortId(chunk.attachment_id()) + ", which we did not ask for");
  }
  outstanding_.erase(it);
  if (chunk.unavailable()) {
    ++stats_.chunks_unavailable;
    return Status::Ok();
  }
  // Held and stored in runs (one transaction each): one fsync per 64 KiB chunk was the limit
  // on chunk throughput.
  if (!received_.empty() && received_attachment_ != chunk.attachment_id()) {
    ESTELIK_RETURN_IF_ERROR(FlushChunks());
  }
  received_attachment_ = chunk.attachment_id();
  received_.push_back({chunk.index(), chunk.sealed()});
  if (received_.size() >= std::max<uint32_t>(1, config_.limits.chunks_per_commit)) {
    return FlushChunks();
  }
  return Status::Ok();
}

Status ReplicationSession::FlushChunks() {
  if (received_.empty()) return Status::Ok();
  std::vector<ReceivedChunk> chunks;
  chunks.swap(received_);
  Status put = replica_.PutChunks(received_attachment_, chunks);
  if (!put.ok()) {
    return Status(put.code(), "peer sent a chunk we rejected: " + put.message());
  }
  // One progress step per chunk stored, all after the run's transaction committed.
  for (const ReceivedChunk& chunk : chunks) {
    ++stats_.chunks_received;
    stats_.chunk_bytes_received += chunk.sealed.size();
    Progress();
  }
  return Status::Ok();
}

Status ReplicationSession::OnDone() {
  if (got_done_) return ProtocolError("peer sent Done twice");
  if (!got_ops_done_) return ProtocolError("peer sent Done before OpsDone");
  got_done_ = true;
  // A peer that is done asks nothing more of us; what it asked was answered before its Done.
  return Status::Ok();
}

Status ReplicationSession::SendMessage(const pb::ReplicationMessage& message) {
  std::string bytes = message.SerializeAsString();
  // Only batches: chunks are sealed (incompressible) and control messages are tiny.
  const bool batch = message.kind_case() == pb::ReplicationMessage::kOpBatch;
  if (batch && deflate_) bytes = MaybeDeflate(std::move(bytes));
  // Every message is built to fit (batches are closed before they would not; a maximal op or
  // chunk fits kMinMaxMessageSize): one that does not is our failure, not the peer's.
  if (bytes.size() > channel_.peer_max_message_size()) {
    return Internal("our message of " + std::to_string(bytes.size()) +
                    " bytes does not fit the peer's max_message_size of " +
                    std::to_string(channel_.peer_max_message_size()));
  }
  ESTELIK_RETURN_IF_ERROR(
      channel_.Send({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}));
  stats_.message_bytes_sent += bytes.size();
  stats_.largest_message_sent = std::max<uint64_t>(stats_.largest_message_sent, bytes.size());
  if (batch) stats_.batch_bytes_sent += bytes.size();
  last_sent_ms_ = now_ms_;
  CollectOutput();
  return Status::Ok();
}

std::string ReplicationSession::MaybeDeflate(std::string bytes) {
  // The peer inflates at most its max_message_size: a message too large to send plainly stays
  // plain, so the channel refuses it here rather than the peer after the fact.
  if (bytes.size() > channel_.peer_max_message_size()) return bytes;
  pb::ReplicationMessage wrapper;
  wrapper.set_deflated(DeflateRaw(bytes, kDeflateLevel));
  if (wrapper.ByteSizeLong() >= bytes.size()) return bytes;
  ++stats_.messages_deflated_sent;
  return wrapper.SerializeAsString();
}

Status ReplicationSession::ProduceOpBatch(bool* produced) {
  *produced = false;
  while (send_cursor_ != sending_.end()) {
    out_ops_.Refill(now_ms_);
    out_batches_.Refill(now_ms_);
    if (out_batches_.tokens < 1.0 || out_ops_.tokens < 1.0) return Status::Ok();  // paced
    const uint32_t max_ops =
        PeerLimit(peer_limits_.max_ops_per_batch(), config_.limits.max_ops_per_batch);
    const size_t limit = std::min<size_t>(max_ops, static_cast<size_t>(out_ops_.tokens));
    const std::string& circle = send_cursor_->first;
    log::VersionVector& theirs = send_cursor_->second;
    if (carry_.empty()) {
      // Fetched ops that did not fit the last batch's byte budget are kept (carry_), so the
      // store is read once per op.
      ESTELIK_ASSIGN_OR_RETURN(std::vector<pb::Envelope> ops,
                               replica_.OpsAfter(circle, theirs, max_ops));
      if (ops.empty()) {
        ++send_cursor_;
        continue;
      }
      for (pb::Envelope& envelope : ops) carry_.push_back(std::move(envelope));
    }
    pb::ReplicationMessage message;
    pb::OpBatch* batch = message.mutable_op_batch();
    batch->set_circle_id(circle);
    // The batch closes before its envelopes pass batch_target_bytes, and before the whole
    // serialized ReplicationMessage (field tags and lengths included) would pass the peer's
    // max_message_size; one op travels alone whatever batch_target_bytes says.
    const size_t peer_max = channel_.peer_max_message_size();
    size_t bytes = 0;                               // envelopes
    size_t batch_bytes = FieldSize(circle.size());  // the serialized OpBatch
    while (!carry_.empty() && static_cast<size_t>(batch->envelopes_size()) < limit) {
      pb::Envelope& envelope = carry_.front();
      const size_t size = envelope.ByteSizeLong();
      const size_t message_size = FieldSize(batch_bytes + FieldSize(size));
      if (batch->envelopes_size() > 0 &&
          (bytes + size > config_.limits.batch_target_bytes || message_size > peer_max)) {
        break;
      }
      Result<pb::Op> header = log::ParseOpHeader(envelope.op());
      if (!header.ok()) {
        return Internal("an op we hold cannot be sent: " + header.status().message());
      }
      if (message_size > peer_max) {  // not after the checks above (kMinMaxMessageSize)
        return Internal("op " + ShortId(header->author()) + " seq " +
                        std::to_string(header->seq()) + " (" + std::to_string(size) +
                        " bytes) does not fit the peer's " + "max_message_size of " +
                        std::to_string(peer_max));
      }
      uint64_t& seq = theirs[header->author()];
      seq = std::max(seq, header->seq());
      bytes += size;
      batch_bytes += FieldSize(size);
      *batch->add_envelopes() = std::move(envelope);
      carry_.pop_front();
    }
    const size_t count = static_cast<size_t>(batch->envelopes_size());
    ESTELIK_RETURN_IF_ERROR(SendMessage(message));
    out_ops_.tokens -= static_cast<double>(count);
    out_batches_.tokens -= 1.0;
    stats_.ops_sent += count;
    ++stats_.batches_sent;
    *produced = true;
    Progress();
    return Status::Ok();
  }
  return Status::Ok();
}

Status ReplicationSession::Produce() {
  if (!channel_.is_open() || !got_hello_) return Status::Ok();
  // Ops first (text before media), then answers to the peer's wants, then our own wants.
  while (!OutputFull() && !sent_ops_done_) {
    bool produced = false;
    ESTELIK_RETURN_IF_ERROR(ProduceOpBatch(&produced));
    if (send_cursor_ == sending_.end()) {
      pb::ReplicationMessage done;
      done.mutable_ops_done();
      ESTELIK_RETURN_IF_ERROR(SendMessage(done));
      sent_ops_done_ = true;
    } else if (!produced) {
      return Status::Ok();  // paced: wait for a Tick
    }
  }
  while (!OutputFull() && !requests_.empty()) {
    ChunkRequest request = std::move(requests_.front());
    requests_.pop_front();
    pb::ReplicationMessage message;
    pb::Chunk* chunk = message.mutable_chunk();
    chunk->set_attachment_id(request.attachment_id);
    chunk->set_index(request.index);
    Result<std::string> sealed =
        request.unavailable ? Result<std::string>(NotFound("not offered"))
                            : replica_.GetSealedChunk(request.attachment_id, request.index);
    const bool has_data = sealed.ok();
    if (has_data) {
      chunk->set_sealed(std::move(*sealed));
    } else if (sealed.status().code() == Code::kNotFound) {
      chunk->set_unavailable(true);  // we do not hold it (yet): the peer asks again later
    } else {
      return sealed.status();  // our store failed (or the vault was locked): stop here
    }
    ESTELIK_RETURN_IF_ERROR(SendMessage(message));
    if (has_data) {
      stats_.chunk_bytes_sent += chunk->sealed().size();
      ++stats_.chunks_sent;
      Progress();
    }
  }
  if (got_ops_done_ && !wants_planned_) ESTELIK_RETURN_IF_ERROR(PlanWants());
  // Nothing more on the way: store what arrived rather than wait for a full run.
  if (outstanding_.empty()) ESTELIK_RETURN_IF_ERROR(FlushChunks());
  if (wants_planned_) {
    const uint32_t window = std::max<uint32_t>(
        1, std::min(config_.limits.chunks_in_flight,
                    PeerLimit(peer_limits_.max_wanted_chunks(), config_.limits.chunks_in_flight)));
    while (!wanted_.empty() && outstanding_.size() < window && !OutputFull()) {
      WantedAttachment& front = wanted_.front();
      pb::ReplicationMessage message;
      pb::Want* want = message.mutable_want();
      want->set_attachment_id(front.attachment_id);
      pb::ChunkRange* range = nullptr;
      while (!front.indexes.empty() && outstanding_.size() < window) {
        uint64_t index = front.indexes.front();
        front.indexes.pop_front();
        outstanding_.insert({front.attachment_id, index});
        if (range != nullptr && range->first() + range->count() == index) {
          range->set_count(range->count() + 1);
        } else {
          range = want->add_ranges();
          range->set_first(index);
          range->set_count(1);
        }
      }
      if (front.indexes.empty()) wanted_.pop_front();
      ESTELIK_RETURN_IF_ERROR(SendMessage(message));
    }
    if (!sent_done_ && sent_ops_done_ && wanted_.empty() && outstanding_.empty() &&
        received_.empty()) {
      pb::ReplicationMessage done;
      done.mutable_done();
      ESTELIK_RETURN_IF_ERROR(SendMessage(done));
      sent_done_ = true;
    }
  }
  return Status::Ok();
}

void ReplicationSession::Progress() {
  if (config_.on_progress) config_.on_progress(stats_);
}

void ReplicationSession::MaybeFinish() {
  if (sent_done_ && got_done_ && requests_.empty()) {
    channel_.Close("done");
    Finish(true, "done");
  }
}

void ReplicationSession::Fail(const Status& why) {
  if (closed_) return;
  channel_.Close(CloseCodeFor(why), why.message());
  CollectOutput();  // the close notice tells the peer why, with a code it can act on
  Finish(false, why.message());
}

void ReplicationSession::Finish(bool success, std::string reason) {
  if (closed_) return;
  closed_ = true;
  // Chunks received before a failure are authentic (each is checked as it is stored): keep
  // them so the next session resumes after them. A rejected one is only reported.
  Status flushed = FlushChunks();
  if (!flushed.ok() && success) {
    success = false;
    reason = flushed.message();
  }
  std::set<std::string> circles = shared_;
  circles.insert(invited_.begin(), invited_.end());
  stats_.circle_ids.assign(circles.begin(), circles.end());
  stats_.circles = circles.size();
  succeeded_ = success;
  close_reason_ = std::move(reason);
  CollectOutput();
  if (config_.on_closed) config_.on_closed(stats_, succeeded_, close_reason_);
}

}  // namespace estelik::sync
