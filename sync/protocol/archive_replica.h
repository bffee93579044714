// ArchiveReplica: the Replica (sync/protocol/replica.h) of one open archive::Archive.
//
// Ownership: borrows the Archive (and the mutex, if given), which must outlive the replica.
//
// Thread safety: the Archive is used by one thread at a time, and a vault in WAL mode is held
// with an exclusive lock, so a second Archive on the same directory cannot be opened while
// an app has it open. To sync in the background while the app keeps writing, share the one
// Archive and pass a mutex that the app also holds around each of its own Archive calls: every
// Replica call takes it for the duration of that call only (one batch of ops or chunks), so
// the app waits at most one batch and the sync at most one app call.
#pragma once

#include <mutex>

#include "core/archive/archive.h"
#include "sync/protocol/replica.h"

namespace estelik::sync {

class ArchiveReplica : public Replica {
 public:
  explicit ArchiveReplica(archive::Archive& archive, std::mutex* archive_mutex = nullptr)
      : archive_(archive), mutex_(archive_mutex) {}

  crypto::SecretBytes IdentitySecretKey() const override;
  bool IsContact(const log::PublicKey& peer) override;
  Result<std::vector<std::string>> SharedCircles(const log::PublicKey& peer) override;
  bool KnowsCircle(const std::string& circle_id) override;
  Result<log::VersionVector> Versions(const std::string& circle_id) override;
  Result<std::vector<pb::Envelope>> OpsAfter(const std::string& circle_id,
                                             const log::VersionVector& theirs,
                                             size_t limit) override;
  Result<ReceiveOutcome> ReceiveOps(const std::string& circle_id,
                                    const std::vector<pb::Envelope>& envelopes) override;
  Result<std::vector<pb::AttachmentInfo>> CircleAttachments(const std::string& circle_id) override;
  Result<std::vector<uint64_t>> MissingChunks(const std::string& attachment_id) override;
  Status ExpectAttachment(const pb::AttachmentInfo& info) override;
  Status PutChunk(const std::string& attachment_id, uint64_t index,
                  const std::string& sealed) override;
  Status PutChunks(const std::string& attachment_id,
                   const std::vector<ReceivedChunk>& chunks) override;
  Result<std::string> GetSealedChunk(const std::string& attachment_id, uint64_t index) override;

  archive::Archive& archive() { return archive_; }

 protected:
  // Holds the archive mutex (if any) for one call.
  std::unique_lock<std::mutex> Lock() const {
    return mutex_ != nullptr ? std::unique_lock<std::mutex>(*mutex_)
                             : std::unique_lock<std::mutex>();
  }

 private:
  archive::Archive& archive_;
  std::mutex* mutex_ = nullptr;
};

}  // namespace estelik::sync
