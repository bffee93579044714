// Replica: what a replication session (sync/protocol/replication.h) needs from the local
// vault, and nothing more, so the protocol logic is testable against a real Archive (through
// ArchiveReplica) or any other store of circles.
//
// Contracts every implementation keeps:
//   - Only circle scopes are ever returned or accepted; the private scope never leaves.
//   - ReceiveOps is all-or-nothing per batch: every op is verified (signature, chain,
//     authorization) and applied, or the first rejected op's reason is returned and nothing of
//     the batch is kept (forged signature, broken chain, unauthorized author).
//   - Attachment chunks are the sealed bytes as stored; PutChunk(s) verifies each before
//     keeping it, and an attachment becomes visible only once every chunk is there and
//     verified. PutChunks stores a run of chunks in one transaction, stopping at the first
//     rejected chunk: the ones before it (each authentic on its own) are kept, the rejected
//     one changes nothing.
//
// Thread safety: called by one session at a time, from the thread driving it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/crypto/secret.h"
#include "core/log/op_log.h"
#include "core/status.h"
#include "proto/op.pb.h"
#include "proto/record.pb.h"

namespace estelik::sync {

// One sealed attachment chunk received from a peer, not yet stored.
struct ReceivedChunk {
  uint64_t index = 0;
  std::string sealed;
};

struct ReceiveOutcome {
  size_t accepted = 0;    // now part of an author's chain (and applied)
  size_t duplicates = 0;  // already held
  size_t pending = 0;     // held until an earlier op arrives
  size_t forks = 0;       // kept as evidence
};

class Replica {
 public:
  virtual ~Replica() = default;

  // Our Ed25519 identity secret key in libsodium's 64-byte layout (seed || public key), for the
  // channel handshake, and whether `peer` is one of our contacts.
  virtual crypto::SecretBytes IdentitySecretKey() const = 0;
  virtual bool IsContact(const log::PublicKey& peer) = 0;

  // Circle ids (32 bytes each) we replicate with `peer`, sorted.
  virtual Result<std::vector<std::string>> SharedCircles(const log::PublicKey& peer) = 0;
  // Whether we hold anything of `circle_id` (member or carrier). Ops of an unknown circle are
  // accepted from any peer: that is how a newly added member learns its circle (the OpLog
  // holds them in memory, bounded, until a key grant makes the circle known).
  virtual bool KnowsCircle(const std::string& circle_id) = 0;
  // Author -> highest contiguous seq we hold in `circle_id`. O(authors).
  virtual Result<log::VersionVector> Versions(const std::string& circle_id) = 0;
  // Our ops of `circle_id` the holder of `theirs` lacks, author order then seq, at most `limit`.
  virtual Result<std::vector<pb::Envelope>> OpsAfter(const std::string& circle_id,
                                                     const log::VersionVector& theirs,
                                                     size_t limit) = 0;
  // Verifies and applies ops of `circle_id` from a peer (see the contract above).
  virtual Result<ReceiveOutcome> ReceiveOps(const std::string& circle_id,
                                            const std::vector<pb::Envelope>& envelopes) = 0;

  // Attachments of `circle_id` we hold completely or know of and lack chunks of.
  virtual Result<std::vector<pb::AttachmentInfo>> CircleAttachments(
      const std::string& circle_id) = 0;
  // Chunk indexes of `attachment_id` we still lack, ascending (empty when complete);
  // kNotFound if the attachment is unknown here.
  virtual Result<std::vector<uint64_t>> MissingChunks(const std::string& attachment_id) = 0;
  // Announces an attachment whose chunks will arrive (idempotent).
  virtual Status ExpectAttachment(const pb::AttachmentInfo& info) = 0;
  virtual Status PutChunk(const std::string& attachment_id, uint64_t index,
                          const std::string& sealed) = 0;
  // Stores `chunks` of one attachment, in order, in one transaction (see the contract above).
  // The default stores them one by one.
  virtual Status PutChunks(const std::string& attachment_id,
                           const std::vector<ReceivedChunk>& chunks) {
    for (const ReceivedChunk& chunk : chunks) {
      ESTELIK_RETURN_IF_ERROR(PutChunk(attachment_id, chunk.index, chunk.sealed));
    }
    return Status::Ok();
  }
  // The sealed chunk; kNotFound if we do not hold it (the peer is told it is unavailable).
  // Any other error ends the session.
  virtual Result<std::string> GetSealedChunk(const std::string& attachment_id, uint64_t index) = 0;
};

}  // namespace estelik::sync
