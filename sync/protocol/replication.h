// ReplicationSession: one sync session between two contacts, as a sans-IO Session
// (sync/protocol/session.h) over a SecureChannel. It makes the circles both sides share
// converge: Hello (version vectors) both ways, then the ops each side lacks in bounded
// batches, then attachment chunks by have/want, then Done both ways and a close with "done".
// Wire format, limits and close reasons: docs/PROTOCOL.md "Replication".
//
// Cost is O(missing ops + authors + missing chunks): only version vectors and OpsAfter are
// used, never a listing of all ops. Private scope never leaves the device; only circles the
// Replica reports as shared with the verified peer are sent.
//
// Hostile peers: every quantity the peer controls is bounded (ReplicationLimits). A violation
// closes the session with a stated reason and changes nothing locally (ops are applied all or
// nothing per op by the Replica, which rejects forged or unauthorized ops with a reason; that
// reason becomes the close reason).
//
// Ownership: borrows the Replica, which must outlive the session. Thread safety: one thread
// at a time (the driver's). Callbacks run inside Feed/Tick/ConsumeOutput on that thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/crypto/secret.h"
#include "core/log/op_codec.h"
#include "core/status.h"
#include "proto/replication.pb.h"
#include "sync/protocol/replica.h"
#include "sync/protocol/secure_channel.h"
#include "sync/protocol/session.h"

namespace estelik::sync {

inline constexpr char kReplicationCapability[] = "replication/1";
inline constexpr uint32_t kReplicationVersion = 1;
// Advertised by a side that accepts `deflated` messages (docs/PROTOCOL.md "Compression").
inline constexpr char kDeflateCapability[] = "deflate/1";

// The smallest max_message_size a replication peer may advertise in its handshake payload (and
// this side may be configured with): an OpBatch holding one op of log::kMaxOpBytes with its
// signature and framing (< 200 bytes more), and a Chunk message with a full 64 KiB chunk, both
// fit in it. A session whose peer advertises less closes as soon as the channel opens
// (docs/PROTOCOL.md "Limits").
inline constexpr size_t kMinMaxMessageSize = log::kMaxOpBytes + 64 * 1024;  // 1,114,112

// Bounds on what a peer may make this side do, and how this side paces what it sends. The
// receive limits are advertised in Hello (max_message_size in the handshake payload); a sender
// paces itself to the peer's and never sends a message larger than the peer's
// max_message_size.
struct ReplicationLimits {
  // One application message, advertised as the channel's max_message_size (this, not
  // ChannelLimits' default, is what a replication session advertises); >= kMinMaxMessageSize.
  size_t max_message_size = size_t{2} << 20;
  uint32_t max_ops_per_batch = 1024;  // ops in one OpBatch
  // A sender closes a batch before its ops pass this size, and always before the message would
  // exceed the peer's max_message_size.
  size_t batch_target_bytes = 256 * 1024;
  uint32_t max_ops_per_second = 200'000;    // received ops, token bucket
  uint32_t max_batches_per_second = 2'000;  // received OpBatch messages, token bucket
  uint32_t max_wanted_chunks = 256;         // chunk indexes a peer may have pending with us
  // Chunk indexes we have asked for and not yet received, at most (our window; not advertised):
  // the window is max(1, min(this, the peer's max_wanted_chunks)).
  uint32_t chunks_in_flight = 64;
  uint32_t chunks_per_commit = 32;  // received chunks stored per transaction (memory: x 64 KiB)
  uint64_t max_session_bytes = uint64_t{4} << 30;  // application bytes received per session
  size_t max_circles = 4096;                       // circles in one Hello
  size_t max_authors = 100'000;                    // heads per circle in one Hello
  size_t output_high_water = 512 * 1024;           // stop producing while this much is unsent
  // From the session's start until the handshake completed with a contact. Short: until then
  // the connection may be a stranger's holding one of the driver's pre-authentication slots.
  uint64_t handshake_timeout_ms = 5'000;
  uint64_t keepalive_interval_ms = 15'000;     // send KeepAlive after this much silence
  uint64_t peer_silence_timeout_ms = 120'000;  // close if the peer says nothing for this long
};

// What one session did, for summaries and tests. Counts are of this session only.
struct ReplicationStats {
  uint64_t ops_sent = 0;
  uint64_t ops_received = 0;  // in OpBatch messages from the peer
  uint64_t ops_accepted = 0;  // of those, now on an author's chain
  uint64_t ops_duplicate = 0;
  uint64_t ops_pending = 0;
  uint64_t batches_sent = 0;
  uint64_t batches_received = 0;
  uint64_t chunks_wanted = 0;    // chunk indexes we found missing and asked for
  uint64_t chunks_received = 0;  // stored
  uint64_t chunks_unavailable = 0;
  uint64_t chunks_sent = 0;
  uint64_t chunk_bytes_received = 0;  // sealed bytes
  uint64_t chunk_bytes_sent = 0;
  uint64_t attachments_skipped = 0;  // known of but not expectable here (e.g. no testimony)
  // Application messages before the channel, as sent: a deflated one at its compressed size.
  uint64_t message_bytes_sent = 0;
  uint64_t message_bytes_received = 0;
  uint64_t batch_bytes_sent = 0;        // of message_bytes_sent, the OpBatch messages
  uint64_t messages_deflated_sent = 0;  // OpBatch messages sent compressed
  uint64_t messages_deflated_received = 0;
  uint64_t wire_bytes_sent = 0;  // channel bytes (frames, handshake, tags)
  uint64_t wire_bytes_received = 0;
  // The largest application message sent (as sent, never above the peer's max_message_size)
  // and received (as the channel delivered it).
  uint64_t largest_message_sent = 0;
  uint64_t largest_message_received = 0;
  std::optional<Ed25519PublicKey> peer;  // once the handshake completed
  size_t circles = 0;  // circles replicated with this peer: shared at the start or invited in it
  std::vector<std::string> circle_ids;  // those circles (32 bytes each), sorted
};

// The network key used when the community configured none: BLAKE2b-256 of
// kDefaultNetworkKeyLabel. It is public, so it only separates Estelik from other protocols;
// a community that wants its own closed network shares a random 32-byte key out of band.
inline constexpr char kDefaultNetworkKeyLabel[] =
    "estelik/1 default network key (public; not a secret)";
crypto::SecretBytes DefaultNetworkKey();

struct ReplicationConfig {
  bool initiator = false;
  crypto::SecretBytes network_key;  // kNetworkKeySize bytes
  // Initiator: required (Create fails with kInvalidArgument without it): the contact dialed.
  // Only that device answers (docs/PROTOCOL.md "Transport"). Responder: ignored.
  std::optional<Ed25519PublicKey> expected_peer;
  ReplicationLimits limits;
  // Advertise "deflate/1" and send OpBatch messages compressed to a peer that advertises it
  // too. Off: neither side sends compressed messages in this session.
  bool deflate = true;
  // Called once per step, with the stats after it: an OpBatch sent, an OpBatch received and
  // applied, a chunk sent with its data, a chunk stored (received chunks are stored in runs of
  // up to chunks_per_commit, one transaction each: that run's calls come after its commit).
  // Not for unavailable-chunk answers. May be empty.
  std::function<void(const ReplicationStats&)> on_progress;
  // Called once when the session closes, with its outcome; may be empty.
  std::function<void(const ReplicationStats&, bool succeeded, const std::string& reason)> on_closed;
};

class ReplicationSession : public Session {
 public:
  // kInvalidArgument for a malformed network key.
  static Result<std::unique_ptr<ReplicationSession>> Create(Replica& replica,
                                                            ReplicationConfig config);
  ~ReplicationSession() override;

  void Feed(std::span<const uint8_t> bytes, uint64_t now_ms) override;
  void Tick(uint64_t now_ms) override;
  std::span<const uint8_t> PendingOutput() const override;
  void ConsumeOutput(size_t n) override;
  bool WantsInput() const override { return !closed_; }
  void TransportClosed(const std::string& why) override;
  bool closed() const override { return closed_; }
  const std::string& close_reason() const override { return close_reason_; }
  bool succeeded() const override { return succeeded_; }
  // The handshake completed with a contact (peer() is set).
  bool authenticated() const override { return peer_.has_value(); }

  const ReplicationStats& stats() const { return stats_; }
  // The verified peer, once the handshake completed.
  const std::optional<Ed25519PublicKey>& peer() const { return peer_; }

 private:
  struct TokenBucket {
    double tokens = 0;
    double rate_per_ms = 0;
    double capacity = 0;
    uint64_t last_ms = 0;
    void Init(double per_second, double burst_seconds, uint64_t now_ms);
    void Refill(uint64_t now_ms);
  };
  struct WantedAttachment {
    std::string attachment_id;
    std::deque<uint64_t> indexes;  // still to ask for, ascending
  };
  // What a peer's Want asked of us, answered in order.
  struct ChunkRequest {
    std::string attachment_id;
    uint64_t index = 0;
    bool unavailable = false;  // not offered to this peer: answer without reading
  };

  ReplicationSession(Replica& replica, ReplicationConfig config, SecureChannel channel);

  void Step(uint64_t now_ms);  // events, then production, then output
  void HandleEvents();
  Status HandleMessage(std::span<const uint8_t> bytes);
  // The message inside a peer's `deflated` message (`outer_size`: the bytes it arrived in).
  Result<pb::ReplicationMessage> Inflate(const std::string& deflated, size_t outer_size);
  // Adds application bytes from the peer to the session's count; fails past the limit.
  Status CountReceived(uint64_t bytes);
  Status OnOpen(const Ed25519PublicKey& peer);
  Status OnHello(const pb::Hello& hello);
  Status OnOpBatch(const pb::OpBatch& batch);
  Status OnOpsDone();
  Status OnWant(const pb::Want& want);
  Status OnChunk(const pb::Chunk& chunk);
  Status OnDone();
  // Stores the received chunks held in memory, in one transaction.
  Status FlushChunks();
  Status PlanWants();
  Status Produce();
  Status ProduceOpBatch(bool* produced);
  Status SendMessage(const pb::ReplicationMessage& message);
  // `bytes` (a serialized OpBatch message) as a `deflated` message if that is smaller.
  std::string MaybeDeflate(std::string bytes);
  void Progress();  // config_.on_progress, if any
  void MaybeFinish();
  void Fail(const Status& why);
  void Finish(bool success, std::string reason);
  void CollectOutput();
  bool OutputFull() const;

  Replica& replica_;
  ReplicationConfig config_;
  SecureChannel channel_;

  std::vector<uint8_t> out_;
  size_t out_pos_ = 0;

  uint64_t now_ms_ = 0;
  bool started_ = false;
  uint64_t start_ms_ = 0;
  uint64_t last_sent_ms_ = 0;
  uint64_t last_received_ms_ = 0;

  std::optional<Ed25519PublicKey> peer_;
  bool deflate_ = false;           // both sides advertised deflate/1
  uint64_t received_bytes_ = 0;    // for max_session_bytes: deflated messages at inflated size
  std::set<std::string> shared_;   // circles we send and accept
  std::set<std::string> invited_;  // circles unknown at first, accepted from this peer
  std::map<std::string, log::VersionVector> sending_;  // circle -> what the peer has (so far)
  std::map<std::string, log::VersionVector>::iterator send_cursor_;
  std::deque<pb::Envelope> carry_;  // fetched for the cursor's circle, not yet sent
  pb::ReplicationLimits peer_limits_;
  bool sent_hello_ = false;
  bool got_hello_ = false;
  bool sent_ops_done_ = false;
  bool got_ops_done_ = false;
  bool wants_planned_ = false;
  bool sent_done_ = false;
  bool got_done_ = false;

  TokenBucket in_ops_, in_batches_, out_ops_, out_batches_;

  // Our wants.
  std::deque<WantedAttachment> wanted_;
  std::set<std::pair<std::string, uint64_t>> outstanding_;
  // Received, not yet stored (<= chunks_per_commit, one attachment).
  std::string received_attachment_;
  std::vector<ReceivedChunk> received_;
  // The peer's wants.
  std::deque<ChunkRequest> requests_;
  std::optional<std::map<std::string, uint64_t>> offerable_;  // attachment -> chunk_count

  ReplicationStats stats_;
  bool closed_ = false;
  bool succeeded_ = false;
  std::string close_reason_;
};

}  // namespace estelik::sync
