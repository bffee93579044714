// Archive: an open Estelik vault as an app sees it. It owns the Vault (keys, encrypted
// store.db), the Store (materialized testimonies, attachments, search) and the OpLog
// (identity, signed ops, contacts, circles), and is the one place that turns a user's action
// into a signed op and applies it to the store, in one transaction.
//
// The Archive is the only layer of core/ that reads the wall clock: it passes each reading down
// (the OpLog's HLC takes it as `physical_ms`). It draws the random ids of testimonies,
// attachments and annotations and each testimony's content key. Beneath it randomness is drawn
// for keys and nonces only: the OpLog draws its identity seed on first open, a circle's salt
// (which makes the circle id) and first key in CreateCircle, and a new epoch key in
// RemoveMember; the Vault its master and duress-decoy keys and key-slot noise; and every seal
// (op bodies, attachment chunks, database pages) a fresh nonce.
//
// Thread safety: one thread at a time (the C API and the CLI serialize calls), but for
// Interrupt(), which any thread may call while a call runs.
// Errors: Status codes from core/status.h; a failed call changes nothing.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/log/op_log.h"
#include "core/status.h"
#include "core/store/store.h"
#include "core/vault/vault.h"
#include "proto/op.pb.h"
#include "proto/record.pb.h"

namespace estelik::archive {

// Subkeys of the master key used by the archive (docs/FORMAT.md "Key hierarchy").
inline constexpr char kLogKeyContext[] = "estllogp";
inline constexpr uint64_t kLogKeyId = 1;

// Reports bytes done so far out of a total (0 when unknown).
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;
// Reports progress (`done` units out of `total`, each call says which units) and may cancel:
// returning false stops the call, which then returns kAborted (Cancelled) having kept nothing
// of its work.
using CancellableProgressFn = std::function<bool(uint64_t done, uint64_t total)>;
// kAborted "<what> was cancelled; nothing of it was kept": what a cancelled call returns.
Status Cancelled(std::string_view what);

struct NewAttachment {
  std::string name;        // as the user knows it, e.g. "interview.m4a"
  std::string media_type;  // e.g. "audio/mp4"; guessed from the name when empty
  pb::AttachmentKind kind = pb::ATTACHMENT_KIND_UNSPECIFIED;  // guessed when unspecified
};

class Archive {
 public:
  static Result<std::unique_ptr<Archive>> Create(const std::string& dir,
                                                 std::string_view passphrase,
                                                 const vault::VaultOptions& options);
  static Result<std::unique_ptr<Archive>> Open(const std::string& dir, std::string_view passphrase);
  ~Archive();

  const log::Identity& identity() const { return log_->identity(); }

  // --- Testimonies (each a signed op, applied to the store) ---
  // A testimony whose fields name a circle (consent_scope CIRCLE and circle_id) is recorded
  // straight into it: its creation is the circle op, with no private copy. Otherwise it is
  // private until Share().
  Result<pb::Testimony> AddTestimony(const pb::TestimonyFields& fields,
                                     uint64_t recorded_unix_ms = 0);
  // A new version with `fields` as the whole new content; the earlier versions stay. A
  // testimony shared into a circle stays in it whatever scope `fields` names.
  Result<pb::Testimony> EditTestimony(std::string_view id, const pb::TestimonyFields& fields);
  // Tombstones win: the withdrawal op carries the tombstone hash every replica records, later
  // edits, tags and annotations of the testimony are ignored wherever they arrive, and our
  // private ops that carried its content are redacted from the log (docs/FORMAT.md "Ops and
  // envelopes", Redaction). Ops already sent to a circle cannot be redacted.
  Status Withdraw(std::string_view id);

  // Bulk import (`estelik import`): records each of `records` as a new testimony (as
  // AddTestimony), all in one transaction: either every one is kept, or, on an error, a
  // cancel (kAborted) or a panic-lock (kLocked, checked before each), none is. `progress`
  // (may be empty) counts testimonies: once with 0 first, then after each. Returns how many
  // were recorded.
  Result<size_t> ImportTestimonies(const std::vector<pb::TestimonyFields>& records,
                                   const CancellableProgressFn& progress);

  // --- Tags and annotations (add-wins; each a signed op) ---
  // On a shared testimony any member of its circle may tag, untag and annotate (the op goes to
  // the circle); on a private one only we may (the op stays private). kPermissionDenied
  // otherwise; kInvalidArgument for an empty or oversized tag or text, or a withdrawn testimony.
  Status AddTag(std::string_view id, const std::string& tag);
  // Removes every add of `tag` we have seen; an add made concurrently elsewhere survives.
  // kNotFound if no member added it; kInvalidArgument if the tag is in the author's own fields
  // (only an edit changes those).
  Status RemoveTag(std::string_view id, const std::string& tag);
  // Returns the new annotation's id (16 bytes).
  Result<std::string> Annotate(std::string_view id, const std::string& text,
                               const std::string& language = "");

  // --- Maintenance ---
  struct RebuildReport {
    std::array<uint8_t, 32> before{};  // Store::StateHash() before
    std::array<uint8_t, 32> after{};   // and re-derived from the log
    size_t applied = 0;                // ops replayed
    size_t redacted = 0;               // redacted ops (content destroyed by a withdrawal)
    size_t unreadable = 0;             // ops we carry without their circle key
  };
  // Re-derives every materialized table (testimonies, versions, search index, attachment
  // metadata, tags, annotations) from the op log, keeping the sealed attachment chunks, in one
  // transaction. Replays every op on a chain sorted by (HLC, author, scope, seq). If the result's
  // state hash differs from the store's, nothing changes and kCorrupt says so (the store was
  // changed outside the log, or the log lost ops). Repairs derived data the hash does not cover
  // (stored fields, search rows, filter terms). Cost: O(ops + attachment bytes).
  Result<RebuildReport> Rebuild();
  // BLAKE2b-256 over every materialized record (Store::StateHash): equal on replicas that
  // applied the same ops. kIo/kCorrupt from SQLite.
  Result<std::array<uint8_t, store::kHashSize>> StateHash() { return store_->StateHash(); }

  Result<pb::Testimony> GetTestimony(std::string_view id) { return store_->Get(id); }
  Result<pb::History> History(std::string_view id) { return store_->History(id); }
  Result<pb::TestimonyPage> List(const pb::ListFilter& filter, const pb::PageRequest& page) {
    return store_->List(filter, page);
  }
  Result<pb::SearchPage> Search(const pb::SearchQuery& query) { return store_->Search(query); }

  // Resolves a full id (32 hex digits) or a unique prefix of at least 6 hex digits.
  Result<std::string> ResolveId(std::string_view hex_or_prefix);

  // --- Attachments ---
  // A streaming add for shells that record or receive the bytes themselves. The attachment
  // becomes visible (and its op is appended) only when Finish() succeeds; a writer destroyed
  // before that leaves nothing visible. The Archive must outlive the writer.
  class AttachmentWriter {
   public:
    Status Append(std::span<const uint8_t> bytes) { return writer_->Append(bytes); }
    Result<pb::AttachmentInfo> Finish();

   private:
    friend class Archive;
    AttachmentWriter(Archive* archive, std::unique_ptr<store::AttachmentWriter> writer)
        : archive_(archive), writer_(std::move(writer)) {}
    Archive* archive_;
    std::unique_ptr<store::AttachmentWriter> writer_;
  };
  Result<std::unique_ptr<AttachmentWriter>> BeginAttachment(std::string_view testimony_id,
                                                            const NewAttachment& meta);
  // A verifying reader over attachment `index` (0-based) of a testimony.
  Result<std::unique_ptr<store::AttachmentReader>> OpenAttachment(std::string_view testimony_id,
                                                                  size_t index);
  // Streams the file at `path` into the testimony in sealed chunks (bounded memory).
  Result<pb::AttachmentInfo> AttachFile(std::string_view testimony_id, const std::string& path,
                                        const NewAttachment& meta, const ProgressFn& progress);
  // Writes attachment `index` (0-based, in the order added) of a testimony to `out_path`,
  // verifying every chunk and the content hash; a partial file is removed on failure.
  Result<pb::AttachmentInfo> ExportAttachment(std::string_view testimony_id, size_t index,
                                              const std::string& out_path,
                                              const ProgressFn& progress);

  // --- Contacts, circles and sharing (each change is a signed op) ---
  Status AddContact(const log::PublicKey& key, const std::string& name);
  Status RemoveContact(const log::PublicKey& key);
  // Returns the new circle's id; we are its admin and only member.
  Result<std::string> CreateCircle(const std::string& name);
  // Admin only. The member must be a contact (we need their key to grant the circle key).
  Status AddCircleMember(const std::string& circle_id, const log::PublicKey& member);
  // Admin only. Starts a new epoch: later ops are sealed with a key the member never gets.
  Status RemoveCircleMember(const std::string& circle_id, const log::PublicKey& member);
  Result<std::vector<log::CircleInfo>> Circles();
  // Our contacts, sorted by name then key.
  Result<std::vector<log::Contact>> Contacts() { return log_->Contacts(); }
  // One circle this vault knows (as member, admin or carrier); kNotFound otherwise.
  Result<log::CircleInfo> GetCircle(const std::string& circle_id) {
    return log_->GetCircle(circle_id);
  }
  // What we hold of circle `circle_id`: per author, the highest contiguous seq (empty when we
  // hold none of its ops). Equal on replicas that hold the same ops. O(authors).
  Result<log::VersionVector> Versions(const std::string& circle_id) {
    return log_->GetVersionVector(log::Scope::Circle(circle_id));
  }
  // Shares our testimony into a circle: a new local version records the circle as its scope,
  // and the testimony (fields, attachments, content key) is re-sealed in a circle op. Later
  // edits and a withdrawal go to the circle too. kPermissionDenied if it is not ours.
  Status Share(std::string_view testimony_id, const std::string& circle_id);

  // --- Sync-facing (used by sync/orchestrator's ArchiveReplica; never by shells directly) ---
  struct ReceiveReport {
    size_t accepted = 0;    // verified, chained and applied to the store
    size_t duplicates = 0;  // already held
    size_t pending = 0;     // held until an earlier op of the same author arrives
    size_t forks = 0;       // kept as evidence; the author is flagged
    // A removal in the batch voided ops applied before it arrived: the store was re-derived
    // from the log (docs/FORMAT.md "Merge"), undoing them.
    bool undone = false;
    // The store was re-derived from the log in this batch (for `undone`, or because ops it
    // made readable were overtaken by later ops of their author).
    bool rederived = false;
  };
  // Verifies and stores ops from a peer, then applies every op that became part of its
  // author's chain (including pending ones it unblocked) to the store. All ops must belong to
  // `circle_id`. A rejected op changes nothing and stops the batch with its reason.
  Result<ReceiveReport> ReceiveOps(const std::string& circle_id,
                                   const std::vector<pb::Envelope>& envelopes);
  // Circles whose current epoch has both us and `peer` as members, plus circles we only carry
  // (relay) that the peer is a member of. Sorted.
  Result<std::vector<std::string>> SharedCircles(const log::PublicKey& peer);
  // Attachments of testimonies shared in `circle_id` that this device holds completely
  // (to offer) or knows of but lacks chunks of (to want).
  Result<std::vector<pb::AttachmentInfo>> CircleAttachments(const std::string& circle_id);
  // Our ops of circle `circle_id` that the holder of `theirs` lacks, in author order then seq
  // order, at most `limit`. O(missing ops + authors).
  Result<std::vector<pb::Envelope>> OpsAfter(const std::string& circle_id,
                                             const log::VersionVector& theirs, size_t limit) {
    return log_->OpsAfter(theirs, log::Scope::Circle(circle_id), limit);
  }
  // Announces an attachment a peer offers (its AttachmentInfo as the sender has it), whose
  // sealed chunks then arrive through PutChunk(s) in any order, across restarts. Idempotent.
  Status ExpectAttachment(const pb::AttachmentInfo& info) { return store_->ExpectAttachment(info); }
  // Indexes of the chunks of an expected attachment not yet received, ascending (empty when
  // complete).
  Result<std::vector<uint64_t>> MissingChunks(std::string_view attachment_id) {
    return store_->MissingChunks(attachment_id);
  }
  // Stores one sealed chunk after checking it opens under the testimony's key (kCorrupt
  // otherwise, changing nothing). With the last missing chunk the whole attachment is checked
  // against its content hash and becomes visible (kCorrupt and its chunks discarded if not).
  Status PutChunk(std::string_view attachment_id, uint64_t index, std::string_view sealed) {
    return store_->PutChunk(attachment_id, index, sealed);
  }
  struct SealedChunk {
    uint64_t index = 0;
    std::string_view sealed;
  };
  // PutChunk for each of `chunks` in one transaction (one fsync), stopping at the first
  // rejected chunk and returning its reason: the chunks before it are kept, it changes nothing.
  Status PutChunks(std::string_view attachment_id, std::span<const SealedChunk> chunks);
  // The sealed bytes of one chunk, as stored (for sending to a peer); kNotFound if we lack it.
  Result<std::string> GetSealedChunk(std::string_view attachment_id, uint64_t index) {
    return store_->GetSealedChunk(attachment_id, index);
  }

  // --- Panic-lock ---
  // The one member safe to call from another thread while a call runs: that call stops at its
  // next attachment chunk, replayed or received op, or search row and returns kLocked, keeping
  // nothing (its transaction rolls back, an unfinished attachment is discarded, a partial
  // export file or bundle is removed). Every later call may fail the same way: the owner
  // destroys the Archive next (core/sql/interrupt.h).
  void Interrupt() { store_->interrupt().Request(); }
  bool interrupted() const { return store_->interrupt().requested(); }

  // --- Vault safety settings (forwarded to the Vault, core/vault/vault.h) ---
  // Re-seals the master key under `new_passphrase`; kWrongPassphrase if `old_passphrase` is
  // not this vault's.
  Status ChangePassphrase(std::string_view old_passphrase, std::string_view new_passphrase) {
    return vault_->ChangePassphrase(old_passphrase, new_passphrase);
  }
  // Re-key (vault::Vault::Rekey): the whole vault re-encrypted under a fresh master key sealed
  // under `new_passphrase` (empty: the same passphrase); the private log key is carried, so
  // identity, history, contacts, circles and sync state stay as they were. `archive` is taken
  // apart (its store and log hold statements on the connection the vault reopens) and put back
  // together; it is null afterwards only if the vault could not be reopened (as if locked).
  // Errors as Vault::Rekey; a failed re-key leaves the vault under its old key. `cancelled` as
  // in Vault::Rekey.
  static Status Rekey(std::unique_ptr<Archive>& archive, std::string_view passphrase,
                      std::string_view new_passphrase, const std::function<bool()>& cancelled = {});
  // Makes `duress_passphrase` open an empty decoy vault, destroying this one (Vault::
  // SetDuressPassphrase). kPermissionDenied when this vault was opened under duress.
  Status SetDuressPassphrase(std::string_view duress_passphrase) {
    return vault_->SetDuressPassphrase(duress_passphrase);
  }
  // Removes the duress passphrase, if any.
  Status ClearDuressPassphrase() { return vault_->ClearDuressPassphrase(); }
  // The `max_failures`-th consecutive wrong passphrase panic-wipes the vault (0 = off; at most
  // vault::kMaxUnlockGuardLimit, kInvalidArgument beyond). Resets the count.
  Status SetUnlockGuard(uint32_t max_failures) { return vault_->SetUnlockGuard(max_failures); }
  // The unlock guard's limit (0 = off).
  uint32_t UnlockGuardLimit() const { return vault_->UnlockGuardLimit(); }
  // Seconds of idleness after which shells lock the vault (0 = never; at most
  // vault::kMaxAutoLockSeconds, kInvalidArgument beyond). Stored encrypted in the vault.
  Status SetAutoLockSeconds(uint32_t seconds) { return vault_->SetAutoLockSeconds(seconds); }
  // The stored auto-lock setting (0 = never). kIo/kCorrupt from SQLite.
  Result<uint32_t> AutoLockSeconds() const { return vault_->AutoLockSeconds(); }

 private:
  Result<pb::Testimony> AddIntoCircle(const std::string& id, const pb::TestimonyFields& fields,
                                      uint64_t recorded_unix_ms,
                                      const crypto::SecretBytes& content_key);
  Archive(std::unique_ptr<vault::Vault> vault, std::unique_ptr<store::Store> store,
          std::unique_ptr<log::OpLog> log);
  static Result<std::unique_ptr<Archive>> Assemble(std::unique_ptr<vault::Vault> vault);
  struct Applied {
    pb::Op op;         // header
    std::string hash;  // BLAKE2b-256 of the op bytes
  };
  // What a rebuild knows beyond the ops it replays.
  struct RebuildState {
    // Content keys of live testimonies, for creates written before TestimonyCreate carried one.
    std::map<std::string, crypto::SecretBytes> legacy_keys;
    // Testimonies whose private ops were redacted by their withdrawal: author and the HLC of
    // the earliest such op (the create), for the tombstone when no circle copy recreates it.
    std::map<std::string, std::pair<std::string, pb::Hlc>> redacted;
  };
  // Where ops about the testimony go: its circle if shared, else the private log.
  Result<log::Scope> ScopeFor(std::string_view testimony_id);
  // Appends `body` as our op in `scope` and applies it to the store (the caller holds the
  // transaction): local changes and received ones take the same path, so a rebuild from the
  // log reproduces both.
  Result<Applied> AppendAndApply(const pb::OpBody& body, const log::Scope& scope);
  // Applies one op that just joined its author's chain to the store (a relay without the
  // circle key stores the op and applies nothing). A rejected op returns its reason.
  Status Materialize(const pb::Envelope& envelope);
  // The merge rules (docs/FORMAT.md "Ops and envelopes", Merge) for one opened op.
  Status Apply(const pb::Op& op, const std::string& hash, const pb::OpBody& body,
               RebuildState* rebuild);
  Status ApplyShare(const pb::Op& op, const std::string& hash, const pb::ShareIntoCircle& s);
  // One op being applied (merge.cc): its header, hash, and the rebuild's state (null live).
  struct Applying {
    const pb::Op& op;
    const std::string& hash;
    RebuildState* rebuild;
  };
  // The merge rule of each op kind (docs/FORMAT.md "Merge"), one function each.
  Status ApplyCreate(const Applying& a, const pb::TestimonyCreate& c);
  Status ApplyEdit(const Applying& a, const pb::TestimonyEdit& e);
  Status ApplyWithdraw(const Applying& a, const pb::TestimonyWithdraw& w);
  Status WithdrawUnheld(const Applying& a, const pb::TestimonyWithdraw& w, const Status& lookup);
  Status ApplyAttachmentAdd(const Applying& a, const pb::AttachmentInfo& info);
  Status ApplyTagAdd(const Applying& a, const pb::TagAdd& t);
  Status ApplyTagRemove(const Applying& a, const pb::TagRemove& r);
  Status ApplyAnnotationAdd(const Applying& a, const pb::AnnotationAdd& n);
  Status RecordCarrier(const Applying& a, const std::string& testimony_id);
  Result<bool> LiveTestimony(const Applying& a, const std::string& id, bool author_only);
  // Clears every materialized table and replays the log into it (Rebuild's work, without its
  // comparison); the caller holds the batch. Counts into `report`.
  Status Rederive(RebuildReport* report);
  // Ops of `scope` stored before a batch (seq at most `seen`) that it made readable: of an epoch
  // whose key it granted, or by an author it added to their epoch. Author then seq order.
  Result<std::vector<pb::Envelope>> HeldOpsNowReadable(
      const log::Scope& scope, const std::set<uint32_t>& keyed_before,
      const std::set<log::EpochMember>& members_before, const log::VersionVector& seen);
  // Whether an author of `held` has a later op, stored before the batch in an epoch readable
  // then, that was materialized without them.
  Result<bool> HeldOpsWereOvertaken(const log::Scope& scope, const std::vector<pb::Envelope>& held,
                                    const std::set<uint32_t>& keyed_before,
                                    const log::VersionVector& seen);
  // Rederive inside ReceiveOps' batch; counts the ops that joined chains into `report`.
  Status RederiveInBatch(const log::Scope& scope, const log::VersionVector& seen,
                         ReceiveReport* report);
  // Whether ops of `scope` this replica already holds were made void by removal cuts it
  // learned since `cuts_before` (so what they changed must be undone).
  Result<bool> LearnedCutsVoidHeldOps(const log::Scope& scope,
                                      const std::vector<log::RemovalCut>& cuts_before);
  // Deletes the envelopes of our private ops that carried the testimony's content.
  Status RedactContentOf(const std::string& testimony_id);

  // The parts beneath the facade: for core/evidence, tests, tools and benchmarks only, through
  // ArchiveBackDoor (core/archive/back_door.h); never for shells or sync.
  friend class ArchiveBackDoor;
  vault::Vault& vault() { return *vault_; }
  store::Store& store() { return *store_; }
  log::OpLog& log() { return *log_; }

  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<log::OpLog> log_;
};

// Milliseconds since the Unix epoch from the system clock.
uint64_t WallClockMs();

}  // namespace estelik::archive
