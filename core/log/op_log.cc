#include "core/log/op_log.h"

#include <sodium.h>

#include <cassert>
#include <set>
#include <utility>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/log/op_log_impl.h"

namespace estelik::log {
namespace internal {
// Adds log_ops.redacted to a log created before redaction existed (end of this file).
Status AddRedactionColumn(sqlite3* db);
}  // namespace internal

using internal::AppendLocked;
using internal::AppendSpec;
using internal::Head;
using internal::IsMembershipOp;
using internal::ToKey;
using internal::ToString;
using internal::Transact;
using sql::Exec;
using sql::Stmt;

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS log_identity(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seed BLOB NOT NULL,
  hlc_wall INTEGER NOT NULL DEFAULT 0,
  hlc_counter INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS log_contacts(
  public_key BLOB PRIMARY KEY,
  name TEXT NOT NULL,
  added_wall INTEGER NOT NULL,
  added_counter INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS log_ops(
  id INTEGER PRIMARY KEY,
  scope BLOB NOT NULL,
  author BLOB NOT NULL,
  seq INTEGER NOT NULL,
  hash BLOB NOT NULL,
  prev BLOB NOT NULL,
  epoch INTEGER NOT NULL,
  hlc_wall INTEGER NOT NULL,
  hlc_counter INTEGER NOT NULL,
  envelope BLOB NOT NULL,
  canonical INTEGER NOT NULL,
  sig_checked INTEGER NOT NULL,
  far_future INTEGER NOT NULL,
  UNIQUE(scope, author, seq, hash));
CREATE TABLE IF NOT EXISTS log_heads(
  scope BLOB NOT NULL,
  author BLOB NOT NULL,
  seq INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY(scope, author)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_forks(
  author BLOB NOT NULL,
  scope BLOB NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY(author, scope, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_circles(
  circle_id BLOB PRIMARY KEY,
  admin BLOB,
  name TEXT NOT NULL DEFAULT '',
  current_epoch INTEGER NOT NULL DEFAULT 0,
  carrier_only INTEGER NOT NULL,
  salt BLOB);
CREATE TABLE IF NOT EXISTS log_circle_epochs(
  circle_id BLOB NOT NULL,
  epoch INTEGER NOT NULL,
  grant BLOB NOT NULL,
  PRIMARY KEY(circle_id, epoch)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_circle_members(
  circle_id BLOB NOT NULL,
  epoch INTEGER NOT NULL,
  member BLOB NOT NULL,
  PRIMARY KEY(circle_id, epoch, member)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_cuts(
  circle_id BLOB NOT NULL,
  member BLOB NOT NULL,
  epoch INTEGER NOT NULL,
  cut INTEGER NOT NULL,
  PRIMARY KEY(circle_id, member, epoch)) WITHOUT ROWID;
)sql";

}  // namespace

// ---- Storage of ops, heads and the clock ----

Result<Head> OpLog::Impl::LoadHead(const std::string& scope, const std::string& author) {
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h,
      stmts.Get(
          "SELECT h.seq, h.hash, o.epoch FROM log_heads h JOIN log_ops o ON o.scope = h.scope AND "
          "o.author = h.author AND o.seq = h.seq AND o.hash = h.hash WHERE h.scope = ? AND "
          "h.author = ?"));
  Stmt& s = *s_h;
  s.BindBlob(1, scope).BindBlob(2, author);
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  Head h;
  if (row) {
    h.seq = static_cast<uint64_t>(s.Int(0));
    h.hash = s.Blob(1);
    h.epoch = static_cast<uint32_t>(s.Int(2));
  }
  return h;
}

Status OpLog::Impl::SetHead(const std::string& scope, const std::string& author, uint64_t seq,
                            const OpHash& hash) {
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h,
      stmts.Get("INSERT OR REPLACE INTO log_heads(scope, author, seq, hash) VALUES(?,?,?,?)"));
  Stmt& s = *s_h;
  s.BindBlob(1, scope).BindBlob(2, author).BindInt(3, static_cast<int64_t>(seq)).BindBlob(4, hash);
  return s.Run();
}

Status OpLog::Impl::StoreOp(const pb::Op& op, const OpHash& hash, const pb::Envelope& env,
                            bool canonical, bool sig_checked, bool far_future) {
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h,
      stmts.Get("INSERT INTO log_ops(scope, author, seq, hash, prev, epoch, hlc_wall, hlc_counter, "
                "envelope, canonical, sig_checked, far_future) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)"));
  Stmt& s = *s_h;
  s.BindBlob(1, op.scope().circle_id())
      .BindBlob(2, op.author())
      .BindInt(3, static_cast<int64_t>(op.seq()))
      .BindBlob(4, hash)
      .BindBlob(5, op.prev())
      .BindInt(6, op.scope().epoch())
      .BindInt(7, static_cast<int64_t>(op.hlc().wall_ms()))
      .BindInt(8, op.hlc().counter())
      .BindBlob(9, env.SerializeAsString())
      .BindInt(10, canonical ? 1 : 0)
      .BindInt(11, sig_checked ? 1 : 0)
      .BindInt(12, far_future ? 1 : 0);
  return s.Run();
}

Status OpLog::Impl::PersistClock(const pb::Hlc& hlc) {
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h, stmts.Get("UPDATE log_identity SET hlc_wall = ?, hlc_counter = ? WHERE id = 1"));
  Stmt& s = *s_h;
  s.BindInt(1, static_cast<int64_t>(hlc.wall_ms())).BindInt(2, hlc.counter());
  return s.Run();
}

// Every body opened anywhere (Ingest, OpenBody) is checked against the commitment its
// author signed: an op whose sealed body differs from what it commits to would show members
// one thing and an investigator another. OpenBodyBytes inflates a compressed body first, so
// `plaintext_out` always receives the uncompressed bytes the commitment covers.
Result<pb::OpBody> OpLog::Impl::DecryptBody(const pb::Op& op, std::span<const uint8_t> key,
                                            std::string* plaintext_out) {
  ESTELIK_ASSIGN_OR_RETURN(std::string plain, OpenBodyBytes(op, key));
  pb::OpBody body;
  bool ok = body.ParseFromString(plain);
  if (ok && plaintext_out != nullptr) *plaintext_out = plain;
  sodium_memzero(plain.data(), plain.size());
  if (!ok) return Corrupt("op body is not a valid OpBody");
  return body;
}

void OpLog::Impl::FillNonce(std::span<uint8_t> nonce) {
  if (nonce_source) {
    nonce_source(nonce);
  } else {
    randombytes_buf(nonce.data(), nonce.size());
  }
}

OpLog::OpLog(sqlite3* db, Identity identity, crypto::SecretBytes private_key, OpLogOptions options)
    : identity_(std::move(identity)),
      clock_(options.max_drift_ms),
      impl_(std::make_unique<Impl>(Impl{
          db, std::move(private_key), std::move(options), {}, {}, {}, 0, sql::StmtCache(db)})) {}

OpLog::~OpLog() = default;

Result<std::unique_ptr<OpLog>> OpLog::Open(sqlite3* db, crypto::SecretBytes private_key,
                                           OpLogOptions options) {
  crypto::EnsureSodium();
  if (db == nullptr) return InvalidArgument("op log needs an open database");
  if (private_key.size() != kBodyKeySize) {
    return InvalidArgument("op log private key must be 32 bytes");
  }
  sql::StmtCache stmts(db);
  ESTELIK_ASSIGN_OR_RETURN(sql::Transaction tx, sql::Transaction::Begin(db));
  ESTELIK_RETURN_IF_ERROR(Exec(db, kSchema));
  ESTELIK_RETURN_IF_ERROR(internal::AddRedactionColumn(db));
  ESTELIK_ASSIGN_OR_RETURN(
      auto q_h, stmts.Get("SELECT seed, hlc_wall, hlc_counter FROM log_identity WHERE id = 1"));
  Stmt& q = *q_h;
  ESTELIK_ASSIGN_OR_RETURN(bool row, q.Step());
  pb::Hlc last;
  crypto::SecretBytes seed;
  if (row) {
    std::string stored = q.Blob(0);
    seed = crypto::SecretBytes::CopyOf(AsBytes(stored));
    sodium_memzero(stored.data(), stored.size());
    last.set_wall_ms(static_cast<uint64_t>(q.Int(1)));
    last.set_counter(static_cast<uint32_t>(q.Int(2)));
    if (options.identity_seed && !crypto::ConstantTimeEquals(seed.span(), *options.identity_seed)) {
      return AlreadyExists("this database already holds a different identity");
    }
  } else {
    seed = options.identity_seed ? crypto::SecretBytes::CopyOf(*options.identity_seed)
                                 : crypto::SecretBytes::Random(kSeedSize);
    ESTELIK_ASSIGN_OR_RETURN(auto ins_h,
                             stmts.Get("INSERT INTO log_identity(id, seed) VALUES(1, ?)"));
    Stmt& ins = *ins_h;
    ins.BindBlob(1, seed.span());
    ESTELIK_RETURN_IF_ERROR(ins.Run());
  }
  ESTELIK_ASSIGN_OR_RETURN(Identity identity, Identity::FromSeed(seed.span()));
  ESTELIK_RETURN_IF_ERROR(tx.Commit());
  std::unique_ptr<OpLog> log(
      new OpLog(db, std::move(identity), std::move(private_key), std::move(options)));
  log->clock_.Restore(last);
  return log;
}

void OpLog::SetNonceSourceForTesting(std::function<void(std::span<uint8_t>)> source) {
  impl_->nonce_source = std::move(source);
}

Result<pb::Envelope> internal::AppendLocked(OpLog::Impl& impl, const Identity& me,
                                            HybridClock& clock, const AppendSpec& spec,
                                            uint64_t physical_ms) {
  const std::string author = ToString(me.public_key());
  ESTELIK_ASSIGN_OR_RETURN(Head head, impl.LoadHead(spec.circle_id, author));
  pb::Op op;
  op.set_version(kOpVersion);
  op.set_author(author);
  op.set_seq(head.seq + 1);
  op.set_prev(head.seq == 0 ? std::string(kHashSize, '\0') : head.hash);
  *op.mutable_hlc() = clock.Now(physical_ms);
  op.mutable_scope()->set_circle_id(spec.circle_id);
  op.mutable_scope()->set_epoch(spec.epoch);
  for (const auto& g : spec.grants) op.add_key_grants(g);
  // A fresh salt per op makes the signed body commitment hiding (from the nonce source, so
  // vector tests stay deterministic).
  pb::OpBody salted = *spec.body;
  std::array<uint8_t, kBodySaltSize> salt{};
  impl.FillNonce(salt);
  salted.set_salt(salt.data(), salt.size());
  std::string plain = salted.SerializeAsString();
  if (plain.size() + 1024 + spec.grants.size() * (kGrantSize + 3) > kMaxOpBytes) {
    return LimitExceeded("op body is larger than 1 MiB; store large content as an attachment");
  }
  std::array<uint8_t, kNonceSize> nonce{};
  impl.FillNonce(nonce);
  pb::Envelope env = SealAndSign(me, op, plain, spec.key, nonce);
  sodium_memzero(plain.data(), plain.size());
  OpHash hash = HashOpBytes(env.op());
  ESTELIK_RETURN_IF_ERROR(impl.StoreOp(op, hash, env, true, true, false));
  ESTELIK_RETURN_IF_ERROR(impl.SetHead(spec.circle_id, author, op.seq(), hash));
  ESTELIK_RETURN_IF_ERROR(impl.PersistClock(clock.last()));
  if (IsMembershipOp(*spec.body)) {
    ESTELIK_RETURN_IF_ERROR(impl.ApplyMembership(me, *spec.body, op));
  }
  return env;
}

Result<pb::Envelope> OpLog::Append(const pb::OpBody& body, const Scope& scope,
                                   uint64_t physical_ms) {
  if (IsMembershipOp(body)) {
    return InvalidArgument(
        "circle membership changes go through CreateCircle/AddMember/"
        "RemoveMember");
  }
  if (body.has_contact_add() || body.has_contact_remove()) {
    return InvalidArgument("contact changes go through AddContact/RemoveContact");
  }
  if (body.mutation_case() == pb::OpBody::MUTATION_NOT_SET) {
    return InvalidArgument("op body has no mutation");
  }
  if (scope.is_private() && body.has_share_into_circle()) {
    return InvalidArgument("sharing into a circle needs the circle's scope");
  }
  return Transact(impl_->db, clock_, [&]() -> Result<pb::Envelope> {
    AppendSpec spec{&body, scope.circle_id, 0, impl_->private_key.span(), {}};
    if (!scope.is_private()) {
      if (scope.circle_id.size() != kCircleIdSize) {
        return InvalidArgument("circle id must be 32 bytes");
      }
      ESTELIK_ASSIGN_OR_RETURN(auto circle, impl_->LoadCircle(scope.circle_id));
      if (!circle) return NotFound("unknown circle " + ShortId(scope.circle_id));
      ESTELIK_ASSIGN_OR_RETURN(bool member, impl_->IsMember(scope.circle_id, circle->epoch,
                                                            ToString(identity_.public_key())));
      ESTELIK_ASSIGN_OR_RETURN(auto key,
                               impl_->CircleKey(identity_, scope.circle_id, circle->epoch));
      if (!member || key == nullptr) {
        return PermissionDenied("not a member of circle " + ShortId(scope.circle_id) + " epoch " +
                                std::to_string(circle->epoch));
      }
      spec.epoch = circle->epoch;
      spec.key = key->span();
    }
    return AppendLocked(*impl_, identity_, clock_, spec, physical_ms);
  });
}

// ---- Reading ----

Result<VersionVector> OpLog::GetVersionVector(const Scope& scope) {
  ESTELIK_ASSIGN_OR_RETURN(auto s_h,
                           impl_->stmts.Get("SELECT author, seq FROM log_heads WHERE scope = ?"));
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id);
  VersionVector vv;
  ESTELIK_RETURN_IF_ERROR(sql::ForEachRow(
      s, [&](const sql::Stmt& row) { vv[row.Blob(0)] = static_cast<uint64_t>(row.Int(1)); }));
  return vv;
}

Result<std::vector<pb::Envelope>> OpLog::OpsAfter(const VersionVector& theirs, const Scope& scope,
                                                  size_t limit) {
  ESTELIK_ASSIGN_OR_RETURN(VersionVector ours, GetVersionVector(scope));
  std::vector<pb::Envelope> out;
  // Range scans on the (scope, author, seq, hash) unique index: each touches only missing ops.
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h,
      impl_->stmts.Get(
          "SELECT envelope FROM log_ops WHERE scope = ? AND author = ? AND seq > ? AND seq <= ? "
          "AND canonical = 1 ORDER BY seq"));
  Stmt& s = *s_h;
  for (const auto& [author, head] : ours) {  // std::map: author order
    if (out.size() >= limit) break;
    auto it = theirs.find(author);
    uint64_t from = it == theirs.end() ? 0 : it->second;
    if (from >= head) continue;
    s.Reset();
    s.BindBlob(1, scope.circle_id).BindBlob(2, author).BindInt(3, static_cast<int64_t>(from));
    s.BindInt(4, static_cast<int64_t>(head));
    while (out.size() < limit) {
      ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      pb::Envelope env;
      if (!env.ParseFromString(s.Blob(0))) return Corrupt("stored envelope is unreadable");
      out.push_back(std::move(env));
    }
  }
  return out;
}

Result<pb::OpBody> OpLog::OpenBody(const pb::Envelope& envelope) {
  return OpenBody(envelope, nullptr);
}

Result<pb::OpBody> OpLog::OpenBody(const pb::Envelope& envelope, std::string* plaintext) {
  ESTELIK_ASSIGN_OR_RETURN(pb::Op op, ParseOpHeader(envelope.op()));
  ESTELIK_RETURN_IF_ERROR(VerifyEnvelopeSignature(envelope, op));
  const std::string& scope = op.scope().circle_id();
  if (scope.empty()) {
    if (op.author() != ToString(identity_.public_key())) {
      return PermissionDenied("private op of another identity");
    }
    return impl_->DecryptBody(op, impl_->private_key.span(), plaintext);
  }
  const std::string no_key =
      "no key for circle " + ShortId(scope) + " epoch " + std::to_string(op.scope().epoch());
  ESTELIK_ASSIGN_OR_RETURN(auto circle, impl_->LoadCircle(scope));
  if (!circle) return PermissionDenied(no_key);
  ESTELIK_ASSIGN_OR_RETURN(auto key, impl_->CircleKey(identity_, scope, op.scope().epoch()));
  if (key == nullptr) return PermissionDenied(no_key);
  ESTELIK_ASSIGN_OR_RETURN(std::optional<uint64_t> cut, impl_->CutPassed(op));
  if (cut) {
    return PermissionDenied("op seq " + std::to_string(op.seq()) + " of " + ShortId(op.author()) +
                            " is void: its author was removed from circle " + ShortId(scope) +
                            " keeping only seqs up to " + std::to_string(*cut));
  }
  ESTELIK_ASSIGN_OR_RETURN(pb::OpBody body, impl_->DecryptBody(op, key->span(), plaintext));
  ESTELIK_RETURN_IF_ERROR(impl_->Authorize(op, body, *circle));
  return body;
}

Result<uint32_t> OpLog::OwnOpEpoch(const Scope& scope, std::string_view op_hash) {
  ESTELIK_ASSIGN_OR_RETURN(auto s_h,
                           impl_->stmts.Get("SELECT epoch FROM log_ops WHERE scope = ? AND author "
                                            "= ? AND hash = ? AND canonical = 1"));
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id).BindBlob(2, identity_.public_key()).BindBlob(3, op_hash);
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("no op " + ShortId(op_hash) + " of ours in this scope");
  return static_cast<uint32_t>(s.Int(0));
}

Result<bool> OpLog::HoldsUnappliedOpBefore(const Scope& scope, std::string_view author,
                                           uint64_t seq) {
  if (scope.is_private()) return false;
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h,
      impl_->stmts.Get(
          "SELECT 1 FROM log_ops o WHERE o.scope = ?1 AND o.author = ?2 AND o.seq < ?3 AND "
          "o.canonical = 1 AND (NOT EXISTS (SELECT 1 FROM log_circle_epochs e WHERE "
          "e.circle_id = ?1 AND e.epoch = o.epoch) OR EXISTS (SELECT 1 FROM log_cuts c WHERE "
          "c.circle_id = ?1 AND c.member = ?2 AND o.seq > c.cut AND o.epoch < c.epoch)) LIMIT 1"));
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id).BindBlob(2, author).BindInt(3, static_cast<int64_t>(seq));
  return s.Step();
}

Result<std::set<uint32_t>> OpLog::KeyedEpochs(const Scope& scope) {
  std::set<uint32_t> out;
  if (scope.is_private()) return out;
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h, impl_->stmts.Get("SELECT epoch FROM log_circle_epochs WHERE circle_id = ?"));
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id);
  ESTELIK_RETURN_IF_ERROR(sql::ForEachRow(
      s, [&](const sql::Stmt& row) { out.insert(static_cast<uint32_t>(row.Int(0))); }));
  return out;
}

Result<std::vector<pb::Envelope>> OpLog::HeldOpsOfEpoch(const Scope& scope, uint32_t epoch,
                                                        const VersionVector& upto) {
  std::vector<pb::Envelope> out;
  ESTELIK_ASSIGN_OR_RETURN(auto s_h,
                           impl_->stmts.Get("SELECT author, seq, envelope FROM log_ops WHERE scope "
                                            "= ? AND epoch = ? AND canonical = 1 "
                                            "ORDER BY author, seq"));
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id).BindInt(2, static_cast<int64_t>(epoch));
  ESTELIK_RETURN_IF_ERROR(sql::ForEachRow(s, [&](const sql::Stmt& row) -> Status {
    auto it = upto.find(row.Blob(0));
    if (it == upto.end() || static_cast<uint64_t>(row.Int(1)) > it->second) return Status::Ok();
    pb::Envelope env;
    if (!env.ParseFromString(row.Blob(2))) return Corrupt("stored envelope is unreadable");
    out.push_back(std::move(env));
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<PublicKey>> OpLog::ForkedAuthors() {
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h, impl_->stmts.Get("SELECT DISTINCT author FROM log_forks ORDER BY author"));
  Stmt& s = *s_h;
  std::vector<PublicKey> out;
  ESTELIK_RETURN_IF_ERROR(
      sql::ForEachRow(s, [&](const sql::Stmt& row) { out.push_back(ToKey(row.Blob(0))); }));
  return out;
}

Result<std::vector<pb::Envelope>> OpLog::OpsAt(const PublicKey& author, const Scope& scope,
                                               uint64_t seq) {
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h,
      impl_->stmts.Get("SELECT envelope FROM log_ops WHERE scope = ? AND author = ? AND seq = ? "
                       "ORDER BY canonical DESC, id"));
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id).BindBlob(2, author).BindInt(3, static_cast<int64_t>(seq));
  std::vector<pb::Envelope> out;
  ESTELIK_RETURN_IF_ERROR(sql::ForEachRow(s, [&](const sql::Stmt& row) -> Status {
    pb::Envelope env;
    if (!env.ParseFromString(row.Blob(0))) return Corrupt("stored envelope is unreadable");
    out.push_back(std::move(env));
    return Status::Ok();
  }));
  return out;
}

Result<size_t> OpLog::VerifyStoredSignatures() {
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h, impl_->stmts.Get(
                    "SELECT id, envelope FROM log_ops WHERE sig_checked = 0 AND redacted IS NULL"));
  Stmt& s = *s_h;
  std::vector<int64_t> good;
  size_t bad = 0;
  ESTELIK_RETURN_IF_ERROR(sql::ForEachRow(s, [&](const sql::Stmt& row) {
    pb::Envelope env;
    auto op = env.ParseFromString(row.Blob(1)) ? ParseOpHeader(env.op())
                                               : Result<pb::Op>(Corrupt("unreadable"));
    if (op.ok() && VerifyEnvelopeSignature(env, *op).ok()) {
      good.push_back(row.Int(0));
    } else {
      ++bad;
    }
  }));
  return Transact(impl_->db, clock_, [&]() -> Result<size_t> {
    ESTELIK_ASSIGN_OR_RETURN(auto u_h,
                             impl_->stmts.Get("UPDATE log_ops SET sig_checked = 1 WHERE id = ?"));
    Stmt& u = *u_h;
    for (int64_t id : good) {
      u.Reset();
      u.BindInt(1, id);
      ESTELIK_RETURN_IF_ERROR(u.Run());
    }
    return bad;
  });
}

// ---- Rebuild and redaction ----
//
// log_ops.redacted (added idempotently, below) is NULL for an op whose envelope is held, and the
// testimony id whose withdrawal redacted it otherwise. A redacted row keeps scope, author, seq,
// hash, prev and HLC (no content): the chain stays verifiable through the next op's prev, and
// a rebuild still knows when the testimony was created. Its envelope is an empty blob, deleted
// under secure_delete, so the sealed body is gone even for someone who later learns the
// private log key.

Status internal::AddRedactionColumn(sqlite3* db) {
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt info,
      Stmt::Prepare(db, "SELECT 1 FROM pragma_table_info('log_ops') WHERE name = 'redacted'"));
  ESTELIK_ASSIGN_OR_RETURN(bool present, info.Step());
  if (present) return Status::Ok();
  return Exec(db, "ALTER TABLE log_ops ADD COLUMN redacted BLOB");
}

Status OpLog::ForEachOp(const std::function<Status(const StoredOp&)>& fn) {
  // Sorted by SQLite before the first row is returned, so `fn` may write other tables.
  ESTELIK_ASSIGN_OR_RETURN(
      Stmt s, Stmt::Prepare(impl_->db,
                            "SELECT envelope, hash, author, scope, seq, hlc_wall, hlc_counter, "
                            "redacted FROM log_ops WHERE canonical = 1 ORDER BY hlc_wall, "
                            "hlc_counter, author, scope, seq"));
  ESTELIK_RETURN_IF_ERROR(sql::ForEachRow(s, [&](const sql::Stmt& row) -> Status {
    StoredOp op;
    std::string hash = row.Blob(1);
    if (hash.size() != kHashSize) return Corrupt("log_ops holds an op hash of the wrong size");
    std::memcpy(op.hash.data(), hash.data(), kHashSize);
    op.author = row.Blob(2);
    op.scope = row.Blob(3);
    op.seq = static_cast<uint64_t>(row.Int(4));
    op.hlc.set_wall_ms(static_cast<uint64_t>(row.Int(5)));
    op.hlc.set_counter(static_cast<uint32_t>(row.Int(6)));
    op.redacted_for = row.Blob(7);
    if (op.redacted_for.empty() && !op.envelope.ParseFromString(row.Blob(0))) {
      return Corrupt("stored envelope of seq " + std::to_string(op.seq) + " by " +
                     ShortId(op.author) + " is unreadable");
    }
    ESTELIK_RETURN_IF_ERROR(fn(op));
    return Status::Ok();
  }));
  return Status::Ok();
}

Result<size_t> OpLog::RedactPrivateOps(const std::vector<OpHash>& hashes,
                                       const std::string& testimony_id) {
  if (testimony_id.empty()) return InvalidArgument("redaction needs the testimony id");
  return Transact(impl_->db, clock_, [&]() -> Result<size_t> {
    ESTELIK_ASSIGN_OR_RETURN(
        auto u_h,
        impl_->stmts.Get(
            "UPDATE log_ops SET envelope = X'', redacted = ? WHERE scope = X'' AND author = ? AND "
            "hash = ? AND redacted IS NULL"));
    Stmt& u = *u_h;
    size_t redacted = 0;
    for (const OpHash& h : hashes) {
      u.Reset();
      u.BindBlob(1, testimony_id).BindBlob(2, identity_.public_key()).BindBlob(3, h);
      ESTELIK_RETURN_IF_ERROR(u.Run());
      redacted += static_cast<size_t>(sqlite3_changes(impl_->db));
    }
    return redacted;
  });
}

}  // namespace estelik::log

namespace estelik::log {

Result<std::vector<std::pair<uint64_t, uint32_t>>> OpLog::ChainEpochs(const Scope& scope,
                                                                      std::string_view author,
                                                                      uint64_t after,
                                                                      uint64_t upto) {
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h,
      impl_->stmts.Get(
          "SELECT seq, epoch FROM log_ops WHERE scope = ? AND author = ? AND seq > ? AND seq <= ? "
          "AND canonical = 1 ORDER BY seq"));
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id).BindBlob(2, author);
  s.BindInt(3, static_cast<int64_t>(after)).BindInt(4, static_cast<int64_t>(upto));
  std::vector<std::pair<uint64_t, uint32_t>> out;
  ESTELIK_RETURN_IF_ERROR(sql::ForEachRow(s, [&](const sql::Stmt& row) {
    out.emplace_back(static_cast<uint64_t>(row.Int(0)), static_cast<uint32_t>(row.Int(1)));
  }));
  return out;
}

Result<std::set<EpochMember>> OpLog::EpochMembers(const Scope& scope) {
  std::set<EpochMember> out;
  if (scope.is_private()) return out;
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h,
      impl_->stmts.Get("SELECT epoch, member FROM log_circle_members WHERE circle_id = ?"));
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id);
  ESTELIK_RETURN_IF_ERROR(sql::ForEachRow(s, [&](const sql::Stmt& row) {
    out.emplace(static_cast<uint32_t>(row.Int(0)), row.Blob(1));
  }));
  return out;
}

Result<std::vector<RemovalCut>> OpLog::RemovalCuts(const Scope& scope) {
  std::vector<RemovalCut> out;
  if (scope.is_private()) return out;
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h,
      impl_->stmts.Get(
          "SELECT member, epoch, cut FROM log_cuts WHERE circle_id = ? ORDER BY member, epoch"));
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id);
  ESTELIK_RETURN_IF_ERROR(sql::ForEachRow(s, [&](const sql::Stmt& row) {
    out.push_back(RemovalCut{row.Blob(0), static_cast<uint32_t>(row.Int(1)),
                             static_cast<uint64_t>(row.Int(2))});
  }));
  return out;
}

Result<bool> OpLog::HoldsOpsPastCut(const Scope& scope, const RemovalCut& cut) {
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h,
      impl_->stmts.Get(
          "SELECT 1 FROM log_ops WHERE scope = ? AND author = ? AND seq > ? AND epoch < ? AND "
          "canonical = 1 LIMIT 1"));
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id).BindBlob(2, cut.member);
  s.BindInt(3, static_cast<int64_t>(cut.cut)).BindInt(4, cut.epoch);
  return s.Step();
}

}  // namespace estelik::log
