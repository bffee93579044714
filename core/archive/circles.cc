// The Archive's circle side: contacts, circles, sharing, and applying ops received from peers.
//
// Materialization rules (docs/FORMAT.md "Ops and envelopes", Merge): only the author of a
// testimony may create, edit or withdraw it, and within one author's chain ops are applied in
// seq order, so every replica applies the same edits in the same order whatever order the
// *authors'* runs arrived in; withdrawals win; tags and annotations are add-wins sets. An op
// the store refuses (an edit of someone else's testimony) is rejected as a whole: the log does
// not keep it either. Local changes take the same path (Archive::AppendAndApply), which is
// what lets Archive::Rebuild re-derive the store from the log alone.
#include <sodium.h>

#include <algorithm>
#include <map>

#include "core/archive/archive.h"
#include "core/archive/archive_internal.h"
#include "core/archive/scope_fields.h"
#include "core/archive/text_delta.h"
#include "core/log/op_codec.h"
#include "core/store/sqlite_util.h"

namespace estelik::archive {
namespace {

using store::internal::Hex;
using store::internal::Transaction;

bool Contains(const std::vector<log::PublicKey>& keys, const log::PublicKey& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// Given how looking up the testimony a circle op is about went (`lookup`): ok(true) when the
// op is to be skipped because we do not hold the testimony and cannot: its author's chain in
// the circle holds an op we do not apply (sealed with an epoch key we were never granted, as
// for a member added after a removal; or void past the author's removal cut, as for a member
// re-added after sharing while removed), which is how the testimony came into the circle. The
// op is authentic and stays in the log; there is nothing to apply it to. Whether the chain
// holds such an op does not depend on the order ops arrived in (a cut is known before any op
// of a later epoch of the removed author can be read), so every replica and a rebuild decide
// alike. ok(false) when the lookup succeeded; otherwise its error (a private
// op, or an author whose every earlier op we read, about a testimony we do not hold).
Result<bool> AboutUnreadTestimony(log::OpLog& log, const pb::Op& op, const Status& lookup) {
  if (lookup.ok()) return false;
  if (lookup.code() != Code::kNotFound || op.scope().circle_id().empty()) return lookup;
  ESTELIK_ASSIGN_OR_RETURN(bool unread,
                           log.HoldsUnappliedOpBefore(log::Scope::Circle(op.scope().circle_id()),
                                                      op.author(), op.seq()));
  if (!unread) return lookup;
  return true;
}

}  // namespace

Status Archive::AddContact(const log::PublicKey& key, const std::string& name) {
  return log_->AddContact(key, name, WallClockMs()).status();
}

Status Archive::RemoveContact(const log::PublicKey& key) {
  return log_->RemoveContact(key, WallClockMs()).status();
}

Result<std::string> Archive::CreateCircle(const std::string& name) {
  ESTELIK_ASSIGN_OR_RETURN(auto created, log_->CreateCircle(name, WallClockMs()));
  return created.circle_id;
}

Status Archive::AddCircleMember(const std::string& circle_id, const log::PublicKey& member) {
  ESTELIK_ASSIGN_OR_RETURN(std::vector<log::Contact> contacts, log_->Contacts());
  bool known = std::any_of(contacts.begin(), contacts.end(),
                           [&](const log::Contact& c) { return c.public_key == member; });
  if (!known) return InvalidArgument("add " + log::Fingerprint(member) + " as a contact first");
  return log_->AddMember(circle_id, member, WallClockMs()).status();
}

Status Archive::RemoveCircleMember(const std::string& circle_id, const log::PublicKey& member) {
  return log_->RemoveMember(circle_id, member, WallClockMs()).status();
}

Result<std::vector<log::CircleInfo>> Archive::Circles() {
  ESTELIK_ASSIGN_OR_RETURN(std::vector<std::string> ids, log_->ListCircles());
  std::vector<log::CircleInfo> circles;
  for (const auto& id : ids) {
    ESTELIK_ASSIGN_OR_RETURN(log::CircleInfo info, log_->GetCircle(id));
    circles.push_back(std::move(info));
  }
  return circles;
}

Result<log::Scope> Archive::ScopeFor(std::string_view testimony_id) {
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, store_->Get(testimony_id));
  if (t.fields().consent_scope() != pb::CONSENT_SCOPE_CIRCLE || t.fields().circle_id().empty()) {
    return log::Scope::Private();
  }
  return log::Scope::Circle(t.fields().circle_id());
}

Status Archive::Share(std::string_view testimony_id, const std::string& circle_id) {
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, store_->Get(testimony_id));
  if (t.author() != AuthorBytes(identity())) {
    return PermissionDenied("only the author may share a testimony");
  }
  if (t.withdrawn()) return InvalidArgument("a withdrawn testimony cannot be shared");
  ESTELIK_ASSIGN_OR_RETURN(log::CircleInfo circle, log_->GetCircle(circle_id));
  if (circle.carrier_only || !Contains(circle.members, identity().public_key())) {
    return PermissionDenied("we are not a member of circle " + Hex(circle_id).substr(0, 8));
  }
  if (t.fields().consent_scope() == pb::CONSENT_SCOPE_CIRCLE &&
      t.fields().circle_id() == circle_id) {
    return Status::Ok();  // already there
  }
  if (t.fields().consent_scope() == pb::CONSENT_SCOPE_CIRCLE) {
    return InvalidArgument("the testimony is already shared in another circle");
  }
  ESTELIK_ASSIGN_OR_RETURN(crypto::SecretBytes key, store_->TestimonyContentKey(testimony_id));
  pb::TestimonyFields fields = t.fields();
  fields.set_consent_scope(pb::CONSENT_SCOPE_CIRCLE);
  fields.set_circle_id(circle_id);

  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(vault_->db()));
  // The local history records the decision to share as a version of its own.
  ESTELIK_RETURN_IF_ERROR(
      AppendAndApply(EditOpBody(*store_, *log_, log::Scope::Private(), t, fields),
                     log::Scope::Private())
          .status());

  pb::OpBody share;
  auto* s = share.mutable_share_into_circle();
  s->set_testimony_id(t.id());
  *s->mutable_fields() = fields;
  *s->mutable_attachments() = t.attachments();
  s->set_recorded_unix_ms(t.recorded_unix_ms());
  s->set_content_key(std::string(reinterpret_cast<const char*>(key.data()), key.size()));
  *s->mutable_created() = t.created();
  Status appended = AppendAndApply(share, log::Scope::Circle(circle_id)).status();
  sodium_memzero(s->mutable_content_key()->data(), s->content_key().size());
  ESTELIK_RETURN_IF_ERROR(appended);
  return tx.Commit();
}

Status Archive::Materialize(const pb::Envelope& envelope) {
  Result<pb::OpBody> opened = log_->OpenBody(envelope);
  if (!opened.ok()) {
    // A relay (or a removed member) holds ops it cannot read; it stores and forwards them.
    if (opened.status().code() == Code::kPermissionDenied) return Status::Ok();
    return opened.status();
  }
  ESTELIK_ASSIGN_OR_RETURN(pb::Op op, log::ParseOpHeader(envelope.op()));
  RestoreScopeCircle(*opened, op.scope().circle_id());
  const log::OpHash hash = log::HashOpBytes(envelope.op());
  return Apply(op, std::string(reinterpret_cast<const char*>(hash.data()), hash.size()), *opened,
               nullptr);
}

Status Archive::ApplyShare(const pb::Op& op, const std::string& hash,
                           const pb::ShareIntoCircle& s) {
  if (op.scope().circle_id().empty()) {
    return InvalidArgument("sharing into a circle needs the circle's scope");
  }
  if (s.content_key().size() != store::kContentKeySize) {
    return Corrupt("shared testimony " + Hex(s.testimony_id()) + " has no valid content key");
  }
  store::NewTestimony t;
  t.id = s.testimony_id();
  t.author = op.author();
  t.created = s.has_created() ? s.created() : op.hlc();
  t.recorded_unix_ms = s.recorded_unix_ms();
  t.fields = s.fields();
  Result<pb::Testimony> existing = store_->Get(t.id);
  if (existing.ok()) {
    if (existing->author() != op.author()) {
      return PermissionDenied("op shares testimony " + Hex(t.id) + " of another author");
    }
    if (existing->withdrawn()) return Status::Ok();  // tombstones win
    if (existing->fields().SerializeAsString() != t.fields.SerializeAsString()) {
      ESTELIK_ASSIGN_OR_RETURN(uint32_t version,
                               store_->EditTestimony(t.id, op.author(), op.hlc(), t.fields));
      ESTELIK_RETURN_IF_ERROR(store_->SetVersionOp(t.id, version, hash));
    } else {
      // The author's own share: its current version is now known to the circle by this op,
      // so the next edit names it as its base (peers never see the private edit).
      ESTELIK_RETURN_IF_ERROR(store_->SetVersionOp(t.id, existing->current_version(), hash));
    }
  } else if (existing.status().code() == Code::kNotFound) {
    ESTELIK_RETURN_IF_ERROR(
        store_->CreateTestimony(t, crypto::SecretBytes::CopyOf(log::Bytes(s.content_key()))));
    ESTELIK_RETURN_IF_ERROR(store_->SetVersionOp(t.id, 1, hash));
  } else {
    return existing.status();
  }
  for (const auto& info : s.attachments()) {
    if (info.testimony_id() != t.id) {
      return PermissionDenied("shared testimony " + Hex(t.id) + " lists another's attachment");
    }
    ESTELIK_RETURN_IF_ERROR(store_->RestoreAttachment(info));
  }
  // Tags members added before the share reached us count from now on.
  return store_->RefreshTagTerms(t.id);
}

// The merge rules. Within one author's chain ops arrive in seq order; across authors in any
// order, so every rule here gives the same state whatever the interleaving:
// - only a testimony's author creates, edits, withdraws it or adds its attachments;
// - a withdrawal wins: anything about a withdrawn testimony arriving later is ignored;
// - tags and annotations are recorded whatever arrives first (see store_tags.cc).
Status Archive::Apply(const pb::Op& op, const std::string& hash, const pb::OpBody& body,
                      RebuildState* rebuild) {
  const bool is_private = op.scope().circle_id().empty();
  // Private ops that carry a testimony's content, for redaction at its withdrawal.
  auto carries = [&](const std::string& id) -> Status {
    return is_private ? store_->RecordOpSubject(hash, id) : Status::Ok();
  };
  // The testimony an op is about; ok(false) when it is withdrawn (the op is ignored).
  auto live = [&](const std::string& id, bool author_only) -> Result<bool> {
    ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, store_->Get(id));
    if (author_only && t.author() != op.author()) {
      return PermissionDenied("only the author may change testimony " + Hex(id));
    }
    return !t.withdrawn();
  };
  switch (body.mutation_case()) {
    case pb::OpBody::kTestimonyCreate: {
      const auto& c = body.testimony_create();
      if (!is_private) {
        return PermissionDenied("testimonies are created in the private log, then shared");
      }
      store::NewTestimony t;
      t.id = c.testimony_id();
      t.author = op.author();
      t.created = op.hlc();
      t.recorded_unix_ms = c.recorded_unix_ms();
      t.fields = c.fields();
      crypto::SecretBytes key;
      if (c.content_key().size() == store::kContentKeySize) {
        key = crypto::SecretBytes::CopyOf(log::Bytes(c.content_key()));
      } else if (auto it = rebuild ? rebuild->legacy_keys.find(t.id)
                                   : std::map<std::string, crypto::SecretBytes>::iterator();
                 rebuild && it != rebuild->legacy_keys.end()) {
        key = std::move(it->second);
      } else {
        // A create written before creates carried the key, of a testimony since withdrawn:
        // its attachments are gone, any key will do.
        key = crypto::SecretBytes::Random(store::kContentKeySize);
      }
      ESTELIK_RETURN_IF_ERROR(store_->CreateTestimony(t, key));
      ESTELIK_RETURN_IF_ERROR(store_->SetVersionOp(t.id, 1, hash));
      return carries(t.id);
    }
    case pb::OpBody::kTestimonyEdit: {
      const auto& e = body.testimony_edit();
      Result<bool> open = live(e.testimony_id(), true);
      ESTELIK_ASSIGN_OR_RETURN(bool unread, AboutUnreadTestimony(*log_, op, open.status()));
      if (unread || !*open) return Status::Ok();
      // A text delta applies to the body of the version base_op made. Only the author edits
      // and one author's ops apply in chain order (rebuild: HLC order, monotonic per author),
      // so that version is the current one here; base_body_hash turns any divergence into an
      // error instead of wrong text (docs/FORMAT.md "Testimony edits and text deltas").
      std::string base_body;
      if (e.has_body_delta()) {
        ESTELIK_ASSIGN_OR_RETURN(pb::Testimony current, store_->Get(e.testimony_id()));
        base_body = std::move(*current.mutable_fields()->mutable_body());
      }
      ESTELIK_ASSIGN_OR_RETURN(pb::TestimonyFields fields, ResolveEditFields(e, base_body));
      ESTELIK_ASSIGN_OR_RETURN(
          uint32_t version, store_->EditTestimony(e.testimony_id(), op.author(), op.hlc(), fields));
      ESTELIK_RETURN_IF_ERROR(store_->SetVersionOp(e.testimony_id(), version, hash));
      ESTELIK_RETURN_IF_ERROR(store_->RefreshTagTerms(e.testimony_id()));
      return carries(e.testimony_id());
    }
    case pb::OpBody::kTestimonyWithdraw: {
      const auto& w = body.testimony_withdraw();
      if (!w.tombstone_hash().empty() && w.tombstone_hash().size() != store::kHashSize) {
        return Corrupt("withdrawal of " + Hex(w.testimony_id()) + " has a malformed tombstone");
      }
      Result<pb::Testimony> t = store_->Get(w.testimony_id());
      if (!t.ok()) {
        auto redacted = rebuild
                            ? rebuild->redacted.find(w.testimony_id())
                            : std::map<std::string, std::pair<std::string, pb::Hlc>>::iterator();
        if (t.status().code() == Code::kNotFound && rebuild &&
            redacted != rebuild->redacted.end() && redacted->second.first == op.author() &&
            w.tombstone_hash().size() == store::kHashSize) {
          // Its content ops were redacted: only the tombstone remains to rebuild.
          return store_->PutTombstone(w.testimony_id(), op.author(), redacted->second.second,
                                      op.hlc(), w.tombstone_hash());
        }
        ESTELIK_ASSIGN_OR_RETURN(bool unread, AboutUnreadTestimony(*log_, op, t.status()));
        if (unread) return Status::Ok();
        return t.status();
      }
      if (t->author() != op.author()) {
        return PermissionDenied("only the author may withdraw testimony " + Hex(w.testimony_id()));
      }
      if (t->withdrawn()) return Status::Ok();
      ESTELIK_RETURN_IF_ERROR(
          store_->Withdraw(w.testimony_id(), op.author(), op.hlc(), w.tombstone_hash()));
      return RedactContentOf(w.testimony_id());
    }
    case pb::OpBody::kAttachmentAdd: {
      const auto& info = body.attachment_add().info();
      Result<bool> open = live(info.testimony_id(), true);
      ESTELIK_ASSIGN_OR_RETURN(bool unread, AboutUnreadTestimony(*log_, op, open.status()));
      if (unread || !*open) return Status::Ok();
      ESTELIK_RETURN_IF_ERROR(store_->RestoreAttachment(info));
      return carries(info.testimony_id());
    }
    case pb::OpBody::kShareIntoCircle:
      return ApplyShare(op, hash, body.share_into_circle());
    case pb::OpBody::kTagAdd: {
      // The log checked that a circle op's author is a member of the circle's epoch; a tag
      // posted in another circle than the testimony's is kept but never counts.
      const auto& a = body.tag_add();
      store::Store::TagAddRecord record{hash,        a.testimony_id(), op.scope().circle_id(),
                                        op.author(), a.tag(),          op.hlc()};
      ESTELIK_RETURN_IF_ERROR(store_->AddTag(record));
      return carries(a.testimony_id());
    }
    case pb::OpBody::kTagRemove: {
      const auto& r = body.tag_remove();
      std::vector<std::string> observed(r.observed_adds().begin(), r.observed_adds().end());
      ESTELIK_RETURN_IF_ERROR(store_->RemoveTagAdds(r.testimony_id(), observed));
      return carries(r.testimony_id());
    }
    case pb::OpBody::kAnnotationAdd: {
      const auto& a = body.annotation_add();
      store::Store::AnnotationRecord record;
      record.op_hash = hash;
      record.testimony_id = a.testimony_id();
      record.scope = op.scope().circle_id();
      record.annotation.set_annotation_id(a.annotation_id());
      record.annotation.set_author(op.author());
      record.annotation.set_text(a.text());
      record.annotation.set_language(a.language());
      *record.annotation.mutable_added() = op.hlc();
      ESTELIK_RETURN_IF_ERROR(store_->AddAnnotation(record));
      return carries(a.testimony_id());
    }
    default:
      // Membership and contact ops are the log's own business.
      return Status::Ok();
  }
}

Result<std::vector<std::string>> Archive::SharedCircles(const log::PublicKey& peer) {
  ESTELIK_ASSIGN_OR_RETURN(std::vector<log::CircleInfo> circles, Circles());
  std::vector<std::string> shared;
  for (const auto& c : circles) {
    bool peer_in = Contains(c.members, peer);
    bool me_in = c.carrier_only || Contains(c.members, identity().public_key());
    if (peer_in && me_in) shared.push_back(c.circle_id);
  }
  return shared;
}

Result<std::vector<pb::AttachmentInfo>> Archive::CircleAttachments(const std::string& circle_id) {
  std::vector<pb::AttachmentInfo> out;
  pb::ListFilter filter;
  filter.add_scopes(pb::CONSENT_SCOPE_CIRCLE);
  pb::PageRequest page;
  page.set_limit(500);
  for (;;) {
    ESTELIK_ASSIGN_OR_RETURN(pb::TestimonyPage result, store_->List(filter, page));
    for (const auto& t : result.testimonies()) {
      if (t.fields().circle_id() != circle_id) continue;
      for (const auto& a : t.attachments()) out.push_back(a);
      ESTELIK_ASSIGN_OR_RETURN(auto receiving, store_->ReceivingAttachments(t.id()));
      for (auto& a : receiving) out.push_back(std::move(a));
    }
    if (result.next_cursor().empty()) break;
    page.set_cursor(result.next_cursor());
  }
  return out;
}

}  // namespace estelik::archive
