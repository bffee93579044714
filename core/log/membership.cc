// OpLog's circles: creating them, membership snapshots (a union per epoch), key grants, removal
// cuts, and who may post what (docs/FORMAT.md "Circle keys and grants", "Acceptance rules").
#include <sodium.h>

#include <cassert>
#include <set>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/log/op_log_impl.h"

namespace estelik::log {

using internal::AppendLocked;
using internal::AppendSpec;
using internal::CircleRow;
using internal::Head;
using internal::MembershipOf;
using internal::ToKey;
using internal::ToString;
using internal::Transact;
using sql::Stmt;

Result<std::optional<CircleRow>> OpLog::Impl::LoadCircle(const std::string& id) {
  ESTELIK_ASSIGN_OR_RETURN(auto s_h, stmts.Get("SELECT admin, name, current_epoch, carrier_only, "
                                               "salt FROM log_circles WHERE circle_id = "
                                               "?"));
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

Result<bool> OpLog::Impl::IsMember(const std::string& circle, uint32_t epoch,
                                   const std::string& who) {
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h,
      stmts.Get(
          "SELECT 1 FROM log_circle_members WHERE circle_id = ? AND epoch = ? AND member = ?"));
  Stmt& s = *s_h;
  s.BindBlob(1, circle).BindInt(2, epoch).BindBlob(3, who);
  return s.Step();
}

Result<std::vector<std::string>> OpLog::Impl::Members(const std::string& circle, uint32_t epoch) {
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h, stmts.Get("SELECT member FROM log_circle_members WHERE circle_id = ? AND epoch = ? "
                          "ORDER BY member"));
  Stmt& s = *s_h;
  s.BindBlob(1, circle).BindInt(2, epoch);
  std::vector<std::string> out;
  ESTELIK_RETURN_IF_ERROR(
      sql::ForEachRow(s, [&](const sql::Stmt& row) { out.push_back(row.Blob(0)); }));
  return out;
}

// The epoch key if we were granted it; nullptr otherwise.
Result<const crypto::SecretBytes*> OpLog::Impl::CircleKey(const Identity& me,
                                                          const std::string& circle,
                                                          uint32_t epoch) {
  auto it = circle_keys.find({circle, epoch});
  if (it != circle_keys.end()) return &it->second;
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h, stmts.Get("SELECT grant FROM log_circle_epochs WHERE circle_id = ? AND epoch = ?"));
  Stmt& s = *s_h;
  s.BindBlob(1, circle).BindInt(2, epoch);
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return static_cast<const crypto::SecretBytes*>(nullptr);
  auto key = OpenGrant(me, s.Blob(0), AsBytes(circle), epoch);
  if (!key)
    return Corrupt("stored key for circle " + ShortId(circle) + " epoch " + std::to_string(epoch) +
                   " does not open with this identity");
  auto [pos, _] = circle_keys.emplace(std::make_pair(circle, epoch), std::move(*key));
  return &pos->second;
}

// Records a membership snapshot, and a removal's cut. Within one epoch membership only grows
// (removal starts a new epoch), so applying snapshots as unions gives the same result in any
// order; cuts are keyed by (circle, member, epoch) and never change once written.
Status OpLog::Impl::ApplyMembership(const Identity& me, const pb::OpBody& body, const pb::Op& op) {
  const pb::CircleMembership* membership = MembershipOf(body);
  assert(membership != nullptr);
  const pb::CircleMembership& m = *membership;
  const std::string& id = m.circle_id();
  ESTELIK_RETURN_IF_ERROR(RecordCut(body));
  ESTELIK_ASSIGN_OR_RETURN(
      auto ins_h,
      stmts.Get(
          "INSERT INTO log_circles(circle_id, admin, name, current_epoch, carrier_only, salt) "
          "VALUES(?,?,?,?,0,?) ON CONFLICT(circle_id) DO UPDATE SET "
          "admin = COALESCE(admin, excluded.admin), salt = COALESCE(salt, excluded.salt), "
          "name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END, "
          "current_epoch = MAX(current_epoch, excluded.current_epoch)"));
  Stmt& ins = *ins_h;
  ins.BindBlob(1, id).BindBlob(2, m.admin()).BindText(3, m.name()).BindInt(4, m.epoch());
  ins.BindBlob(5, m.salt());
  ESTELIK_RETURN_IF_ERROR(ins.Run());
  for (const std::string& member : m.members()) {
    ESTELIK_ASSIGN_OR_RETURN(
        auto s_h,
        stmts.Get(
            "INSERT OR IGNORE INTO log_circle_members(circle_id, epoch, member) VALUES(?,?,?)"));
    Stmt& s = *s_h;
    s.BindBlob(1, id).BindInt(2, m.epoch()).BindBlob(3, member);
    ESTELIK_RETURN_IF_ERROR(s.Run());
  }
  bool member_now = std::find(m.members().begin(), m.members().end(), ToString(me.public_key())) !=
                    m.members().end();
  if (member_now) {
    ESTELIK_ASSIGN_OR_RETURN(
        auto c_h, stmts.Get("UPDATE log_circles SET carrier_only = 0 WHERE circle_id = ?"));
    Stmt& c = *c_h;
    c.BindBlob(1, id);
    ESTELIK_RETURN_IF_ERROR(c.Run());
  }
  for (const std::string& grant : op.key_grants()) {
    auto key = OpenGrant(me, grant, AsBytes(id), m.epoch());
    if (!key) continue;
    ESTELIK_ASSIGN_OR_RETURN(
        auto s_h,
        stmts.Get(
            "INSERT OR IGNORE INTO log_circle_epochs(circle_id, epoch, grant) VALUES(?,?,?)"));
    Stmt& s = *s_h;
    s.BindBlob(1, id).BindInt(2, m.epoch()).BindBlob(3, grant);
    ESTELIK_RETURN_IF_ERROR(s.Run());
    const bool learned = sqlite3_changes(db) > 0;
    auto [pos, _] = circle_keys.insert_or_assign({id, m.epoch()}, std::move(*key));
    if (learned) ESTELIK_RETURN_IF_ERROR(RecordHeldCuts(op, pos->second.span()));
  }
  return Status::Ok();
}

// A removal's cut, if it carries one (removals written before cuts existed carry none).
Status OpLog::Impl::RecordCut(const pb::OpBody& body) {
  if (!body.has_member_remove() || !body.member_remove().has_cut()) return Status::Ok();
  const pb::CircleMembership& m = body.member_remove().membership();
  ESTELIK_ASSIGN_OR_RETURN(
      auto c_h,
      stmts.Get("INSERT OR IGNORE INTO log_cuts(circle_id, member, epoch, cut) VALUES(?,?,?,?)"));
  Stmt& c = *c_h;
  c.BindBlob(1, m.circle_id()).BindBlob(2, body.member_remove().member()).BindInt(3, m.epoch());
  c.BindInt(4, static_cast<int64_t>(body.member_remove().cut()));
  return c.Run();
}

// `grant_op` just gave us the key of its epoch for the first time. A member removed and
// re-added stored that epoch's removal ops while it could not read them: their cuts count
// from now on, as on every other replica.
Status OpLog::Impl::RecordHeldCuts(const pb::Op& grant_op, std::span<const uint8_t> key) {
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h,
      stmts.Get("SELECT envelope FROM log_ops WHERE scope = ? AND author = ? AND epoch = ? AND "
                "canonical = 1"));
  Stmt& s = *s_h;
  s.BindBlob(1, grant_op.scope().circle_id()).BindBlob(2, grant_op.author());
  s.BindInt(3, grant_op.scope().epoch());
  std::vector<pb::OpBody> removals;
  ESTELIK_RETURN_IF_ERROR(sql::ForEachRow(s, [&](const sql::Stmt& row) -> Status {
    pb::Envelope env;
    if (!env.ParseFromString(row.Blob(0))) return Corrupt("stored envelope is unreadable");
    ESTELIK_ASSIGN_OR_RETURN(pb::Op op, ParseOpHeader(env.op()));
    // One that does not open is refused when it is read (OpenBody); it teaches nothing.
    Result<pb::OpBody> body = DecryptBody(op, key);
    if (body.ok() && body->has_member_remove() && CheckMembershipShape(op, *body).ok()) {
      removals.push_back(*std::move(body));
    }
    return Status::Ok();
  }));
  for (const auto& body : removals) ESTELIK_RETURN_IF_ERROR(RecordCut(body));
  return Status::Ok();
}

// Structural checks of a membership body against its op, independent of what we know.
Status OpLog::Impl::CheckMembershipShape(const pb::Op& op, const pb::OpBody& body) {
  const pb::CircleMembership* m = MembershipOf(body);
  if (m->circle_id() != op.scope().circle_id() || m->epoch() != op.scope().epoch() ||
      m->admin() != op.author()) {
    return PermissionDenied("membership op by " + ShortId(op.author()) +
                            " does not match its circle, epoch or admin");
  }
  if (m->salt().size() != kCircleSaltSize || CircleIdFor(m->admin(), m->salt()) != m->circle_id()) {
    return PermissionDenied("circle id " + ShortId(m->circle_id()) + " does not belong to admin " +
                            ShortId(m->admin()));
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
Status OpLog::Impl::Authorize(const pb::Op& op, const pb::OpBody& body, const CircleRow& circle) {
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
        return PermissionDenied(ShortId(op.author()) + " is not the admin of circle " +
                                ShortId(id) + "; only the admin adds or removes members");
      }
      return CheckMembershipShape(op, body);
    default: {
      ESTELIK_ASSIGN_OR_RETURN(bool member, IsMember(id, op.scope().epoch(), op.author()));
      if (!member) {
        return PermissionDenied(ShortId(op.author()) + " is not a member of circle " + ShortId(id) +
                                " epoch " + std::to_string(op.scope().epoch()));
      }
      return Status::Ok();
    }
  }
}

// The cut `op` lies past, if any: a removal of its author from the op's circle, in a later
// epoch than the op's, that kept only seqs up to the cut. Such an op is void: stored and
// forwarded (the author's chain stays whole) but never applied or opened.
Result<std::optional<uint64_t>> OpLog::Impl::CutPassed(const pb::Op& op) {
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h,
      stmts.Get(
          "SELECT cut FROM log_cuts WHERE circle_id = ? AND member = ? AND cut < ? AND epoch > ? "
          "ORDER BY cut LIMIT 1"));
  Stmt& s = *s_h;
  s.BindBlob(1, op.scope().circle_id()).BindBlob(2, op.author());
  s.BindInt(3, static_cast<int64_t>(op.seq())).BindInt(4, op.scope().epoch());
  ESTELIK_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<uint64_t>();
  return std::optional<uint64_t>(static_cast<uint64_t>(s.Int(0)));
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
                    {SealGrant(identity_.x25519_public_key(), AsBytes(id), 0, key.span())}};
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
    if (!circle) return NotFound("unknown circle " + ShortId(circle_id));
    if (circle->admin != ToString(identity_.public_key())) {
      return PermissionDenied("only the circle's admin may add members");
    }
    ESTELIK_ASSIGN_OR_RETURN(auto members, impl_->Members(circle_id, circle->epoch));
    if (std::find(members.begin(), members.end(), ToString(member)) != members.end()) {
      return AlreadyExists("already a member of circle " + ShortId(circle_id));
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
                    {SealGrant(member_x, AsBytes(circle_id), circle->epoch, key->span())}};
    return AppendLocked(*impl_, identity_, clock_, spec, physical_ms);
  });
}

Result<pb::Envelope> OpLog::RemoveMember(const std::string& circle_id, const PublicKey& member,
                                         uint64_t physical_ms) {
  return Transact(impl_->db, clock_, [&]() -> Result<pb::Envelope> {
    ESTELIK_ASSIGN_OR_RETURN(auto circle, impl_->LoadCircle(circle_id));
    if (!circle) return NotFound("unknown circle " + ShortId(circle_id));
    if (circle->admin != ToString(identity_.public_key())) {
      return PermissionDenied("only the circle's admin may remove members");
    }
    if (ToString(member) == circle->admin) {
      return InvalidArgument("the admin cannot remove themselves from their circle");
    }
    ESTELIK_ASSIGN_OR_RETURN(auto members, impl_->Members(circle_id, circle->epoch));
    auto it = std::find(members.begin(), members.end(), ToString(member));
    if (it == members.end()) return NotFound("not a member of circle " + ShortId(circle_id));
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
      ESTELIK_ASSIGN_OR_RETURN(PublicKey x, X25519FromEd25519(AsBytes(k)));
      spec.grants.push_back(SealGrant(x, AsBytes(circle_id), epoch, key.span()));
    }
    return AppendLocked(*impl_, identity_, clock_, spec, physical_ms);
  });
}

Status OpLog::CarryCircle(const std::string& circle_id) {
  if (circle_id.size() != kCircleIdSize) return InvalidArgument("circle id must be 32 bytes");
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h,
      impl_->stmts.Get(
          "INSERT OR IGNORE INTO log_circles(circle_id, admin, carrier_only) VALUES(?, NULL, 1)"));
  Stmt& s = *s_h;
  s.BindBlob(1, circle_id);
  return s.Run();
}

Result<CircleInfo> OpLog::GetCircle(const std::string& circle_id) {
  ESTELIK_ASSIGN_OR_RETURN(auto circle, impl_->LoadCircle(circle_id));
  if (!circle) return NotFound("unknown circle " + ShortId(circle_id));
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
  ESTELIK_ASSIGN_OR_RETURN(
      auto s_h, impl_->stmts.Get("SELECT circle_id FROM log_circles ORDER BY circle_id"));
  Stmt& s = *s_h;
  std::vector<std::string> ids;
  ESTELIK_RETURN_IF_ERROR(
      sql::ForEachRow(s, [&](const sql::Stmt& row) { ids.push_back(row.Blob(0)); }));
  return ids;
}

}  // namespace estelik::log
