#include "core/log/op_log.h"

#include <sodium.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <set>
#include <utility>

#include "core/log/log_db.h"

namespace estelik::log {
namespace internal {
// Adds log_ops.redacted to a log created before redaction existed (end of this file).
Status AddRedactionColumn(sqlite3* db);
}  // namespace internal
namespace {

using internal::Exec;
using internal::Savepoint;
using internal::Stmt;

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

std::string Short(std::string_view bytes) { return Hex(Bytes(bytes.substr(0, 4))); }

std::string ToString(const PublicKey& k) {
  return std::string(reinterpret_cast<const char*>(k.data()), k.size());
}
PublicKey ToKey(std::string_view s) {
  PublicKey k{};
  std::memcpy(k.data(), s.data(), std::min(s.size(), k.size()));
  return k;
}

struct Head {
  uint64_t seq = 0;
  std::string hash;    // empty when seq == 0
  uint32_t epoch = 0;  // of the head op; 0 when seq == 0
};

struct CircleRow {
  std::string admin;
  std::string salt;
  std::string name;
  uint32_t epoch = 0;
  bool carrier_only = false;
};

bool IsMembershipOp(const pb::OpBody& b) {
  return b.has_circle_create() || b.has_member_add() || b.has_member_remove();
}
const pb::CircleMembership* MembershipOf(const pb::OpBody& b) {
  if (b.has_circle_create()) return &b.circle_create().membership();
  if (b.has_member_add()) return &b.member_add().membership();
  if (b.has_member_remove()) return &b.member_remove().membership();
  return nullptr;
}

}  // namespace

struct OpLog::Impl {
  sqlite3* db;
  crypto::SecretBytes private_key;
  OpLogOptions options;
  std::function<void(std::span<uint8_t>)> nonce_source;
  std::map<std::pair<std::string, uint32_t>, crypto::SecretBytes> circle_keys;
  // (scope, author) -> seq -> envelope: signature-verified ops waiting for a gap to fill.
  std::map<std::pair<std::string, std::string>, std::map<uint64_t, pb::Envelope>> pending;
  size_t pending_count = 0;
  internal::StmtCache stmts;

  Result<Head> LoadHead(const std::string& scope, const std::string& author) {
    auto s_h = stmts.Get(
        "SELECT h.seq, h.hash, o.epoch FROM log_heads h JOIN log_ops o ON o.scope = h.scope AND "
        "o.author = h.author AND o.seq = h.seq AND o.hash = h.hash WHERE h.scope = ? AND "
        "h.author = ?");
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

  Status SetHead(const std::string& scope, const std::string& author, uint64_t seq,
                 const OpHash& hash) {
    auto s_h =
        stmts.Get("INSERT OR REPLACE INTO log_heads(scope, author, seq, hash) VALUES(?,?,?,?)");
    Stmt& s = *s_h;
    s.BindBlob(1, scope).BindBlob(2, author).Bind(3, static_cast<int64_t>(seq)).Bind(4, hash);
    return s.Run();
  }

  Status StoreOp(const pb::Op& op, const OpHash& hash, const pb::Envelope& env, bool canonical,
                 bool sig_checked, bool far_future) {
    auto s_h = stmts.Get(
        "INSERT INTO log_ops(scope, author, seq, hash, prev, epoch, hlc_wall, hlc_counter, "
        "envelope, canonical, sig_checked, far_future) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
    Stmt& s = *s_h;
    s.BindBlob(1, op.scope().circle_id())
        .BindBlob(2, op.author())
        .Bind(3, static_cast<int64_t>(op.seq()))
        .Bind(4, hash)
        .BindBlob(5, op.prev())
        .Bind(6, op.scope().epoch())
        .Bind(7, static_cast<int64_t>(op.hlc().wall_ms()))
        .Bind(8, op.hlc().counter())
        .BindBlob(9, env.SerializeAsString())
        .Bind(10, canonical ? 1 : 0)
        .Bind(11, sig_checked ? 1 : 0)
        .Bind(12, far_future ? 1 : 0);
    return s.Run();
  }

  Status PersistClock(const pb::Hlc& hlc) {
    auto s_h = stmts.Get("UPDATE log_identity SET hlc_wall = ?, hlc_counter = ? WHERE id = 1");
    Stmt& s = *s_h;
    s.Bind(1, static_cast<int64_t>(hlc.wall_ms())).Bind(2, hlc.counter());
    return s.Run();
  }

  Result<std::optional<CircleRow>> LoadCircle(const std::string& id) {
    auto s_h = stmts.Get(
        "SELECT admin, name, current_epoch, carrier_only, salt FROM log_circles WHERE circle_id = "
        "?");
    Stmt& s = *s_h;
    s.BindBlob(1, id);
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<CircleRow>();
    CircleRow c;
    c.admin = s.Blob(0);
    c.name = s.Text(1);
    c.epoch = static_cast<uint32_t>(s.Int(2));
    c.carrier_only = s.Int(3) != 0;
    c.salt = s.Blob(4);
    return std::optional<CircleRow>(std::move(c));
  }

  Result<bool> IsMember(const std::string& circle, uint32_t epoch, const std::string& who) {
    auto s_h = stmts.Get(
        "SELECT 1 FROM log_circle_members WHERE circle_id = ? AND epoch = ? AND member = ?");
    Stmt& s = *s_h;
    s.BindBlob(1, circle).Bind(2, epoch).BindBlob(3, who);
    return s.Step();
  }

  Result<std::vector<std::string>> Members(const std::string& circle, uint32_t epoch) {
    auto s_h = stmts.Get(
        "SELECT member FROM log_circle_members WHERE circle_id = ? AND epoch = ? "
        "ORDER BY member");
    Stmt& s = *s_h;
    s.BindBlob(1, circle).Bind(2, epoch);
    std::vector<std::string> out;
    while (true) {
      ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(s.Blob(0));
    }
    return out;
  }

  // The epoch key if we were granted it; nullptr otherwise.
  Result<const crypto::SecretBytes*> CircleKey(const Identity& me, const std::string& circle,
                                               uint32_t epoch) {
    auto it = circle_keys.find({circle, epoch});
    if (it != circle_keys.end()) return &it->second;
    auto s_h = stmts.Get("SELECT grant FROM log_circle_epochs WHERE circle_id = ? AND epoch = ?");
    Stmt& s = *s_h;
    s.BindBlob(1, circle).Bind(2, epoch);
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return static_cast<const crypto::SecretBytes*>(nullptr);
    auto key = OpenGrant(me, s.Blob(0), Bytes(circle), epoch);
    if (!key)
      return Corrupt("stored key for circle " + Short(circle) + " epoch " + std::to_string(epoch) +
                     " does not open with this identity");
    auto [pos, _] = circle_keys.emplace(std::make_pair(circle, epoch), std::move(*key));
    return &pos->second;
  }

  // Records a membership snapshot, and a removal's cut. Within one epoch membership only grows
  // (removal starts a new epoch), so applying snapshots as unions gives the same result in any
  // order; cuts are keyed by (circle, member, epoch) and never change once written.
  Status ApplyMembership(const Identity& me, const pb::OpBody& body, const pb::Op& op) {
    const pb::CircleMembership* membership = MembershipOf(body);
    assert(membership != nullptr);
    const pb::CircleMembership& m = *membership;
    const std::string& id = m.circle_id();
    ESTELIK_RETURN_IF_ERROR(RecordCut(body));
    auto ins_h = stmts.Get(
        "INSERT INTO log_circles(circle_id, admin, name, current_epoch, carrier_only, salt) "
        "VALUES(?,?,?,?,0,?) ON CONFLICT(circle_id) DO UPDATE SET "
        "admin = COALESCE(admin, excluded.admin), salt = COALESCE(salt, excluded.salt), "
        "name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END, "
        "current_epoch = MAX(current_epoch, excluded.current_epoch)");
    Stmt& ins = *ins_h;
    ins.BindBlob(1, id).BindBlob(2, m.admin()).BindText(3, m.name()).Bind(4, m.epoch());
    ins.BindBlob(5, m.salt());
    ESTELIK_RETURN_IF_ERROR(ins.Run());
    for (const std::string& member : m.members()) {
      auto s_h = stmts.Get(
          "INSERT OR IGNORE INTO log_circle_members(circle_id, epoch, member) VALUES(?,?,?)");
      Stmt& s = *s_h;
      s.BindBlob(1, id).Bind(2, m.epoch()).BindBlob(3, member);
      ESTELIK_RETURN_IF_ERROR(s.Run());
    }
    bool member_now = std::find(m.members().begin(), m.members().end(),
                                ToString(me.public_key())) != m.members().end();
    if (member_now) {
      auto c_h = stmts.Get("UPDATE log_circles SET carrier_only = 0 WHERE circle_id = ?");
      Stmt& c = *c_h;
      c.BindBlob(1, id);
      ESTELIK_RETURN_IF_ERROR(c.Run());
    }
    for (const std::string& grant : op.key_grants()) {
      auto key = OpenGrant(me, grant, Bytes(id), m.epoch());
      if (!key) continue;
      auto s_h = stmts.Get(
          "INSERT OR IGNORE INTO log_circle_epochs(circle_id, epoch, grant) VALUES(?,?,?)");
      Stmt& s = *s_h;
      s.BindBlob(1, id).Bind(2, m.epoch()).BindBlob(3, grant);
      ESTELIK_RETURN_IF_ERROR(s.Run());
      const bool learned = sqlite3_changes(db) > 0;
      auto [pos, _] = circle_keys.insert_or_assign({id, m.epoch()}, std::move(*key));
      if (learned) ESTELIK_RETURN_IF_ERROR(RecordHeldCuts(op, pos->second.span()));
    }
    return Status::Ok();
  }

  // A removal's cut, if it carries one (removals written before cuts existed carry none).
  Status RecordCut(const pb::OpBody& body) {
    if (!body.has_member_remove() || !body.member_remove().has_cut()) return Status::Ok();
    const pb::CircleMembership& m = body.member_remove().membership();
    auto c_h =
        stmts.Get("INSERT OR IGNORE INTO log_cuts(circle_id, member, epoch, cut) VALUES(?,?,?,?)");
    Stmt& c = *c_h;
    c.BindBlob(1, m.circle_id()).BindBlob(2, body.member_remove().member()).Bind(3, m.epoch());
    c.Bind(4, static_cast<int64_t>(body.member_remove().cut()));
    return c.Run();
  }

  // `grant_op` just gave us the key of its epoch for the first time. A member removed and
  // re-added stored that epoch's removal ops while it could not read them: their cuts count
  // from now on, as on every other replica.
  Status RecordHeldCuts(const pb::Op& grant_op, std::span<const uint8_t> key) {
    auto s_h = stmts.Get(
        "SELECT envelope FROM log_ops WHERE scope = ? AND author = ? AND epoch = ? AND "
        "canonical = 1");
    Stmt& s = *s_h;
    s.BindBlob(1, grant_op.scope().circle_id()).BindBlob(2, grant_op.author());
    s.Bind(3, grant_op.scope().epoch());
    std::vector<pb::OpBody> removals;
    while (true) {
      ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      pb::Envelope env;
      if (!env.ParseFromString(s.Blob(0))) return Corrupt("stored envelope is unreadable");
      ESTELIK_ASSIGN_OR_RETURN(pb::Op op, ParseOpHeader(env.op()));
      // One that does not open is refused when it is read (OpenBody); it teaches nothing.
      Result<pb::OpBody> body = DecryptBody(op, key);
      if (body.ok() && body->has_member_remove() && CheckMembershipShape(op, *body).ok()) {
        removals.push_back(*std::move(body));
      }
    }
    for (const auto& body : removals) ESTELIK_RETURN_IF_ERROR(RecordCut(body));
    return Status::Ok();
  }

  // Structural checks of a membership body against its op, independent of what we know.
  static Status CheckMembershipShape(const pb::Op& op, const pb::OpBody& body) {
    const pb::CircleMembership* m = MembershipOf(body);
    if (m->circle_id() != op.scope().circle_id() || m->epoch() != op.scope().epoch() ||
        m->admin() != op.author()) {
      return PermissionDenied("membership op by " + Short(op.author()) +
                              " does not match its circle, epoch or admin");
    }
    if (m->salt().size() != kCircleSaltSize ||
        CircleIdFor(m->admin(), m->salt()) != m->circle_id()) {
      return PermissionDenied("circle id " + Short(m->circle_id()) + " does not belong to admin " +
                              Short(m->admin()));
    }
    for (const auto& member : m->members()) {
      if (member.size() != kPublicKeySize) return Corrupt("circle member is not a 32-byte key");
    }
    const auto& ms = m->members();
    auto has = [&](const std::string& k) { return std::find(ms.begin(), ms.end(), k) != ms.end(); };
    if (!has(op.author())) return PermissionDenied("circle admin missing from its own circle");
    if (body.has_circle_create() && m->epoch() != 0) {
      return PermissionDenied("circle create must be epoch 0");
    }
    if (body.has_member_add() && !has(body.member_add().member())) {
      return PermissionDenied("member add does not include the added member");
    }
    if (body.has_member_remove() && (m->epoch() == 0 || has(body.member_remove().member()))) {
      return PermissionDenied("member remove must start a new epoch without the member");
    }
    return Status::Ok();
  }

  // Who may do what in a circle (DESIGN "Circles"): the admin manages membership; members
  // of the op's epoch post. Contacts never travel.
  Status Authorize(const pb::Op& op, const pb::OpBody& body, const CircleRow& circle) {
    const std::string& id = op.scope().circle_id();
    switch (body.mutation_case()) {
      case pb::OpBody::MUTATION_NOT_SET:
        return Corrupt("op body has no mutation");
      case pb::OpBody::kContactAdd:
      case pb::OpBody::kContactRemove:
        return PermissionDenied("contact ops are private and never belong to a circle");
      case pb::OpBody::kCircleCreate:
      case pb::OpBody::kMemberAdd:
      case pb::OpBody::kMemberRemove:
        if (op.author() != circle.admin) {
          return PermissionDenied(Short(op.author()) + " is not the admin of circle " + Short(id) +
                                  "; only the admin adds or removes members");
        }
        return CheckMembershipShape(op, body);
      default: {
        ESTELIK_ASSIGN_OR_RETURN(bool member, IsMember(id, op.scope().epoch(), op.author()));
        if (!member) {
          return PermissionDenied(Short(op.author()) + " is not a member of circle " + Short(id) +
                                  " epoch " + std::to_string(op.scope().epoch()));
        }
        return Status::Ok();
      }
    }
  }

  // The cut `op` lies past, if any: a removal of its author from the op's circle, in a later
  // epoch than the op's, that kept only seqs up to the cut. Such an op is void: stored and
  // forwarded (the author's chain stays whole) but never applied or opened.
  Result<std::optional<uint64_t>> CutPassed(const pb::Op& op) {
    auto s_h = stmts.Get(
        "SELECT cut FROM log_cuts WHERE circle_id = ? AND member = ? AND cut < ? AND epoch > ? "
        "ORDER BY cut LIMIT 1");
    Stmt& s = *s_h;
    s.BindBlob(1, op.scope().circle_id()).BindBlob(2, op.author());
    s.Bind(3, static_cast<int64_t>(op.seq())).Bind(4, op.scope().epoch());
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<uint64_t>();
    return std::optional<uint64_t>(static_cast<uint64_t>(s.Int(0)));
  }

  // Every body opened anywhere (Ingest, OpenBody) is checked against the commitment its
  // author signed: an op whose sealed body differs from what it commits to would show members
  // one thing and an investigator another. OpenBodyBytes inflates a compressed body first, so
  // `plaintext_out` always receives the uncompressed bytes the commitment covers.
  Result<pb::OpBody> DecryptBody(const pb::Op& op, std::span<const uint8_t> key,
                                 std::string* plaintext_out = nullptr) {
    ESTELIK_ASSIGN_OR_RETURN(std::string plain, OpenBodyBytes(op, key));
    pb::OpBody body;
    bool ok = body.ParseFromString(plain);
    if (ok && plaintext_out != nullptr) *plaintext_out = plain;
    sodium_memzero(plain.data(), plain.size());
    if (!ok) return Corrupt("op body is not a valid OpBody");
    return body;
  }

  void FillNonce(std::span<uint8_t> nonce) {
    if (nonce_source) {
      nonce_source(nonce);
    } else {
      randombytes_buf(nonce.data(), nonce.size());
    }
  }
};

OpLog::OpLog(sqlite3* db, Identity identity, crypto::SecretBytes private_key, OpLogOptions options)
    : identity_(std::move(identity)),
      clock_(options.max_drift_ms),
      impl_(std::make_unique<Impl>(Impl{db,
                                        std::move(private_key),
                                        std::move(options),
                                        {},
                                        {},
                                        {},
                                        0,
                                        internal::StmtCache(db)})) {}

OpLog::~OpLog() = default;

Result<std::unique_ptr<OpLog>> OpLog::Open(sqlite3* db, crypto::SecretBytes private_key,
                                           OpLogOptions options) {
  crypto::EnsureSodium();
  if (db == nullptr) return InvalidArgument("op log needs an open database");
  if (private_key.size() != kBodyKeySize) {
    return InvalidArgument("op log private key must be 32 bytes");
  }
  internal::StmtCache stmts(db);
  Savepoint sp(db);
  ESTELIK_RETURN_IF_ERROR(sp.begin_status());
  ESTELIK_RETURN_IF_ERROR(Exec(db, kSchema));
  ESTELIK_RETURN_IF_ERROR(internal::AddRedactionColumn(db));
  auto q_h = stmts.Get("SELECT seed, hlc_wall, hlc_counter FROM log_identity WHERE id = 1");
  Stmt& q = *q_h;
  ESTELIK_ASSIGN_OR_RETURN(bool row, q.Step());
  pb::Hlc last;
  crypto::SecretBytes seed;
  if (row) {
    std::string stored = q.Blob(0);
    seed = crypto::SecretBytes::CopyOf(Bytes(stored));
    sodium_memzero(stored.data(), stored.size());
    last.set_wall_ms(static_cast<uint64_t>(q.Int(1)));
    last.set_counter(static_cast<uint32_t>(q.Int(2)));
    if (options.identity_seed && !crypto::ConstantTimeEquals(seed.span(), *options.identity_seed)) {
      return AlreadyExists("this database already holds a different identity");
    }
  } else {
    seed = options.identity_seed ? crypto::SecretBytes::CopyOf(*options.identity_seed)
                                 : crypto::SecretBytes::Random(kSeedSize);
    auto ins_h = stmts.Get("INSERT INTO log_identity(id, seed) VALUES(1, ?)");
    Stmt& ins = *ins_h;
    ins.Bind(1, seed.span());
    ESTELIK_RETURN_IF_ERROR(ins.Run());
  }
  ESTELIK_ASSIGN_OR_RETURN(Identity identity, Identity::FromSeed(seed.span()));
  ESTELIK_RETURN_IF_ERROR(sp.Commit());
  std::unique_ptr<OpLog> log(
      new OpLog(db, std::move(identity), std::move(private_key), std::move(options)));
  log->clock_.Restore(last);
  return log;
}

void OpLog::SetNonceSourceForTesting(std::function<void(std::span<uint8_t>)> source) {
  impl_->nonce_source = std::move(source);
}

// ---- Appending local ops ----

namespace {
struct AppendSpec {
  const pb::OpBody* body;
  std::string circle_id;
  uint32_t epoch = 0;
  std::span<const uint8_t> key;
  std::vector<std::string> grants;
};
}  // namespace

// Shared by Append and the circle/contact calls; the caller holds the savepoint.
static Result<pb::Envelope> AppendLocked(OpLog::Impl& impl, const Identity& me, HybridClock& clock,
                                         const AppendSpec& spec, uint64_t physical_ms) {
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

namespace {
// Runs `fn` inside a savepoint; on failure the database and the clock are as before.
template <typename Fn>
auto Transact(sqlite3* db, HybridClock& clock, Fn fn) -> decltype(fn()) {
  HybridClock saved = clock;
  Savepoint sp(db);
  if (!sp.begin_status().ok()) return sp.begin_status();
  auto result = fn();
  if (result.ok()) {
    Status st = sp.Commit();
    if (st.ok()) return result;
    result = st;
  }
  clock = saved;
  return result;
}
}  // namespace

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
      if (!circle) return NotFound("unknown circle " + Short(scope.circle_id));
      ESTELIK_ASSIGN_OR_RETURN(bool member, impl_->IsMember(scope.circle_id, circle->epoch,
                                                            ToString(identity_.public_key())));
      ESTELIK_ASSIGN_OR_RETURN(auto key,
                               impl_->CircleKey(identity_, scope.circle_id, circle->epoch));
      if (!member || key == nullptr) {
        return PermissionDenied("not a member of circle " + Short(scope.circle_id) + " epoch " +
                                std::to_string(circle->epoch));
      }
      spec.epoch = circle->epoch;
      spec.key = key->span();
    }
    return AppendLocked(*impl_, identity_, clock_, spec, physical_ms);
  });
}

Result<OpLog::CreatedCircle> OpLog::CreateCircle(const std::string& name, uint64_t physical_ms) {
  return Transact(impl_->db, clock_, [&]() -> Result<CreatedCircle> {
    std::string salt(kCircleSaltSize, '\0');
    randombytes_buf(salt.data(), salt.size());
    const std::string id = CircleIdFor(ToString(identity_.public_key()), salt);
    crypto::SecretBytes key = crypto::SecretBytes::Random(kBodyKeySize);
    pb::OpBody body;
    auto* m = body.mutable_circle_create()->mutable_membership();
    m->set_circle_id(id);
    m->set_epoch(0);
    m->set_admin(ToString(identity_.public_key()));
    m->add_members(ToString(identity_.public_key()));
    m->set_name(name);
    m->set_salt(salt);
    AppendSpec spec{&body,
                    id,
                    0,
                    key.span(),
                    {SealGrant(identity_.x25519_public_key(), Bytes(id), 0, key.span())}};
    ESTELIK_ASSIGN_OR_RETURN(pb::Envelope env,
                             AppendLocked(*impl_, identity_, clock_, spec, physical_ms));
    return CreatedCircle{id, std::move(env)};
  });
}

Result<pb::Envelope> OpLog::AddMember(const std::string& circle_id, const PublicKey& member,
                                      uint64_t physical_ms) {
  ESTELIK_ASSIGN_OR_RETURN(PublicKey member_x, X25519FromEd25519(member));
  return Transact(impl_->db, clock_, [&]() -> Result<pb::Envelope> {
    ESTELIK_ASSIGN_OR_RETURN(auto circle, impl_->LoadCircle(circle_id));
    if (!circle) return NotFound("unknown circle " + Short(circle_id));
    if (circle->admin != ToString(identity_.public_key())) {
      return PermissionDenied("only the circle's admin may add members");
    }
    ESTELIK_ASSIGN_OR_RETURN(auto members, impl_->Members(circle_id, circle->epoch));
    if (std::find(members.begin(), members.end(), ToString(member)) != members.end()) {
      return AlreadyExists("already a member of circle " + Short(circle_id));
    }
    ESTELIK_ASSIGN_OR_RETURN(auto key, impl_->CircleKey(identity_, circle_id, circle->epoch));
    if (key == nullptr) return Internal("admin lost the circle key");
    members.push_back(ToString(member));
    std::sort(members.begin(), members.end());
    pb::OpBody body;
    body.mutable_member_add()->set_member(ToString(member));
    auto* m = body.mutable_member_add()->mutable_membership();
    m->set_circle_id(circle_id);
    m->set_epoch(circle->epoch);
    m->set_admin(circle->admin);
    m->set_name(circle->name);
    m->set_salt(circle->salt);
    for (auto& k : members) m->add_members(k);
    AppendSpec spec{&body,
                    circle_id,
                    circle->epoch,
                    key->span(),
                    {SealGrant(member_x, Bytes(circle_id), circle->epoch, key->span())}};
    return AppendLocked(*impl_, identity_, clock_, spec, physical_ms);
  });
}

Result<pb::Envelope> OpLog::RemoveMember(const std::string& circle_id, const PublicKey& member,
                                         uint64_t physical_ms) {
  return Transact(impl_->db, clock_, [&]() -> Result<pb::Envelope> {
    ESTELIK_ASSIGN_OR_RETURN(auto circle, impl_->LoadCircle(circle_id));
    if (!circle) return NotFound("unknown circle " + Short(circle_id));
    if (circle->admin != ToString(identity_.public_key())) {
      return PermissionDenied("only the circle's admin may remove members");
    }
    if (ToString(member) == circle->admin) {
      return InvalidArgument("the admin cannot remove themselves from their circle");
    }
    ESTELIK_ASSIGN_OR_RETURN(auto members, impl_->Members(circle_id, circle->epoch));
    auto it = std::find(members.begin(), members.end(), ToString(member));
    if (it == members.end()) return NotFound("not a member of circle " + Short(circle_id));
    members.erase(it);
    const uint32_t epoch = circle->epoch + 1;
    // A fresh key: the removed member holds every earlier key but never this one.
    crypto::SecretBytes key = crypto::SecretBytes::Random(kBodyKeySize);
    pb::OpBody body;
    body.mutable_member_remove()->set_member(ToString(member));
    // The cut: every op of theirs we hold in this circle stays; anything later they sign
    // in an earlier epoch is void everywhere.
    ESTELIK_ASSIGN_OR_RETURN(Head their_head, impl_->LoadHead(circle_id, ToString(member)));
    body.mutable_member_remove()->set_cut(their_head.seq);
    auto* m = body.mutable_member_remove()->mutable_membership();
    m->set_circle_id(circle_id);
    m->set_epoch(epoch);
    m->set_admin(circle->admin);
    m->set_name(circle->name);
    m->set_salt(circle->salt);
    AppendSpec spec{&body, circle_id, epoch, key.span(), {}};
    for (auto& k : members) {
      m->add_members(k);
      ESTELIK_ASSIGN_OR_RETURN(PublicKey x, X25519FromEd25519(Bytes(k)));
      spec.grants.push_back(SealGrant(x, Bytes(circle_id), epoch, key.span()));
    }
    return AppendLocked(*impl_, identity_, clock_, spec, physical_ms);
  });
}

Status OpLog::CarryCircle(const std::string& circle_id) {
  if (circle_id.size() != kCircleIdSize) return InvalidArgument("circle id must be 32 bytes");
  auto s_h = impl_->stmts.Get(
      "INSERT OR IGNORE INTO log_circles(circle_id, admin, carrier_only) VALUES(?, NULL, 1)");
  Stmt& s = *s_h;
  s.BindBlob(1, circle_id);
  return s.Run();
}

Result<CircleInfo> OpLog::GetCircle(const std::string& circle_id) {
  ESTELIK_ASSIGN_OR_RETURN(auto circle, impl_->LoadCircle(circle_id));
  if (!circle) return NotFound("unknown circle " + Short(circle_id));
  CircleInfo info;
  info.circle_id = circle_id;
  info.name = circle->name;
  info.admin = ToKey(circle->admin);
  info.epoch = circle->epoch;
  info.carrier_only = circle->carrier_only;
  ESTELIK_ASSIGN_OR_RETURN(auto members, impl_->Members(circle_id, circle->epoch));
  for (auto& m : members) info.members.push_back(ToKey(m));
  return info;
}

Result<std::vector<std::string>> OpLog::ListCircles() {
  auto s_h = impl_->stmts.Get("SELECT circle_id FROM log_circles ORDER BY circle_id");
  Stmt& s = *s_h;
  std::vector<std::string> ids;
  for (;;) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    ids.push_back(s.Blob(0));
  }
  return ids;
}

// ---- Contacts ----

Result<pb::Envelope> OpLog::AddContact(const PublicKey& key, const std::string& name,
                                       uint64_t physical_ms) {
  ESTELIK_RETURN_IF_ERROR(X25519FromEd25519(key).status());
  return Transact(impl_->db, clock_, [&]() -> Result<pb::Envelope> {
    pb::OpBody body;
    body.mutable_contact_add()->set_public_key(ToString(key));
    body.mutable_contact_add()->set_name(name);
    AppendSpec spec{&body, "", 0, impl_->private_key.span(), {}};
    ESTELIK_ASSIGN_OR_RETURN(pb::Envelope env,
                             AppendLocked(*impl_, identity_, clock_, spec, physical_ms));
    auto s_h = impl_->stmts.Get(
        "INSERT INTO log_contacts(public_key, name, added_wall, added_counter) "
        "VALUES(?,?,?,?) ON CONFLICT(public_key) DO UPDATE SET name = excluded.name");
    Stmt& s = *s_h;
    s.Bind(1, key).BindText(2, name).Bind(3, static_cast<int64_t>(clock_.last().wall_ms()));
    s.Bind(4, clock_.last().counter());
    ESTELIK_RETURN_IF_ERROR(s.Run());
    return env;
  });
}

Result<pb::Envelope> OpLog::RemoveContact(const PublicKey& key, uint64_t physical_ms) {
  return Transact(impl_->db, clock_, [&]() -> Result<pb::Envelope> {
    auto d_h = impl_->stmts.Get("DELETE FROM log_contacts WHERE public_key = ?");
    Stmt& d = *d_h;
    d.Bind(1, key);
    ESTELIK_RETURN_IF_ERROR(d.Run());
    if (sqlite3_changes(impl_->db) == 0) return NotFound("no such contact");
    pb::OpBody body;
    body.mutable_contact_remove()->set_public_key(ToString(key));
    AppendSpec spec{&body, "", 0, impl_->private_key.span(), {}};
    return AppendLocked(*impl_, identity_, clock_, spec, physical_ms);
  });
}

Result<std::vector<Contact>> OpLog::Contacts() {
  auto s_h = impl_->stmts.Get(
      "SELECT public_key, name, added_wall, added_counter FROM log_contacts ORDER BY name, "
      "public_key");
  Stmt& s = *s_h;
  std::vector<Contact> out;
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    Contact c;
    c.public_key = ToKey(s.Blob(0));
    c.name = s.Text(1);
    c.added.set_wall_ms(static_cast<uint64_t>(s.Int(2)));
    c.added.set_counter(static_cast<uint32_t>(s.Int(3)));
    out.push_back(std::move(c));
  }
  return out;
}

// ---- Ingesting remote ops ----

// The checks of DESIGN "Signed op log" for one op whose signature (or chain authority) has
// been verified. Inside the caller's savepoint; returns kPending without writing for ops
// ahead of the chain (except learning a circle key granted to us, see below).
static Result<IngestOutcome> IngestVerified(OpLog::Impl& impl, const Identity& me,
                                            HybridClock& clock, const pb::Envelope& env,
                                            const pb::Op& op, const OpHash& hash, bool sig_checked,
                                            uint64_t physical_ms,
                                            bool* membership_changed = nullptr) {
  const std::string& scope = op.scope().circle_id();
  const std::string& author = op.author();
  if (scope.empty()) {
    return PermissionDenied("refusing a private op from " + Short(author) +
                            ": private ops never leave their author's device");
  }
  ESTELIK_ASSIGN_OR_RETURN(auto circle, impl.LoadCircle(scope));

  // A key granted to us arrives in a membership op. Learn it even if the op must wait for
  // a gap: otherwise a new member would refuse the admin's earlier ops (unknown circle) and
  // never fill that gap. The grant and body are authenticated by the author's signature;
  // the author must be the admin we know, or the admin the body names for a new circle.
  const crypto::SecretBytes* held_key = nullptr;
  if (circle && !op.key_grants().empty()) {
    ESTELIK_ASSIGN_OR_RETURN(held_key, impl.CircleKey(me, scope, op.scope().epoch()));
  }
  for (const std::string& grant : op.key_grants()) {
    if (held_key != nullptr) break;  // nothing to learn; the normal path checks the op
    auto key = OpenGrant(me, grant, Bytes(scope), op.scope().epoch());
    if (!key) continue;
    ESTELIK_ASSIGN_OR_RETURN(pb::OpBody body, impl.DecryptBody(op, key->span()));
    if (!IsMembershipOp(body)) return Corrupt("key grant on an op that is not a membership op");
    CircleRow known;
    if (circle && circle->admin.size() == kPublicKeySize) {
      known = *circle;
    } else {
      known.admin = MembershipOf(body)->admin();  // bound to the circle id, checked below
    }
    ESTELIK_RETURN_IF_ERROR(impl.Authorize(op, body, known));
    ESTELIK_RETURN_IF_ERROR(impl.ApplyMembership(me, body, op));
    if (membership_changed != nullptr) *membership_changed = true;
    ESTELIK_ASSIGN_OR_RETURN(circle, impl.LoadCircle(scope));
    break;
  }
  // Ops of a circle we do not know yet are held, not stored: a new member usually receives
  // the admin's earlier ops (circle create, ...) just before the op granting it the key.
  if (!circle) return IngestOutcome::kPending;

  // Same (author, scope, seq) already held?
  size_t variants = 0;
  bool canonical_exists = false;
  {
    auto s_h = impl.stmts.Get(
        "SELECT hash, canonical FROM log_ops WHERE scope = ? AND author = ? AND seq = ?");
    Stmt& s = *s_h;
    s.BindBlob(1, scope).BindBlob(2, author).Bind(3, static_cast<int64_t>(op.seq()));
    while (true) {
      ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      if (s.Blob(0) == std::string_view(reinterpret_cast<const char*>(hash.data()), kHashSize)) {
        return IngestOutcome::kDuplicate;
      }
      ++variants;
      canonical_exists |= s.Int(1) != 0;
    }
  }
  auto keep_fork = [&]() -> Result<IngestOutcome> {
    if (variants >= impl.options.max_fork_variants) {
      return LimitExceeded("author " + Short(author) + " already has " + std::to_string(variants) +
                           " forked ops at seq " + std::to_string(op.seq()));
    }
    ESTELIK_RETURN_IF_ERROR(impl.StoreOp(op, hash, env, false, sig_checked, false));
    auto f_h = impl.stmts.Get("INSERT OR IGNORE INTO log_forks(author, scope, seq) VALUES(?,?,?)");
    Stmt& f = *f_h;
    f.BindBlob(1, author).BindBlob(2, scope).Bind(3, static_cast<int64_t>(op.seq()));
    ESTELIK_RETURN_IF_ERROR(f.Run());
    return IngestOutcome::kFork;
  };
  // A fork needs its own valid signature: it is evidence on its own.
  if (canonical_exists) {
    if (!sig_checked) return Internal("fork candidate without a checked signature");
    return keep_fork();
  }

  ESTELIK_ASSIGN_OR_RETURN(Head head, impl.LoadHead(scope, author));
  if (op.seq() > head.seq + 1) return IngestOutcome::kPending;
  const std::string expected_prev = head.seq == 0 ? std::string(kHashSize, '\0') : head.hash;
  if (!crypto::ConstantTimeEquals(Bytes(op.prev()), Bytes(expected_prev))) {
    // Continuing a fork branch we keep as evidence?
    auto s_h = impl.stmts.Get(
        "SELECT 1 FROM log_ops WHERE scope = ? AND author = ? AND seq = ? AND hash = ? "
        "AND canonical = 0");
    Stmt& s = *s_h;
    s.BindBlob(1, scope).BindBlob(2, author).Bind(3, static_cast<int64_t>(op.seq() - 1));
    s.BindBlob(4, op.prev());
    ESTELIK_ASSIGN_OR_RETURN(bool on_fork, s.Step());
    if (on_fork && sig_checked) return keep_fork();
    return Corrupt("hash chain broken: op seq " + std::to_string(op.seq()) + " of " +
                   Short(author) + " does not follow the seq " + std::to_string(head.seq) +
                   " we hold");
  }
  // An author's chain never returns to an earlier epoch: a member who learned of a new epoch
  // (or was removed) cannot go on writing under a key it kept.
  if (head.seq > 0 && op.scope().epoch() < head.epoch) {
    return PermissionDenied("op seq " + std::to_string(op.seq()) + " of " + Short(author) +
                            " in circle " + Short(scope) + " returns to epoch " +
                            std::to_string(op.scope().epoch()) + " after epoch " +
                            std::to_string(head.epoch));
  }

  // Authorization needs the body; without the epoch key (relay, removed member, or an epoch
  // whose key has not reached us yet) it is deferred to OpenBody, which re-checks.
  ESTELIK_ASSIGN_OR_RETURN(auto key, impl.CircleKey(me, scope, op.scope().epoch()));
  if (key != nullptr) {
    ESTELIK_ASSIGN_OR_RETURN(pb::OpBody body, impl.DecryptBody(op, key->span()));
    if (!IsMembershipOp(body) && circle->admin != ToString(me.public_key())) {
      // Only the admin adds members, so only the admin knows an epoch's members for certain:
      // elsewhere the op adding this author may still be on its way (a peer sends authors in
      // key order). Held in memory until a membership op arrives; never stored meanwhile.
      ESTELIK_ASSIGN_OR_RETURN(bool member, impl.IsMember(scope, op.scope().epoch(), author));
      if (!member) return IngestOutcome::kPending;
    }
    ESTELIK_RETURN_IF_ERROR(impl.Authorize(op, body, *circle));
    if (IsMembershipOp(body)) {
      ESTELIK_RETURN_IF_ERROR(impl.ApplyMembership(me, body, op));
      if (membership_changed != nullptr) *membership_changed = true;
    }
  }
  if (op.author() == circle->admin && op.scope().epoch() > circle->epoch) {
    // Only the admin starts epochs. A member who sees one but holds no key for it was
    // removed: it must stop posting into the old epoch (Append checks the current epoch).
    auto e_h = impl.stmts.Get("UPDATE log_circles SET current_epoch = ? WHERE circle_id = ?");
    Stmt& e = *e_h;
    e.Bind(1, op.scope().epoch()).BindBlob(2, scope);
    ESTELIK_RETURN_IF_ERROR(e.Run());
  }
  HybridClock::Observation obs = clock.Observe(op.hlc(), physical_ms);
  ESTELIK_RETURN_IF_ERROR(impl.StoreOp(op, hash, env, true, sig_checked, obs.far_future));
  ESTELIK_RETURN_IF_ERROR(impl.SetHead(scope, author, op.seq(), hash));
  ESTELIK_RETURN_IF_ERROR(impl.PersistClock(clock.last()));
  return IngestOutcome::kAccepted;
}

// Appends held ops of `chain` that now follow its head, each in its own savepoint; an op that
// fails its checks is dropped. Then forgets held ops the chain has passed.
static Status DrainPending(OpLog::Impl& impl, const Identity& me, HybridClock& clock,
                           const std::pair<std::string, std::string>& chain, uint64_t physical_ms,
                           bool* membership_changed) {
  auto it = impl.pending.find(chain);
  if (it == impl.pending.end()) return Status::Ok();
  ESTELIK_ASSIGN_OR_RETURN(Head head, impl.LoadHead(chain.first, chain.second));
  while (true) {
    auto held = it->second.find(head.seq + 1);
    if (held == it->second.end()) break;
    pb::Envelope env = std::move(held->second);
    it->second.erase(held);
    --impl.pending_count;
    auto parsed = ParseOpHeader(env.op());
    if (!parsed.ok()) break;
    const OpHash h = HashOpBytes(env.op());
    auto r = Transact(impl.db, clock, [&]() -> Result<IngestOutcome> {
      return IngestVerified(impl, me, clock, env, *parsed, h, true, physical_ms,
                            membership_changed);
    });
    if (r.ok() && *r == IngestOutcome::kPending) {  // still waits (for its author's add)
      it->second.emplace(head.seq + 1, std::move(env));
      ++impl.pending_count;
      break;
    }
    if (!r.ok() || *r != IngestOutcome::kAccepted) break;
    head.seq += 1;
  }
  while (!it->second.empty() && it->second.begin()->first <= head.seq) {
    it->second.erase(it->second.begin());
    --impl.pending_count;
  }
  if (it->second.empty()) impl.pending.erase(it);
  return Status::Ok();
}

// Retries the held ops of every author of `circle` after its membership changed (a circle or a
// member became known), until a round admits nothing more.
static Status DrainCircle(OpLog::Impl& impl, const Identity& me, HybridClock& clock,
                          const std::string& circle, uint64_t physical_ms) {
  while (true) {
    std::vector<std::pair<std::string, std::string>> chains;
    for (const auto& [c, _] : impl.pending) {
      if (c.first == circle) chains.push_back(c);
    }
    const size_t before = impl.pending_count;
    for (const auto& c : chains) {
      ESTELIK_RETURN_IF_ERROR(DrainPending(impl, me, clock, c, physical_ms, nullptr));
    }
    if (impl.pending_count == before) return Status::Ok();
  }
}

Result<IngestOutcome> OpLog::Ingest(const pb::Envelope& envelope, uint64_t physical_ms) {
  ESTELIK_ASSIGN_OR_RETURN(pb::Op op, ParseOpHeader(envelope.op()));
  ESTELIK_RETURN_IF_ERROR(VerifyEnvelopeSignature(envelope, op));
  const OpHash hash = HashOpBytes(envelope.op());
  bool membership_changed = false;
  ESTELIK_ASSIGN_OR_RETURN(IngestOutcome outcome,
                           Transact(impl_->db, clock_, [&]() -> Result<IngestOutcome> {
                             return IngestVerified(*impl_, identity_, clock_, envelope, op, hash,
                                                   true, physical_ms, &membership_changed);
                           }));
  const auto chain = std::make_pair(op.scope().circle_id(), op.author());
  if (outcome == IngestOutcome::kPending) {
    auto& held = impl_->pending[chain];
    if (held.count(op.seq()) == 0) {
      if (impl_->pending_count >= impl_->options.max_pending_ops) {
        if (held.empty()) impl_->pending.erase(chain);
        return LimitExceeded(
            "too many ops waiting for missing predecessors or an unknown "
            "circle (" +
            std::to_string(impl_->pending_count) + ")");
      }
      held.emplace(op.seq(), envelope);
      ++impl_->pending_count;
    }
  }
  if (outcome == IngestOutcome::kAccepted) {
    ESTELIK_RETURN_IF_ERROR(
        DrainPending(*impl_, identity_, clock_, chain, physical_ms, &membership_changed));
  }
  if (membership_changed) {
    // Ops held while the circle or their author's membership was unknown may now go in.
    ESTELIK_RETURN_IF_ERROR(DrainCircle(*impl_, identity_, clock_, chain.first, physical_ms));
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
  ESTELIK_ASSIGN_OR_RETURN(Head head, impl_->LoadHead(first.scope().circle_id(), first.author()));
  const std::string expected_prev = head.seq == 0 ? std::string(kHashSize, '\0') : head.hash;
  const bool extends_head = first.seq() == head.seq + 1 && first.prev() == expected_prev;
  if (extends_head) {
    // The fast path: one signature (the newest) + the hash chain.
    ESTELIK_ASSIGN_OR_RETURN(VerifiedRun verified, VerifyChainRun(run));
    bool membership_changed = false;
    auto fast = Transact(impl_->db, clock_, [&]() -> Result<IngestOutcome> {
      for (size_t i = 0; i < run.size(); ++i) {
        ESTELIK_ASSIGN_OR_RETURN(
            IngestOutcome o,
            IngestVerified(*impl_, identity_, clock_, run[i], verified.ops[i], verified.hashes[i],
                           i + 1 == run.size(), physical_ms, &membership_changed));
        // Not a plain extension after all (e.g. an unknown circle): use the per-op path.
        if (o != IngestOutcome::kAccepted) return Status(Code::kAborted, "not an extension");
      }
      return IngestOutcome::kAccepted;
    });
    if (fast.ok() || fast.status().code() != Code::kAborted) {
      if (fast.ok()) {
        ESTELIK_RETURN_IF_ERROR(DrainPending(*impl_, identity_, clock_,
                                             {first.scope().circle_id(), first.author()},
                                             physical_ms, &membership_changed));
        if (membership_changed) {
          ESTELIK_RETURN_IF_ERROR(
              DrainCircle(*impl_, identity_, clock_, first.scope().circle_id(), physical_ms));
        }
      }
      return fast;
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

// ---- Reading ----

Result<VersionVector> OpLog::GetVersionVector(const Scope& scope) {
  auto s_h = impl_->stmts.Get("SELECT author, seq FROM log_heads WHERE scope = ?");
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id);
  VersionVector vv;
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    vv[s.Blob(0)] = static_cast<uint64_t>(s.Int(1));
  }
  return vv;
}

Result<std::vector<pb::Envelope>> OpLog::OpsAfter(const VersionVector& theirs, const Scope& scope,
                                                  size_t limit) {
  ESTELIK_ASSIGN_OR_RETURN(VersionVector ours, GetVersionVector(scope));
  std::vector<pb::Envelope> out;
  // Range scans on the (scope, author, seq, hash) unique index: each touches only missing ops.
  auto s_h = impl_->stmts.Get(
      "SELECT envelope FROM log_ops WHERE scope = ? AND author = ? AND seq > ? AND seq <= ? "
      "AND canonical = 1 ORDER BY seq");
  Stmt& s = *s_h;
  for (const auto& [author, head] : ours) {  // std::map: author order
    if (out.size() >= limit) break;
    auto it = theirs.find(author);
    uint64_t from = it == theirs.end() ? 0 : it->second;
    if (from >= head) continue;
    s.Reset();
    s.BindBlob(1, scope.circle_id).BindBlob(2, author).Bind(3, static_cast<int64_t>(from));
    s.Bind(4, static_cast<int64_t>(head));
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
      "no key for circle " + Short(scope) + " epoch " + std::to_string(op.scope().epoch());
  ESTELIK_ASSIGN_OR_RETURN(auto circle, impl_->LoadCircle(scope));
  if (!circle) return PermissionDenied(no_key);
  ESTELIK_ASSIGN_OR_RETURN(auto key, impl_->CircleKey(identity_, scope, op.scope().epoch()));
  if (key == nullptr) return PermissionDenied(no_key);
  ESTELIK_ASSIGN_OR_RETURN(std::optional<uint64_t> cut, impl_->CutPassed(op));
  if (cut) {
    return PermissionDenied("op seq " + std::to_string(op.seq()) + " of " + Short(op.author()) +
                            " is void: its author was removed from circle " + Short(scope) +
                            " keeping only seqs up to " + std::to_string(*cut));
  }
  ESTELIK_ASSIGN_OR_RETURN(pb::OpBody body, impl_->DecryptBody(op, key->span(), plaintext));
  ESTELIK_RETURN_IF_ERROR(impl_->Authorize(op, body, *circle));
  return body;
}

Result<uint32_t> OpLog::OwnOpEpoch(const Scope& scope, std::string_view op_hash) {
  auto s_h = impl_->stmts.Get(
      "SELECT epoch FROM log_ops WHERE scope = ? AND author = ? AND hash = ? AND canonical = 1");
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id).Bind(2, identity_.public_key()).BindBlob(3, op_hash);
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("no op " + Short(op_hash) + " of ours in this scope");
  return static_cast<uint32_t>(s.Int(0));
}

Result<bool> OpLog::HoldsUnappliedOpBefore(const Scope& scope, std::string_view author,
                                           uint64_t seq) {
  if (scope.is_private()) return false;
  auto s_h = impl_->stmts.Get(
      "SELECT 1 FROM log_ops o WHERE o.scope = ?1 AND o.author = ?2 AND o.seq < ?3 AND "
      "o.canonical = 1 AND (NOT EXISTS (SELECT 1 FROM log_circle_epochs e WHERE "
      "e.circle_id = ?1 AND e.epoch = o.epoch) OR EXISTS (SELECT 1 FROM log_cuts c WHERE "
      "c.circle_id = ?1 AND c.member = ?2 AND o.seq > c.cut AND o.epoch < c.epoch)) LIMIT 1");
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id).BindBlob(2, author).Bind(3, static_cast<int64_t>(seq));
  return s.Step();
}

Result<std::set<uint32_t>> OpLog::KeyedEpochs(const Scope& scope) {
  std::set<uint32_t> out;
  if (scope.is_private()) return out;
  auto s_h = impl_->stmts.Get("SELECT epoch FROM log_circle_epochs WHERE circle_id = ?");
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id);
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.insert(static_cast<uint32_t>(s.Int(0)));
  }
  return out;
}

Result<std::vector<pb::Envelope>> OpLog::HeldOpsOfEpoch(const Scope& scope, uint32_t epoch,
                                                        const VersionVector& upto) {
  std::vector<pb::Envelope> out;
  auto s_h = impl_->stmts.Get(
      "SELECT author, seq, envelope FROM log_ops WHERE scope = ? AND epoch = ? AND canonical = 1 "
      "ORDER BY author, seq");
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id).Bind(2, static_cast<int64_t>(epoch));
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    auto it = upto.find(std::string(s.Blob(0)));
    if (it == upto.end() || static_cast<uint64_t>(s.Int(1)) > it->second) continue;
    pb::Envelope env;
    if (!env.ParseFromString(s.Blob(2))) return Corrupt("stored envelope is unreadable");
    out.push_back(std::move(env));
  }
  return out;
}

Result<std::vector<PublicKey>> OpLog::ForkedAuthors() {
  auto s_h = impl_->stmts.Get("SELECT DISTINCT author FROM log_forks ORDER BY author");
  Stmt& s = *s_h;
  std::vector<PublicKey> out;
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(ToKey(s.Blob(0)));
  }
  return out;
}

Result<std::vector<pb::Envelope>> OpLog::OpsAt(const PublicKey& author, const Scope& scope,
                                               uint64_t seq) {
  auto s_h = impl_->stmts.Get(
      "SELECT envelope FROM log_ops WHERE scope = ? AND author = ? AND seq = ? "
      "ORDER BY canonical DESC, id");
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id).Bind(2, author).Bind(3, static_cast<int64_t>(seq));
  std::vector<pb::Envelope> out;
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    pb::Envelope env;
    if (!env.ParseFromString(s.Blob(0))) return Corrupt("stored envelope is unreadable");
    out.push_back(std::move(env));
  }
  return out;
}

Result<size_t> OpLog::VerifyStoredSignatures() {
  auto s_h = impl_->stmts.Get(
      "SELECT id, envelope FROM log_ops WHERE sig_checked = 0 AND redacted IS NULL");
  Stmt& s = *s_h;
  std::vector<int64_t> good;
  size_t bad = 0;
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    pb::Envelope env;
    auto op = env.ParseFromString(s.Blob(1)) ? ParseOpHeader(env.op())
                                             : Result<pb::Op>(Corrupt("unreadable"));
    if (op.ok() && VerifyEnvelopeSignature(env, *op).ok()) {
      good.push_back(s.Int(0));
    } else {
      ++bad;
    }
  }
  return Transact(impl_->db, clock_, [&]() -> Result<size_t> {
    auto u_h = impl_->stmts.Get("UPDATE log_ops SET sig_checked = 1 WHERE id = ?");
    Stmt& u = *u_h;
    for (int64_t id : good) {
      u.Reset();
      u.Bind(1, id);
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
  Stmt info(db, "SELECT 1 FROM pragma_table_info('log_ops') WHERE name = 'redacted'");
  ESTELIK_RETURN_IF_ERROR(info.prepare_status());
  ESTELIK_ASSIGN_OR_RETURN(bool present, info.Step());
  if (present) return Status::Ok();
  return Exec(db, "ALTER TABLE log_ops ADD COLUMN redacted BLOB");
}

Status OpLog::ForEachOp(const std::function<Status(const StoredOp&)>& fn) {
  // Sorted by SQLite before the first row is returned, so `fn` may write other tables.
  Stmt s(impl_->db,
         "SELECT envelope, hash, author, scope, seq, hlc_wall, hlc_counter, redacted FROM log_ops "
         "WHERE canonical = 1 ORDER BY hlc_wall, hlc_counter, author, scope, seq");
  ESTELIK_RETURN_IF_ERROR(s.prepare_status());
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    StoredOp op;
    std::string hash = s.Blob(1);
    if (hash.size() != kHashSize) return Corrupt("log_ops holds an op hash of the wrong size");
    std::memcpy(op.hash.data(), hash.data(), kHashSize);
    op.author = s.Blob(2);
    op.scope = s.Blob(3);
    op.seq = static_cast<uint64_t>(s.Int(4));
    op.hlc.set_wall_ms(static_cast<uint64_t>(s.Int(5)));
    op.hlc.set_counter(static_cast<uint32_t>(s.Int(6)));
    op.redacted_for = s.Blob(7);
    if (op.redacted_for.empty() && !op.envelope.ParseFromString(s.Blob(0))) {
      return Corrupt("stored envelope of seq " + std::to_string(op.seq) + " by " +
                     Short(op.author) + " is unreadable");
    }
    ESTELIK_RETURN_IF_ERROR(fn(op));
  }
  return Status::Ok();
}

Result<size_t> OpLog::RedactPrivateOps(const std::vector<OpHash>& hashes,
                                       const std::string& testimony_id) {
  if (testimony_id.empty()) return InvalidArgument("redaction needs the testimony id");
  return Transact(impl_->db, clock_, [&]() -> Result<size_t> {
    auto u_h = impl_->stmts.Get(
        "UPDATE log_ops SET envelope = X'', redacted = ? WHERE scope = X'' AND author = ? AND "
        "hash = ? AND redacted IS NULL");
    Stmt& u = *u_h;
    size_t redacted = 0;
    for (const OpHash& h : hashes) {
      u.Reset();
      u.BindBlob(1, testimony_id).Bind(2, identity_.public_key()).Bind(3, h);
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
  auto s_h = impl_->stmts.Get(
      "SELECT seq, epoch FROM log_ops WHERE scope = ? AND author = ? AND seq > ? AND seq <= ? "
      "AND canonical = 1 ORDER BY seq");
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id).BindBlob(2, author);
  s.Bind(3, static_cast<int64_t>(after)).Bind(4, static_cast<int64_t>(upto));
  std::vector<std::pair<uint64_t, uint32_t>> out;
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.emplace_back(static_cast<uint64_t>(s.Int(0)), static_cast<uint32_t>(s.Int(1)));
  }
  return out;
}

Result<std::set<EpochMember>> OpLog::EpochMembers(const Scope& scope) {
  std::set<EpochMember> out;
  if (scope.is_private()) return out;
  auto s_h = impl_->stmts.Get("SELECT epoch, member FROM log_circle_members WHERE circle_id = ?");
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id);
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.emplace(static_cast<uint32_t>(s.Int(0)), s.Blob(1));
  }
  return out;
}

Result<std::vector<RemovalCut>> OpLog::RemovalCuts(const Scope& scope) {
  std::vector<RemovalCut> out;
  if (scope.is_private()) return out;
  auto s_h = impl_->stmts.Get(
      "SELECT member, epoch, cut FROM log_cuts WHERE circle_id = ? ORDER BY member, epoch");
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id);
  while (true) {
    ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(
        RemovalCut{s.Blob(0), static_cast<uint32_t>(s.Int(1)), static_cast<uint64_t>(s.Int(2))});
  }
  return out;
}

Result<bool> OpLog::HoldsOpsPastCut(const Scope& scope, const RemovalCut& cut) {
  auto s_h = impl_->stmts.Get(
      "SELECT 1 FROM log_ops WHERE scope = ? AND author = ? AND seq > ? AND epoch < ? AND "
      "canonical = 1 LIMIT 1");
  Stmt& s = *s_h;
  s.BindBlob(1, scope.circle_id).BindBlob(2, cut.member);
  s.Bind(3, static_cast<int64_t>(cut.cut)).Bind(4, cut.epoch);
  return s.Step();
}

}  // namespace estelik::log
