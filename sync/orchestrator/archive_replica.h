// ArchiveReplica: the Replica (sync/protocol/replica.h) of an archive::Archive, and the one
// adapter that locks the archive around each Replica call.
//
// Ownership: borrows the Archive (and the mutex, if given), which must outlive the replica;
// or, built from an Access, asks that Access for the Archive anew at every call.
//
// Thread safety: the Archive is used by one thread at a time, and a vault in WAL mode is held
// with an exclusive lock, so a second Archive on the same directory cannot be opened while
// an app has it open. To sync in the background while the app keeps writing, share the one
// Archive and pass a mutex that the app also holds around each of its own Archive calls: every
// Replica call takes it for the duration of that call only (one batch of ops or chunks), so
// the app waits at most one batch and the sync at most one app call. An Access generalises
// this: it locks whatever guards the Archive, finds it (it may be gone: a locked vault), runs
// the call and unlocks.
#pragma once

#include <functional>
#include <mutex>

#include "core/archive/archive.h"
#include "sync/protocol/replica.h"

namespace estelik::sync {

class ArchiveReplica : public Replica {
 public:
  // One Replica call's work on the Archive.
  using Use = std::function<Status(archive::Archive&)>;
  // Runs `use` on the Archive with it locked for that one call, and returns its status; or
  // returns why there is no Archive now (kLocked ...) without running it.
  using Access = std::function<Status(const Use& use)>;

  // The Replica of `archive`; every call holds `archive_mutex`, if given.
  explicit ArchiveReplica(archive::Archive& archive, std::mutex* archive_mutex = nullptr);
  // The Replica of whatever Archive `access` lends at each call. A call that gets none fails
  // with its status; IsContact and KnowsCircle then answer false, IdentitySecretKey empty.
  explicit ArchiveReplica(Access access);

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

  // Our contacts' identity keys, in the contact list's order (one locked call).
  Result<std::vector<log::PublicKey>> ContactKeys() const;

  // The Archive given to the first constructor. Not for a replica built from an Access.
  archive::Archive& archive() { return *archive_; }

 protected:
  // Holds the archive mutex (if any) for one call; for subclasses that read the Archive
  // directly. Empty for a replica built from an Access.
  std::unique_lock<std::mutex> Lock() const {
    return mutex_ != nullptr ? std::unique_lock<std::mutex>(*mutex_)
                             : std::unique_lock<std::mutex>();
  }

 private:
  // Runs `fn` (Archive& -> Result<T>) through the Access and returns its result.
  template <typename T, typename Fn>
  Result<T> Fetch(Fn&& fn) const;

  archive::Archive* archive_ = nullptr;
  std::mutex* mutex_ = nullptr;
  Access access_;
};

}  // namespace estelik::sync
