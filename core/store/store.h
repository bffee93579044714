// Store: testimonies, their version history, attachments and search, on a SQLite connection
// the Store does not own (the Vault opens store.db through the encrypting VFS and hands it
// over). Schema and byte formats: docs/FORMAT.md "Records and schema".
//
// Determinism: every mutation is a pure function of its arguments and the current state.
// Callers supply ids, authors, HLC timestamps and content keys; nothing here reads the clock
// or the random generator, except the nonces that seal attachment chunks (those bytes are
// not part of StateHash()). Replicas given the same mutations in the same order have equal
// StateHash().
//
// Nothing said is overwritten: an edit appends a version; History() returns them all.
// Withdraw() destroys every version's content, the attachments (chunks and metadata), the
// FTS rows and the content key, leaving a tombstone with a hash of what was there.
//
// Thread safety: a Store and the writers/readers it hands out are used from one thread at a
// time (the caller serializes). Every mutation runs in its own sql::Transaction: BEGIN
// IMMEDIATE, or a savepoint inside a Store::Batch or a transaction the caller holds (the Archive
// applies an op and its store mutation together), so it is all-or-nothing either way.
// The Store must outlive its writers and readers, and the sqlite3* must outlive the Store.
//
// Errors: kInvalidArgument for malformed arguments (nothing changes), kNotFound, kAlreadyExists,
// kPermissionDenied (not the author), kCorrupt (tampered data, with which record/chunk),
// kIo, kLimitExceeded.
#pragma once

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto/secret.h"
#include "core/ids.h"
#include "core/sql/interrupt.h"
#include "core/status.h"
#include "core/store/attachment.h"
#include "proto/common.pb.h"
#include "proto/record.pb.h"

namespace estelik::sql {
class Transaction;
}  // namespace estelik::sql

namespace estelik::store {

using ::estelik::kAttachmentIdSize;  // core/ids.h
using ::estelik::kTestimonyIdSize;
inline constexpr size_t kAuthorSize = kPublicKeySize;  // Ed25519 public key
inline constexpr size_t kContentKeySize = 32;          // XChaCha20-Poly1305 key
using ::estelik::kHashSize;
inline constexpr size_t kMaxFieldsBytes = 1 << 20;  // serialized TestimonyFields

// Markers around matched words in SearchHit snippets (also echoed in every SearchPage).
inline constexpr char kHighlightOpen[] = "\x02";
inline constexpr char kHighlightClose[] = "\x03";

struct NewTestimony {
  std::string id;      // kTestimonyIdSize bytes, random, chosen by the caller
  std::string author;  // kAuthorSize bytes
  pb::Hlc created;
  uint64_t recorded_unix_ms = 0;
  pb::TestimonyFields fields;
};

// Search ranks at most this many matches, the most recently stored (see Store::Search).
inline constexpr uint32_t kMaxRankedCandidates = 1000;

struct StoreOptions {
  // FOR TESTS AND BENCHMARKS ONLY: the FTS5 tokenize= argument used when Open creates a new
  // store ("estelik" by default; e.g. "unicode61 remove_diacritics 2" to compare against the
  // stock tokenizer). Ignored for a store that already holds testimonies. A store created with
  // another tokenizer loses cross-script search.
  std::string fts_tokenizer = "estelik";
  // How many of the most recent matches Search ranks at most (see Store::Search); >= 1.
  uint32_t max_ranked_candidates = kMaxRankedCandidates;
};

class Store {
 public:
  // Registers the 'estelik' FTS5 tokenizer on `db`, turns on secure_delete, migrates the
  // schema to kSchemaVersion, rebuilds the search index when it was built with other folding
  // rules than kFoldVersion (seconds per 100,000 testimonies, once after an upgrade) and sweeps
  // attachment chunks left by interrupted local writes.
  static Result<std::unique_ptr<Store>> Open(sqlite3* db, const StoreOptions& options = {});

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // --- Mutations (deterministic) ---

  // Groups many mutations into one transaction (bulk import: one fsync per batch instead of
  // one per testimony). Each mutation inside still succeeds or fails as a unit (a SAVEPOINT);
  // nothing is durable until Commit(). Destroying an uncommitted Batch rolls all of it back.
  // At most one Batch at a time; no attachment writer may be open meanwhile.
  class Batch {
   public:
    Batch(Batch&&) noexcept;
    Batch& operator=(Batch&&) = delete;
    ~Batch();
    Status Commit();

   private:
    friend class Store;
    Batch(Store* store, std::unique_ptr<sql::Transaction> tx);
    Store* store_;
    std::unique_ptr<sql::Transaction> tx_;
  };
  Result<Batch> BeginBatch();

  // Version 1 of a new testimony. kAlreadyExists if the id is taken (also by a tombstone).
  // `content_key` (kContentKeySize bytes) seals the testimony's attachments.
  Status CreateTestimony(const NewTestimony& t, const crypto::SecretBytes& content_key);
  // Appends version current+1 with `fields` (the whole new content). Only the author may edit.
  Result<uint32_t> EditTestimony(std::string_view id, std::string_view author, const pb::Hlc& hlc,
                                 const pb::TestimonyFields& fields);
  // Destroys the content and leaves a tombstone. Only the author may withdraw. Idempotent.
  // In WAL mode the WAL is then checkpointed and truncated (after the Batch commits, inside a
  // Batch), so no old copy of the destroyed pages stays in it; kIo if that checkpoint cannot
  // complete (the withdrawal itself is committed: calling Withdraw again retries the purge).
  // `tombstone_hash` (kHashSize bytes) is the hash the withdrawing author computed
  // (TestimonyWithdraw.tombstone_hash), recorded as is so every replica holds the same
  // tombstone whatever versions it held; empty: computed here (TombstoneHash).
  Status Withdraw(std::string_view id, std::string_view author, const pb::Hlc& hlc,
                  std::string_view tombstone_hash = {});
  // The tombstone hash Withdraw would compute now: BLAKE2b-256("estelik-tombstone-v1" || id ||
  // each version's content hash in version order || each complete attachment's content hash
  // in id order). kNotFound for an unknown or already withdrawn testimony.
  Result<std::string> TombstoneHash(std::string_view id);
  // A tombstone for a testimony whose content this replica no longer holds at all (rebuild
  // after redaction). No-op if the id exists. Cannot fail half-way.
  Status PutTombstone(std::string_view id, std::string_view author, const pb::Hlc& created,
                      const pb::Hlc& withdrawn, std::string_view tombstone_hash);

  // --- Reads ---

  // The testimony with its current fields and complete attachments (a tombstone if withdrawn).
  Result<pb::Testimony> Get(std::string_view id);
  // Every version, oldest first (empty after withdrawal).
  Result<pb::History> History(std::string_view id);
  // Newest first by created HLC; keyset paging (stable when testimonies are added meanwhile).
  Result<pb::TestimonyPage> List(const pb::ListFilter& filter, const pb::PageRequest& page);
  // Ranked full-text search (title weighs more than body) combined with the list filters.
  // Any text is valid (query.h): text with nothing to look for ("", "*", "-strike") gives an
  // empty page. Every inflected form of a word in any of the four scripts matches (Ақтауға,
  // Aktau, Актау; Есенова, Yesenov: docs/FORMAT.md "Search folding"); exact forms rank first.
  // Cost is bounded: when the query (with its filters) matches more than
  // kMaxRankedCandidates testimonies, only the kMaxRankedCandidates most recently stored
  // (on this device) matches are ranked (SearchPage.ranked_recent_only is set; further words or
  // filters reach older ones), by bm25 with that window's statistics when the query is words
  // joined by OR (rank.h). Fewer matches are all ranked by bm25 over the whole index.
  Result<pb::SearchPage> Search(const pb::SearchQuery& query);
  // BLAKE2b-256 over a canonical serialization of every record, ordered by id.
  Result<std::array<uint8_t, kHashSize>> StateHash();

  // --- Panic-lock ---

  // The connection's interrupt (core/sql/interrupt.h): once requested, attachment readers and
  // writers stop at their next chunk, Search between its phases and the statement running at
  // that moment at its next row, each with kLocked. The one member safe to use from another
  // thread while a call runs.
  sql::Interrupt& interrupt() { return interrupt_; }

  // --- Attachments ---

  // Starts a local streaming add. `meta` gives attachment_id, testimony_id, name, media_type,
  // kind, author and added; size, chunk counts and hash are computed. The attachment becomes
  // visible only when the writer's Finish() commits; an interrupted write is swept on Open.
  Result<std::unique_ptr<AttachmentWriter>> BeginAttachment(const pb::AttachmentInfo& meta);
  // A reader over a complete attachment.
  Result<std::unique_ptr<AttachmentReader>> OpenAttachment(std::string_view attachment_id);
  Result<pb::AttachmentInfo> GetAttachment(std::string_view attachment_id);

  // Sync receive: announces an attachment (full AttachmentInfo as the sender has it) whose
  // sealed chunks will arrive through PutChunk in any order, across restarts. Idempotent.
  Status ExpectAttachment(const pb::AttachmentInfo& info);
  // Stores one sealed chunk after checking it opens under the testimony key. When the last
  // missing chunk arrives the whole attachment is verified against its content hash and
  // becomes visible (kCorrupt and nothing visible if it does not match).
  Status PutChunk(std::string_view attachment_id, uint64_t index, std::string_view sealed);
  // Indexes of chunks not yet received, ascending (empty when complete).
  Result<std::vector<uint64_t>> MissingChunks(std::string_view attachment_id);
  // The sealed bytes of one chunk, as stored (for sending to a peer).
  Result<std::string> GetSealedChunk(std::string_view attachment_id, uint64_t index);

  // --- Sharing (used by the Archive when a testimony is shared into a circle) ---

  // The testimony's content key (it seals the attachment chunks); kNotFound once withdrawn.
  Result<crypto::SecretBytes> TestimonyContentKey(std::string_view id);
  // Attachments of the testimony announced by a peer whose chunks are still arriving.
  Result<std::vector<pb::AttachmentInfo>> ReceivingAttachments(std::string_view testimony_id);

  // --- Tags and annotations (store_tags_annotations.cc; docs/FORMAT.md "Ops and envelopes", Merge)
  // --- Add-wins: an add is identified by the hash of its op; a remove removes the adds it names.
  // Adds and removes are recorded whatever order they arrive in (a remove before the add it
  // observed, an add before the testimony): the live set is computed, not accumulated. Only
  // adds whose scope is the private log or the testimony's circle count. Nothing is recorded
  // for a withdrawn testimony; Withdraw deletes what was.
  struct TagAddRecord {
    std::string op_hash;       // kHashSize
    std::string testimony_id;  // kTestimonyIdSize
    std::string scope;         // empty (private) or the circle id the op was posted in
    std::string author;        // kAuthorSize
    std::string tag;           // 1..kMaxTagBytes of UTF-8
    pb::Hlc hlc;
  };
  static constexpr size_t kMaxTagBytes = 256;
  static constexpr size_t kMaxAnnotationBytes = 64 * 1024;
  Status AddTag(const TagAddRecord& add);
  Status RemoveTagAdds(std::string_view testimony_id, const std::vector<std::string>& add_hashes);
  struct AnnotationRecord {
    std::string op_hash;
    std::string testimony_id;
    std::string scope;
    pb::Annotation annotation;  // annotation_id (16 bytes), author, text, language, added
  };
  Status AddAnnotation(const AnnotationRecord& annotation);
  // Hashes of the live adds of `tag` (exact, case-sensitive) on the testimony, sorted.
  Result<std::vector<std::string>> LiveTagAdds(std::string_view testimony_id, std::string_view tag);
  // Recomputes the list filter's copy of the live added tags (after a scope change).
  Status RefreshTagTerms(std::string_view testimony_id);

  // --- Op bookkeeping for the Archive (store_op_index.cc) ---
  // The op whose content is `version` of the testimony (TestimonyEdit.base_op).
  Status SetVersionOp(std::string_view testimony_id, uint32_t version, std::string_view op_hash);
  Result<std::string> VersionOp(std::string_view testimony_id, uint32_t version);
  // Private ops that carry a testimony's content (redacted when it is withdrawn).
  Status RecordOpSubject(std::string_view op_hash, std::string_view testimony_id);
  Result<std::vector<std::string>> OpSubjects(std::string_view testimony_id);
  Status ForgetOpSubjects(std::string_view testimony_id);

  // --- Rebuild support (store_rebuild.cc) ---
  // Deletes every materialized row (testimonies, versions, terms, FTS, attachment metadata,
  // tags, annotations, bookkeeping) but keeps the sealed attachment chunks. Inside a Batch.
  Status ClearMaterialized();
  // ExpectAttachment, then completes (verifying the content hash) an attachment whose chunks
  // are all present already (kept by a rebuild, or written locally).
  Status RestoreAttachment(const pb::AttachmentInfo& info);
  // Content keys of the live testimonies (rebuilding a log written before creates carried them).
  Result<std::vector<std::pair<std::string, crypto::SecretBytes>>> LiveContentKeys();

  sqlite3* db() const { return db_; }

 private:
  Store(sqlite3* db, uint32_t max_ranked) : db_(db), max_ranked_(max_ranked), interrupt_(db) {}
  Status DestroyContent(std::string_view id, std::string_view author, const pb::Hlc& hlc,
                        std::string_view tombstone_hash);
  Status TombstoneMaterial(int64_t seq, std::string_view id, std::string* material);
  Status DestroyTagsAndAnnotations(std::string_view id);
  Status FillTagsAndAnnotations(pb::Testimony* t);
  Status AppendTagState(std::string_view id, std::string* buf);
  Status PurgeWal();
  Result<int64_t> SeqOf(std::string_view id, bool* withdrawn = nullptr);
  Result<crypto::SecretBytes> ContentKey(int64_t seq);
  Status IndexCurrent(int64_t seq, const pb::TestimonyFields& fields, bool replace);
  Status VerifyAndComplete(std::string_view attachment_id);

  sqlite3* db_;
  uint32_t max_ranked_;
  bool wal_purge_pending_ = false;  // a withdrawal committed inside a Batch
  sql::Interrupt interrupt_;
};

}  // namespace estelik::store
