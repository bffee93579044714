#include "sync/orchestrator/archive_replica.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace estelik::sync {

ArchiveReplica::ArchiveReplica(archive::Archive& archive, std::mutex* archive_mutex)
    : archive_(&archive), mutex_(archive_mutex) {
  access_ = [this](const Use& use) {
    auto lock = Lock();
    return use(*archive_);
  };
}

ArchiveReplica::ArchiveReplica(Access access) : access_(std::move(access)) {}

template <typename T, typename Fn>
Result<T> ArchiveReplica::Fetch(Fn&& fn) const {
  std::optional<Result<T>> out;
  ESTELIK_RETURN_IF_ERROR(access_([&](archive::Archive& archive) -> Status {
    out.emplace(fn(archive));
    return Status::Ok();
  }));
  return std::move(*out);
}

crypto::SecretBytes ArchiveReplica::IdentitySecretKey() const {
  crypto::SecretBytes key;  // empty without an Archive: the channel then refuses to start
  (void)access_([&](archive::Archive& archive) {
    const log::Identity& identity = archive.identity();
    key = crypto::SecretBytes(identity.seed().size() + identity.public_key().size());
    std::copy(identity.seed().span().begin(), identity.seed().span().end(), key.data());
    std::copy(identity.public_key().begin(), identity.public_key().end(),
              key.data() + identity.seed().size());
    return Status::Ok();
  });
  return key;
}

bool ArchiveReplica::IsContact(const log::PublicKey& peer) {
  auto contacts = ContactKeys();
  if (!contacts.ok()) return false;  // fail closed
  return std::find(contacts->begin(), contacts->end(), peer) != contacts->end();
}

Result<std::vector<log::PublicKey>> ArchiveReplica::ContactKeys() const {
  return Fetch<std::vector<log::PublicKey>>(
      [](archive::Archive& archive) -> Result<std::vector<log::PublicKey>> {
        ESTELIK_ASSIGN_OR_RETURN(std::vector<log::Contact> contacts, archive.Contacts());
        std::vector<log::PublicKey> keys;
        for (const log::Contact& c : contacts) keys.push_back(c.public_key);
        return keys;
      });
}

Result<std::vector<std::string>> ArchiveReplica::SharedCircles(const log::PublicKey& peer) {
  return Fetch<std::vector<std::string>>(
      [&](archive::Archive& archive) { return archive.SharedCircles(peer); });
}

bool ArchiveReplica::KnowsCircle(const std::string& circle_id) {
  bool knows = false;
  (void)access_([&](archive::Archive& archive) {
    knows = archive.GetCircle(circle_id).ok();
    return Status::Ok();
  });
  return knows;
}

Result<log::VersionVector> ArchiveReplica::Versions(const std::string& circle_id) {
  return Fetch<log::VersionVector>(
      [&](archive::Archive& archive) { return archive.Versions(circle_id); });
}

Result<std::vector<pb::Envelope>> ArchiveReplica::OpsAfter(const std::string& circle_id,
                                                           const log::VersionVector& theirs,
                                                           size_t limit) {
  return Fetch<std::vector<pb::Envelope>>(
      [&](archive::Archive& archive) { return archive.OpsAfter(circle_id, theirs, limit); });
}

Result<ReceiveOutcome> ArchiveReplica::ReceiveOps(const std::string& circle_id,
                                                  const std::vector<pb::Envelope>& envelopes) {
  return Fetch<ReceiveOutcome>([&](archive::Archive& archive) -> Result<ReceiveOutcome> {
    ESTELIK_ASSIGN_OR_RETURN(archive::Archive::ReceiveReport report,
                             archive.ReceiveOps(circle_id, envelopes));
    ReceiveOutcome out;
    out.accepted = report.accepted;
    out.duplicates = report.duplicates;
    out.pending = report.pending;
    out.forks = report.forks;
    return out;
  });
}

Result<std::vector<pb::AttachmentInfo>> ArchiveReplica::CircleAttachments(
    const std::string& circle_id) {
  return Fetch<std::vector<pb::AttachmentInfo>>(
      [&](archive::Archive& archive) { return archive.CircleAttachments(circle_id); });
}

Result<std::vector<uint64_t>> ArchiveReplica::MissingChunks(const std::string& attachment_id) {
  return Fetch<std::vector<uint64_t>>(
      [&](archive::Archive& archive) { return archive.MissingChunks(attachment_id); });
}

Status ArchiveReplica::ExpectAttachment(const pb::AttachmentInfo& info) {
  return access_([&](archive::Archive& archive) { return archive.ExpectAttachment(info); });
}

Status ArchiveReplica::PutChunk(const std::string& attachment_id, uint64_t index,
                                const std::string& sealed) {
  return access_(
      [&](archive::Archive& archive) { return archive.PutChunk(attachment_id, index, sealed); });
}

Status ArchiveReplica::PutChunks(const std::string& attachment_id,
                                 const std::vector<ReceivedChunk>& chunks) {
  std::vector<archive::Archive::SealedChunk> run;
  run.reserve(chunks.size());
  for (const ReceivedChunk& chunk : chunks) run.push_back({chunk.index, chunk.sealed});
  return access_([&](archive::Archive& archive) { return archive.PutChunks(attachment_id, run); });
}

Result<std::string> ArchiveReplica::GetSealedChunk(const std::string& attachment_id,
                                                   uint64_t index) {
  return Fetch<std::string>(
      [&](archive::Archive& archive) { return archive.GetSealedChunk(attachment_id, index); });
}

}  // namespace estelik::sync
