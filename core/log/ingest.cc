// OpLog's ingest of remote ops (docs/FORMAT.md "Acceptance rules"): signature or chain
// authority, hash chain, epoch order, authorization, forks, and ops held pending in memory.
//
// An Ingestor applies the rules to one op at a time inside the caller's savepoint; OpLog::Ingest
// and OpLog::IngestRun decide what is verified how (each op's signature, or a run's newest
// signature plus the chain) and hold what must wait.
#include <optional>
#include <utility>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/log/op_log_impl.h"

namespace estelik::log {

using internal::CircleRow;
using internal::Head;
using internal::IsMembershipOp;
using internal::MembershipOf;
using internal::ToString;
using internal::Transact;
using sql::Stmt;

namespace {

// One remote op whose signature, or the chain authority of the run it came in, was checked.
struct VerifiedOp {
  const pb::Envelope& envelope;
  const pb::Op& op;
  const OpHash& hash;
  bool sig_checked;  // its own signature (false: authentic through the run's chain)
};

// (scope, author): one author's chain in one scope, as OpLog::Impl::pending keys it.
using Chain = std::pair<std::string, std::string>;

// The acceptance rules over one OpLog's state. Every call runs inside a savepoint the caller
// holds (or opens, for the held ops it drains) and changes nothing when it fails.
class Ingestor {
 public:
  Ingestor(OpLog::Impl& impl, const Identity& me, HybridClock& clock, uint64_t physical_ms)
      : impl_(impl), me_(me), clock_(clock), physical_ms_(physical_ms) {}

  // The rules for one op: kAccepted (appended to its chain), kDuplicate, kFork (kept as
  // evidence), or kPending without writing (ahead of the chain, circle unknown, or author not
  // yet known as a member of the op's epoch); a key granted to us is learned even then.
  Result<IngestOutcome> Accept(const VerifiedOp& v);

  // Appends held ops of `chain` that now follow its head, each in its own savepoint; one that
  // fails its checks is dropped, one that must still wait is held again. Then forgets held ops
  // the chain has passed.
  Status DrainChain(const Chain& chain);
  // Retries the held ops of every author of `circle` until a round admits nothing more.
  Status DrainCircle(const std::string& circle);

  // Whether an accepted op changed a circle's membership (so held ops may now go in).
  bool membership_changed() const { return membership_changed_; }

 private:
  Status LearnGrantedKey(const pb::Op& op, std::optional<CircleRow>* circle);
  Result<std::optional<IngestOutcome>> DuplicateOrFork(const VerifiedOp& v);
  Result<IngestOutcome> KeepFork(const VerifiedOp& v, size_t variants);
  Result<std::optional<IngestOutcome>> CheckFollowsHead(const VerifiedOp& v, const Head& head);
  Result<std::optional<IngestOutcome>> AuthorizeWithKey(const pb::Op& op, const CircleRow& circle);
  Status AppendToChain(const VerifiedOp& v, const CircleRow& circle);

  OpLog::Impl& impl_;
  const Identity& me_;
  HybridClock& clock_;
  const uint64_t physical_ms_;
  bool membership_changed_ = false;
  size_t fork_variants_ = 0;
};

Result<IngestOutcome> Ingestor::Accept(const VerifiedOp& v) {
  const pb::Op& op = v.op;
  const std::string& scope = op.scope().circle_id();
  if (scope.empty()) {
    return PermissionDenied("refusing a private op from " + ShortId(op.author()) +
                            ": private ops never leave their author's device");
  }
  ESTELIK_ASSIGN_OR_RETURN(std::optional<CircleRow> circle, impl_.LoadCircle(scope));
  ESTELIK_RETURN_IF_ERROR(LearnGrantedKey(op, &circle));
  // Ops of a circle we do not know yet are held, not stored: a new member usually receives
  // the admin's earlier ops (circle create, ...) just before the op granting it the key.
  if (!circle) return IngestOutcome::kPending;
  ESTELIK_ASSIGN_OR_RETURN(std::optional<IngestOutcome> seen, DuplicateOrFork(v));
  if (seen) return *seen;
  ESTELIK_ASSIGN_OR_RETURN(Head head, impl_.LoadHead(scope, op.author()));
  ESTELIK_ASSIGN_OR_RETURN(std::optional<IngestOutcome> off_chain, CheckFollowsHead(v, head));
  if (off_chain) return *off_chain;
  ESTELIK_ASSIGN_OR_RETURN(std::optional<IngestOutcome> waits, AuthorizeWithKey(op, *circle));
  if (waits) return *waits;
  ESTELIK_RETURN_IF_ERROR(AppendToChain(v, *circle));
  return IngestOutcome::kAccepted;
}

// A key granted to us arrives in a membership op. Learn it even if the op must wait for a gap:
// otherwise a new member would refuse the admin's earlier ops (unknown circle) and never fill
// that gap. The grant and body are authenticated by the author's signature; the author must be
// the admin we know, or the admin the body names for a new circle (bound to the circle id,
// checked by Authorize). Reloads `*circle` when it learned something.
Status Ingestor::LearnGrantedKey(const pb::Op& op, std::optional<CircleRow>* circle) {
  if (op.key_grants().empty()) return Status::Ok();
  const std::string& scope = op.scope().circle_id();
  if (*circle) {
    ESTELIK_ASSIGN_OR_RETURN(const crypto::SecretBytes* held,
                             impl_.CircleKey(me_, scope, op.scope().epoch()));
    if (held != nullptr) return Status::Ok();  // nothing to learn; the normal path checks it
  }
  for (const std::string& grant : op.key_grants()) {
    auto key = OpenGrant(me_, grant, AsBytes(scope), op.scope().epoch());
    if (!key) continue;
    ESTELIK_ASSIGN_OR_RETURN(pb::OpBody body, impl_.DecryptBody(op, key->span()));
    if (!IsMembershipOp(body)) return Corrupt("key grant on an op that is not a membership op");
    CircleRow known;
    if (*circle && (*circle)->admin.size() == kPublicKeySize) {
      known = **circle;
    } else {
      known.admin = MembershipOf(body)->admin();
    }
    ESTELIK_RETURN_IF_ERROR(impl_.Authorize(op, body, known));
    ESTELIK_RETURN_IF_ERROR(impl_.ApplyMembership(me_, body, op));
    membership_changed_ = true;
    ESTELIK_ASSIGN_OR_RETURN(*circle, impl_.LoadCircle(scope));
    return Status::Ok();
  }
  return Status::Ok();
}

// kDuplicate if we hold these exact bytes at (author, scope, seq); kFork (kept as evidence) if
// we hold another op there; nothing if the seq is free. Counts the variants for KeepFork.
Result<std::optional<IngestOutcome>> Ingestor::DuplicateOrFork(const VerifiedOp& v) {
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h,
      impl_.stmts.Get(
          "SELECT hash, canonical FROM log_ops WHERE scope = ? AND author = ? AND seq = ?"));
  Stmt& s = *s_h;
  s.BindBlob(1, v.op.scope().circle_id()).BindBlob(2, v.op.author());
  s.BindInt(3, static_cast<int64_t>(v.op.seq()));
  size_t variants = 0;
  bool canonical_exists = false;
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    if (s.Blob(0) == std::string_view(reinterpret_cast<const char*>(v.hash.data()), kHashSize)) {
      return std::optional<IngestOutcome>(IngestOutcome::kDuplicate);
    }
    ++variants;
    canonical_exists |= s.Int(1) != 0;
  }
  fork_variants_ = variants;
  if (!canonical_exists) return std::optional<IngestOutcome>();
  // A fork needs its own valid signature: it is evidence on its own.
  if (!v.sig_checked) return Internal("fork candidate without a checked signature");
  ESTELIK_ASSIGN_OR_RETURN(IngestOutcome kept, KeepFork(v, variants));
  return std::optional<IngestOutcome>(kept);
}

Result<IngestOutcome> Ingestor::KeepFork(const VerifiedOp& v, size_t variants) {
  const pb::Op& op = v.op;
  if (variants >= impl_.options.max_fork_variants) {
    return LimitExceeded("author " + ShortId(op.author()) + " already has " +
                         std::to_string(variants) + " forked ops at seq " +
                         std::to_string(op.seq()));
  }
  ESTELIK_RETURN_IF_ERROR(impl_.StoreOp(op, v.hash, v.envelope, false, v.sig_checked, false));
  ESTELIK_ASSIGN_OR_RETURN(
      auto f_h,
      impl_.stmts.Get("INSERT OR IGNORE INTO log_forks(author, scope, seq) VALUES(?,?,?)"));
  Stmt& f = *f_h;
  f.BindBlob(1, op.author()).BindBlob(2, op.scope().circle_id());
  f.BindInt(3, static_cast<int64_t>(op.seq()));
  ESTELIK_RETURN_IF_ERROR(f.Run());
  return IngestOutcome::kFork;
}

// Nothing if `v` follows `head` (next seq, prev = head's hash, no earlier epoch); kPending if it
// is ahead of the chain; kFork if it continues a fork branch we keep; otherwise the refusal.
Result<std::optional<IngestOutcome>> Ingestor::CheckFollowsHead(const VerifiedOp& v,
                                                                const Head& head) {
  const pb::Op& op = v.op;
  if (op.seq() > head.seq + 1) return std::optional<IngestOutcome>(IngestOutcome::kPending);
  const std::string expected_prev = head.seq == 0 ? std::string(kHashSize, '\0') : head.hash;
  if (!crypto::ConstantTimeEquals(AsBytes(op.prev()), AsBytes(expected_prev))) {
    ESTELIK_ASSIGN_OR_RETURN(
        auto s_h,
        impl_.stmts.Get(
            "SELECT 1 FROM log_ops WHERE scope = ? AND author = ? AND seq = ? AND hash = ? "
            "AND canonical = 0"));
    Stmt& s = *s_h;
    s.BindBlob(1, op.scope().circle_id()).BindBlob(2, op.author());
    s.BindInt(3, static_cast<int64_t>(op.seq() - 1)).BindBlob(4, op.prev());
    ESTELIK_ASSIGN_OR_RETURN(bool on_fork, s.Step());
    if (on_fork && v.sig_checked) {
      ESTELIK_ASSIGN_OR_RETURN(IngestOutcome kept, KeepFork(v, fork_variants_));
      return std::optional<IngestOutcome>(kept);
    }
    return Corrupt("hash chain broken: op seq " + std::to_string(op.seq()) + " of " +
                   ShortId(op.author()) + " does not follow the seq " + std::to_string(head.seq) +
                   " we hold");
  }
  // An author's chain never returns to an earlier epoch: a member who learned of a new epoch
  // (or was removed) cannot go on writing under a key it kept.
  if (head.seq > 0 && op.scope().epoch() < head.epoch) {
    return PermissionDenied("op seq " + std::to_string(op.seq()) + " of " + ShortId(op.author()) +
                            " in circle " + ShortId(op.scope().circle_id()) + " returns to epoch " +
                            std::to_string(op.scope().epoch()) + " after epoch " +
                            std::to_string(head.epoch));
  }
  return std::optional<IngestOutcome>();
}

// With the epoch key: decrypt and authorize (a membership op also records its snapshot, grants
// and cut). Without it (relay, removed member, a key still on its way) authorization is
// deferred to OpenBody, which re-checks. kPending for a post whose author is not yet known as
// a member of its epoch: only the admin adds members, so only the admin knows an epoch's
// members for certain; elsewhere the op adding this author may still be on its way (a peer
// sends authors in key order). Held in memory until a membership op arrives.
Result<std::optional<IngestOutcome>> Ingestor::AuthorizeWithKey(const pb::Op& op,
                                                                const CircleRow& circle) {
  const std::string& scope = op.scope().circle_id();
  ESTELIK_ASSIGN_OR_RETURN(const crypto::SecretBytes* key,
                           impl_.CircleKey(me_, scope, op.scope().epoch()));
  if (key == nullptr) return std::optional<IngestOutcome>();
  ESTELIK_ASSIGN_OR_RETURN(pb::OpBody body, impl_.DecryptBody(op, key->span()));
  if (!IsMembershipOp(body) && circle.admin != ToString(me_.public_key())) {
    ESTELIK_ASSIGN_OR_RETURN(bool member, impl_.IsMember(scope, op.scope().epoch(), op.author()));
    if (!member) return std::optional<IngestOutcome>(IngestOutcome::kPending);
  }
  ESTELIK_RETURN_IF_ERROR(impl_.Authorize(op, body, circle));
  if (IsMembershipOp(body)) {
    ESTELIK_RETURN_IF_ERROR(impl_.ApplyMembership(me_, body, op));
    membership_changed_ = true;
  }
  return std::optional<IngestOutcome>();
}

// Stores the op, advances its author's head and observes its clock. An admin's op in a newer
// epoch moves the circle's current epoch: a member who sees one but holds no key for it was
// removed and must stop posting into the old epoch (Append checks the current epoch).
Status Ingestor::AppendToChain(const VerifiedOp& v, const CircleRow& circle) {
  const pb::Op& op = v.op;
  if (op.author() == circle.admin && op.scope().epoch() > circle.epoch) {
    ESTELIK_ASSIGN_OR_RETURN(
        auto e_h, impl_.stmts.Get("UPDATE log_circles SET current_epoch = ? WHERE circle_id = ?"));
    Stmt& e = *e_h;
    e.BindInt(1, op.scope().epoch()).BindBlob(2, op.scope().circle_id());
    ESTELIK_RETURN_IF_ERROR(e.Run());
  }
  HybridClock::Observation obs = clock_.Observe(op.hlc(), physical_ms_);
  ESTELIK_RETURN_IF_ERROR(
      impl_.StoreOp(op, v.hash, v.envelope, true, v.sig_checked, obs.far_future));
  ESTELIK_RETURN_IF_ERROR(impl_.SetHead(op.scope().circle_id(), op.author(), op.seq(), v.hash));
  return impl_.PersistClock(clock_.last());
}

Status Ingestor::DrainChain(const Chain& chain) {
  auto it = impl_.pending.find(chain);
  if (it == impl_.pending.end()) return Status::Ok();
  ESTELIK_ASSIGN_OR_RETURN(Head head, impl_.LoadHead(chain.first, chain.second));
  while (true) {
    auto held = it->second.find(head.seq + 1);
    if (held == it->second.end()) break;
    pb::Envelope envelope = std::move(held->second);
    it->second.erase(held);
    --impl_.pending_count;
    auto parsed = ParseOpHeader(envelope.op());
    if (!parsed.ok()) break;
    const OpHash hash = HashOpBytes(envelope.op());
    auto r = Transact(impl_.db, clock_, [&]() -> Result<IngestOutcome> {
      return Accept(VerifiedOp{envelope, *parsed, hash, true});
    });
    if (r.ok() && *r == IngestOutcome::kPending) {  // still waits (for its author's add)
      it->second.emplace(head.seq + 1, std::move(envelope));
      ++impl_.pending_count;
      break;
    }
    if (!r.ok() || *r != IngestOutcome::kAccepted) break;
    head.seq += 1;
  }
  while (!it->second.empty() && it->second.begin()->first <= head.seq) {
    it->second.erase(it->second.begin());
    --impl_.pending_count;
  }
  if (it->second.empty()) impl_.pending.erase(it);
  return Status::Ok();
}

Status Ingestor::DrainCircle(const std::string& circle) {
  while (true) {
    std::vector<Chain> chains;
    for (const auto& [c, _] : impl_.pending) {
      if (c.first == circle) chains.push_back(c);
    }
    const size_t before = impl_.pending_count;
    for (const auto& c : chains) ESTELIK_RETURN_IF_ERROR(DrainChain(c));
    if (impl_.pending_count == before) return Status::Ok();
  }
}

// Runs `fn` in a transaction, keeping its changes only when it returns a value: std::nullopt
// rolls back without being an error (a run that turned out not to be a plain extension).
template <typename Fn>
Result<std::optional<IngestOutcome>> TransactUnlessDeclined(sqlite3* db, HybridClock& clock,
                                                            Fn fn) {
  HybridClock saved = clock;
  ESTELIK_ASSIGN_OR_RETURN(sql::Transaction tx, sql::Transaction::Begin(db));
  Result<std::optional<IngestOutcome>> result = fn();
  if (result.ok() && result->has_value()) {
    ESTELIK_RETURN_IF_ERROR(tx.Commit());
    return result;
  }
  clock = saved;  // the transaction rolls back as it goes out of scope
  return result;
}

}  // namespace

// Holds `envelope` (signature checked) in memory until a gap fills, its circle becomes known or
// its author's membership arrives. LimitExceeded past options.max_pending_ops.
static Status HoldPending(OpLog::Impl& impl, const pb::Envelope& envelope, const pb::Op& op) {
  const Chain chain{op.scope().circle_id(), op.author()};
  auto& held = impl.pending[chain];
  if (held.count(op.seq()) > 0) return Status::Ok();
  if (impl.pending_count >= impl.options.max_pending_ops) {
    if (held.empty()) impl.pending.erase(chain);
    return LimitExceeded(
        "too many ops waiting for missing predecessors, an unknown circle or their author's "
        "membership (" +
        std::to_string(impl.pending_count) + ")");
  }
  held.emplace(op.seq(), envelope);
  ++impl.pending_count;
  return Status::Ok();
}

Result<IngestOutcome> OpLog::Ingest(const pb::Envelope& envelope, uint64_t physical_ms) {
  ESTELIK_ASSIGN_OR_RETURN(pb::Op op, ParseOpHeader(envelope.op()));
  ESTELIK_RETURN_IF_ERROR(VerifyEnvelopeSignature(envelope, op));
  const OpHash hash = HashOpBytes(envelope.op());
  Ingestor ingestor(*impl_, identity_, clock_, physical_ms);
  ESTELIK_ASSIGN_OR_RETURN(IngestOutcome outcome,
                           Transact(impl_->db, clock_, [&]() -> Result<IngestOutcome> {
                             return ingestor.Accept(VerifiedOp{envelope, op, hash, true});
                           }));
  const Chain chain{op.scope().circle_id(), op.author()};
  if (outcome == IngestOutcome::kPending)
    ESTELIK_RETURN_IF_ERROR(HoldPending(*impl_, envelope, op));
  if (outcome == IngestOutcome::kAccepted) ESTELIK_RETURN_IF_ERROR(ingestor.DrainChain(chain));
  if (ingestor.membership_changed()) {
    // Ops held while the circle or their author's membership was unknown may now go in.
    ESTELIK_RETURN_IF_ERROR(ingestor.DrainCircle(chain.first));
    ESTELIK_ASSIGN_OR_RETURN(Head head, impl_->LoadHead(chain.first, chain.second));
    if (outcome == IngestOutcome::kPending && head.seq >= op.seq()) {
      outcome = IngestOutcome::kAccepted;
    }
  }
  return outcome;
}

Result<IngestOutcome> OpLog::IngestRun(const std::vector<pb::Envelope>& run, uint64_t physical_ms) {
  if (run.empty()) return IngestOutcome::kDuplicate;
  if (run.size() == 1) return Ingest(run.front(), physical_ms);
  ESTELIK_ASSIGN_OR_RETURN(pb::Op first, ParseOpHeader(run.front().op()));
  const Chain chain{first.scope().circle_id(), first.author()};
  ESTELIK_ASSIGN_OR_RETURN(Head head, impl_->LoadHead(chain.first, chain.second));
  const std::string expected_prev = head.seq == 0 ? std::string(kHashSize, '\0') : head.hash;
  if (first.seq() == head.seq + 1 && first.prev() == expected_prev) {
    // The fast path: one signature (the newest) + the hash chain. Declined (rolled back) when
    // an op turns out not to be a plain extension, e.g. an unknown circle.
    ESTELIK_ASSIGN_OR_RETURN(VerifiedRun verified, VerifyChainRun(run));
    Ingestor ingestor(*impl_, identity_, clock_, physical_ms);
    ESTELIK_ASSIGN_OR_RETURN(
        std::optional<IngestOutcome> fast,
        TransactUnlessDeclined(impl_->db, clock_, [&]() -> Result<std::optional<IngestOutcome>> {
          for (size_t i = 0; i < run.size(); ++i) {
            VerifiedOp v{run[i], verified.ops[i], verified.hashes[i], i + 1 == run.size()};
            ESTELIK_ASSIGN_OR_RETURN(IngestOutcome o, ingestor.Accept(v));
            if (o != IngestOutcome::kAccepted) return std::optional<IngestOutcome>();
          }
          return std::optional<IngestOutcome>(IngestOutcome::kAccepted);
        }));
    if (fast) {
      ESTELIK_RETURN_IF_ERROR(ingestor.DrainChain(chain));
      if (ingestor.membership_changed()) ESTELIK_RETURN_IF_ERROR(ingestor.DrainCircle(chain.first));
      return *fast;
    }
  }
  // Anything unusual (gap, overlap, fork, unknown circle) takes the per-op path, still all
  // or nothing in the database.
  return Transact(impl_->db, clock_, [&]() -> Result<IngestOutcome> {
    IngestOutcome last = IngestOutcome::kDuplicate;
    for (const auto& env : run) {
      ESTELIK_ASSIGN_OR_RETURN(last, Ingest(env, physical_ms));
    }
    return last;
  });
}

}  // namespace estelik::log
