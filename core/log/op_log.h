// OpLog: this device's signed, hash-chained op log, its identity, contacts and circles.
//
// Every change is an Op (proto/op.proto) appended here: built, its body sealed with the
// scope's key, serialized once, signed once, stored. Remote ops enter through Ingest /
// IngestRun, which verify signature, hash chain and authorization before changing anything.
// Rules, tables and byte formats: docs/FORMAT.md "Ops and envelopes".
//
// Chains: seq and prev are per (author, scope), where the scope is the private log or one
// circle (all its epochs). Private ops never leave the device, so one global chain per
// author would show every peer gaps it could never fill.
//
// Circles: a circle's 32-byte id is BLAKE2b-256("estelik-circle-v1" || admin || 16-byte
// salt) (CircleIdFor), and it has one random 32-byte key per epoch. The creator is the admin:
// only the admin adds or removes members; only members of an op's epoch may post in it.
// Adding a member grants the current epoch key; removing one starts a new epoch whose fresh
// key is granted to every remaining member (crypto_box_seal to their X25519 keys, carried in
// Op.key_grants) and fixes the removed member's cut: their later ops in earlier epochs are
// void (stored, never opened). An author's chain never returns to an earlier epoch. A relay
// (CarryCircle) stores and forwards a circle's ops, verifying signatures and chains, without
// any key.
//
// Ownership: the OpLog uses but does not own `db`, which must outlive it (the vault opens it
// through the encrypting VFS; tables are prefixed log_ and created idempotently). Secrets
// (identity seed, private log key, circle keys) are kept in SecretBytes.
//
// Thread safety: none; one OpLog per connection, calls serialized by the owner.
// Errors: every failing call changes nothing (a sql::Transaction wraps each) and says why.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto/secret.h"
#include "core/log/hlc.h"
#include "core/log/identity.h"
#include "core/log/op_codec.h"
#include "core/status.h"
#include "proto/op.pb.h"

namespace estelik::log {

// The private log (empty circle id) or one circle.
struct Scope {
  std::string circle_id;  // empty or kCircleIdSize bytes
  static Scope Private() { return {}; }
  static Scope Circle(std::string id) { return {std::move(id)}; }
  bool is_private() const { return circle_id.empty(); }
};

// author (32-byte Ed25519 key as bytes) -> highest contiguous seq held.
using VersionVector = std::map<std::string, uint64_t>;

enum class IngestOutcome {
  kAccepted,   // verified and appended to the author's chain (plus any pending it unblocked)
  kDuplicate,  // already held, byte for byte; nothing changed
  kPending,    // signature verified, but seq is ahead of the chain or the circle is not known
               // yet: held in memory (bounded) until the gap fills or a key grant arrives
  kFork,       // a different op for an (author, scope, seq) already held: kept as evidence,
               // author flagged, not on the chain
};

struct Contact {
  PublicKey public_key{};
  std::string name;
  pb::Hlc added;
};

struct CircleInfo {
  std::string circle_id;
  std::string name;
  PublicKey admin{};
  uint32_t epoch = 0;              // current (highest known) epoch
  std::vector<PublicKey> members;  // of the current epoch, sorted
  bool carrier_only = false;       // relay: no key
};

// One member of one epoch of a circle (member: 32-byte Ed25519 key as bytes).
using EpochMember = std::pair<uint32_t, std::string>;

// A member_remove's cut (MemberRemove.cut): `member`'s ops in the circle with seq > `cut` in
// an epoch before `epoch` (the epoch the removal started) are void.
struct RemovalCut {
  std::string member;  // 32-byte Ed25519 key as bytes
  uint32_t epoch = 0;
  uint64_t cut = 0;
  bool operator==(const RemovalCut&) const = default;
};

struct OpLogOptions {
  // Identity to create on first open (tests, vectors); random when unset. If the database
  // already holds a different identity, Open fails with AlreadyExists.
  std::optional<std::vector<uint8_t>> identity_seed;
  uint64_t max_drift_ms = kDefaultMaxDriftMs;
  size_t max_pending_ops = 4096;  // ops held for gaps, all authors together
  size_t max_fork_variants = 8;   // distinct ops kept per (author, scope, seq)
};

class OpLog {
 public:
  // `private_key`: kBodyKeySize bytes derived from the vault's master key; seals private
  // ops. InvalidArgument if `db` is null or the key has the wrong size; Corrupt/IoError if
  // the tables are unreadable.
  static Result<std::unique_ptr<OpLog>> Open(sqlite3* db, crypto::SecretBytes private_key,
                                             OpLogOptions options = {});
  ~OpLog();

  const Identity& identity() const { return identity_; }
  const pb::Hlc& last_hlc() const { return clock_.last(); }

  // Appends a local op with `body` in `scope` (circle ops use the circle's current epoch).
  // PermissionDenied if we are not a member of the circle; InvalidArgument for bodies that
  // have their own call (circles, contacts) or belong to another scope.
  Result<pb::Envelope> Append(const pb::OpBody& body, const Scope& scope, uint64_t physical_ms);

  // A remote op. Rejected with Corrupt (bad signature, broken chain, undecryptable body),
  // PermissionDenied (not authorized, private op), LimitExceeded (too large, too many
  // pending) — changing nothing. Ops of a circle we neither belong to nor carry are held
  // (kPending) in memory only, never stored, until a key grant makes the circle known.
  Result<IngestOutcome> Ingest(const pb::Envelope& envelope, uint64_t physical_ms);

  // A contiguous run of one author's ops in one scope, ascending. Authenticated by the
  // newest op's signature plus the hash chain back to the chain head we hold; per-op
  // signatures are kept and checked lazily (VerifyStoredSignatures, export). All or nothing:
  // accepted iff Ingest would accept every op; otherwise nothing changes. Runs that do not
  // extend our head directly (gaps, overlaps, forks) fall back to per-op Ingest.
  Result<IngestOutcome> IngestRun(const std::vector<pb::Envelope>& run, uint64_t physical_ms);

  // Per author, the highest contiguous seq we hold in `scope`. O(authors).
  Result<VersionVector> GetVersionVector(const Scope& scope);
  // Our ops in `scope` the holder of `theirs` lacks, in author order then seq order, at most
  // `limit`. Cost O(missing ops + authors): index range scans on (scope, author, seq).
  Result<std::vector<pb::Envelope>> OpsAfter(const VersionVector& theirs, const Scope& scope,
                                             size_t limit);

  // The plaintext body, if we hold the scope key and the op's author was authorized.
  // PermissionDenied("no key for circle X epoch N") for a relay or a removed member;
  // PermissionDenied("... is void ...") for an op past its author's removal cut.
  Result<pb::OpBody> OpenBody(const pb::Envelope& envelope);
  // The same, also storing the exact plaintext body bytes in `*plaintext` (when not null):
  // the bytes Op.body_hash commits to, which evidence export reveals. Every opened body is
  // checked against a present body_hash (Corrupt "... body does not match its signed
  // commitment").
  Result<pb::OpBody> OpenBody(const pb::Envelope& envelope, std::string* plaintext);

  // The epoch of our own op `op_hash` (32 bytes) on our chain in `scope`: 0 in the private
  // log. NotFound if our chain in `scope` holds no such op (e.g. it is in another scope).
  // Cost: O(our ops in `scope`).
  Result<uint32_t> OwnOpEpoch(const Scope& scope, std::string_view op_hash);
  // Whether `author`'s chain in circle `scope` holds, below `seq`, an op we store and forward
  // but never apply: sealed with an epoch key we were never granted, or void past a removal
  // cut. Cost: O(that author's ops in `scope`).
  Result<bool> HoldsUnappliedOpBefore(const Scope& scope, std::string_view author, uint64_t seq);

  // (seq, epoch) of `author`'s chained ops in `scope` with after < seq <= upto, seq order.
  Result<std::vector<std::pair<uint64_t, uint32_t>>> ChainEpochs(const Scope& scope,
                                                                 std::string_view author,
                                                                 uint64_t after, uint64_t upto);
  // Every (epoch, member) of circle `scope` this log knows.
  Result<std::set<EpochMember>> EpochMembers(const Scope& scope);
  // Removal cuts of circle `scope` this log has read (docs/FORMAT.md "Acceptance rules"):
  // every op of `member` with seq > `cut` sealed in an epoch before `epoch` is void. Sorted.
  Result<std::vector<RemovalCut>> RemovalCuts(const Scope& scope);
  // Whether we hold any op that `cut` makes void (stored before the removal reached us).
  Result<bool> HoldsOpsPastCut(const Scope& scope, const RemovalCut& cut);
  // The epochs of circle `scope` whose key we hold.
  Result<std::set<uint32_t>> KeyedEpochs(const Scope& scope);
  // Our chained ops of circle `scope` sealed with `epoch` whose seq is at most `upto[author]`,
  // author then seq order: what we stored and forwarded while we had no key for `epoch`.
  Result<std::vector<pb::Envelope>> HeldOpsOfEpoch(const Scope& scope, uint32_t epoch,
                                                   const VersionVector& upto);

  // Circles.
  struct CreatedCircle {
    std::string circle_id;
    pb::Envelope envelope;
  };
  Result<CreatedCircle> CreateCircle(const std::string& name, uint64_t physical_ms);
  Result<pb::Envelope> AddMember(const std::string& circle_id, const PublicKey& member,
                                 uint64_t physical_ms);
  Result<pb::Envelope> RemoveMember(const std::string& circle_id, const PublicKey& member,
                                    uint64_t physical_ms);
  // Become a relay for `circle_id`: store and forward its ops without reading them.
  Status CarryCircle(const std::string& circle_id);
  Result<CircleInfo> GetCircle(const std::string& circle_id);
  // The ids of every circle this log knows (as member, admin or carrier), sorted.
  Result<std::vector<std::string>> ListCircles();

  // Contacts (each change is also a private op, so it is in the history).
  Result<pb::Envelope> AddContact(const PublicKey& key, const std::string& name,
                                  uint64_t physical_ms);
  Result<pb::Envelope> RemoveContact(const PublicKey& key, uint64_t physical_ms);
  Result<std::vector<Contact>> Contacts();

  // Authors seen signing two different ops for one (scope, seq).
  Result<std::vector<PublicKey>> ForkedAuthors();
  // Every stored op of (author, scope) at `seq`, canonical first then fork evidence.
  Result<std::vector<pb::Envelope>> OpsAt(const PublicKey& author, const Scope& scope,
                                          uint64_t seq);
  // Checks the per-op signature of every op accepted on chain authority only. Returns how
  // many failed (they stay authentic through the chain, but cannot be exported alone).
  Result<size_t> VerifyStoredSignatures();

  // --- Rebuild and redaction (docs/FORMAT.md "Ops and envelopes") ---
  struct StoredOp {
    pb::Envelope envelope;  // empty when redacted
    OpHash hash{};
    std::string author;  // 32 bytes
    std::string scope;   // circle id, empty for the private log
    uint64_t seq = 0;
    pb::Hlc hlc;
    std::string redacted_for;  // the testimony whose withdrawal redacted the op; else empty
  };
  // Calls `fn` for every op on a chain (fork evidence excluded), ours and others', private
  // and circle, in (HLC, author, scope, seq) order: HLC order respects causality. Stops at
  // the first error `fn` returns. Reads the whole ordered list before the first call.
  Status ForEachOp(const std::function<Status(const StoredOp&)>& fn);
  // Deletes the envelope bytes (signature and sealed body) of our private ops with these
  // hashes, keeping (scope, author, seq, hash, prev, HLC) so the chain stays verifiable.
  // Circle ops are never redacted (peers need them). Returns how many were redacted; unknown
  // or already redacted hashes are skipped.
  Result<size_t> RedactPrivateOps(const std::vector<OpHash>& hashes,
                                  const std::string& testimony_id);

  // Testing hook: fills each sealing nonce instead of the CSPRNG (vector tests only).
  void SetNonceSourceForTesting(std::function<void(std::span<uint8_t>)> source);

  struct Impl;  // opaque; defined in op_log_impl.h, shared by the units that implement OpLog

 private:
  explicit OpLog(sqlite3* db, Identity identity, crypto::SecretBytes private_key,
                 OpLogOptions options);
  Identity identity_;
  HybridClock clock_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace estelik::log
