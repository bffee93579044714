#include "sync/protocol/archive_replica.h"

#include <algorithm>

namespace estelik::sync {

crypto::SecretBytes ArchiveReplica::IdentitySecretKey() const {
  const log::Identity& identity = archive_.identity();
  crypto::SecretBytes key(identity.seed().size() + identity.public_key().size());
  std::copy(identity.seed().span().begin(), identity.seed().span().end(), key.data());
  std::copy(identity.public_key().begin(), identity.public_key().end(),
            key.data() + identity.seed().size());
  return key;
}

bool ArchiveReplica::IsContact(const log::PublicKey& peer) {
  auto lock = Lock();
  auto contacts = archive_.log().Contacts();
  if (!contacts.ok()) return false;  // fail closed
  return std::any_of(contacts->begin(), contacts->end(),
                     [&](const log::Contact& c) { return c.public_key == peer; });
}

Result<std::vector<std::string>> ArchiveReplica::SharedCircles(const log::PublicKey& peer) {
  auto lock = Lock();
  return archive_.SharedCircles(peer);
}

bool ArchiveReplica::KnowsCircle(const std::string& circle_id) {
  auto lock = Lock();
  return archive_.log().GetCircle(circle_id).ok();
}

Result<log::VersionVector> ArchiveReplica::Versions(const std::string& circle_id) {
  auto lock = Lock();
  return archive_.log().GetVersionVector(log::Scope::Circle(circle_id));
}

Result<std::vector<pb::Envelope>> ArchiveReplica::OpsAfter(const std::string& circle_id,
                                                           const log::VersionVector& theirs,
                                                           size_t limit) {
  auto lock = Lock();
  return archive_.log().OpsAfter(theirs, log::Scope::Circle(circle_id), limit);
}

Result<ReceiveOutcome> ArchiveReplica::ReceiveOps(const std::string& circle_id,
                                                  const std::vector<pb::Envelope>& envelopes) {
  auto lock = Lock();
  ESTELIK_ASSIGN_OR_RETURN(archive::Archive::ReceiveReport report,
                           archive_.ReceiveOps(circle_id, envelopes));
  ReceiveOutcome out;
  out.accepted = report.accepted;
  out.duplicates = report.duplicates;
  out.pending = report.pending;
  out.forks = report.forks;
  return out;
}

Result<std::vector<pb::AttachmentInfo>> ArchiveReplica::CircleAttachments(
    const std::string& circle_id) {
  auto lock = Lock();
  return archive_.CircleAttachments(circle_id);
}

Result<std::vector<uint64_t>> ArchiveReplica::MissingChunks(const std::string& attachment_id) {
  auto lock = Lock();
  return archive_.store().MissingChunks(attachment_id);
}

Status ArchiveReplica::ExpectAttachment(const pb::AttachmentInfo& info) {
  auto lock = Lock();
  return archive_.store().ExpectAttachment(info);
}

Status ArchiveReplica::PutChunk(const std::string& attachment_id, uint64_t index,
                                const std::string& sealed) {
  auto lock = Lock();
  return archive_.store().PutChunk(attachment_id, index, sealed);
}

Status ArchiveReplica::PutChunks(const std::string& attachment_id,
                                 const std::vector<ReceivedChunk>& chunks) {
  auto lock = Lock();
  // One transaction (one fsync) for the run instead of one per 64 KiB chunk.
  ESTELIK_ASSIGN_OR_RETURN(store::Store::Batch batch, archive_.store().BeginBatch());
  Status stored = Status::Ok();
  for (const ReceivedChunk& chunk : chunks) {
    stored = archive_.store().PutChunk(attachment_id, chunk.index, chunk.sealed);
    if (!stored.ok()) break;
  }
  // A rejected chunk changed nothing (PutChunk's own savepoint); the ones before it are
  // authentic and kept. A whole attachment that failed its content hash discarded its chunks,
  // and that must stick too, so the next session starts the transfer over.
  ESTELIK_RETURN_IF_ERROR(batch.Commit());
  return stored;
}

Result<std::string> ArchiveReplica::GetSealedChunk(const std::string& attachment_id,
                                                   uint64_t index) {
  auto lock = Lock();
  return archive_.store().GetSealedChunk(attachment_id, index);
}

}  // namespace estelik::sync
