// The merge rules (docs/FORMAT.md "Merge"): how one op that joined its author's chain changes
// the store. Within one author's chain ops arrive in seq order; across authors in any order,
// so every rule here gives the same state whatever the interleaving:
// - only a testimony's author creates, edits, withdraws it or adds its attachments;
// - a withdrawal wins: anything about a withdrawn testimony arriving later is ignored;
// - tags and annotations are add-wins sets, recorded whatever arrives first
// (store_tags_annotations.cc);
// - a circle op about a testimony we cannot hold (its share is unreadable or void) is skipped.
// An op the store refuses (an edit of someone else's testimony) is rejected as a whole: the
// log does not keep it either. Local changes take the same path (Archive::AppendAndApply),
// which is what lets Archive::Rebuild re-derive the store from the log alone.
#include <map>

#include "core/archive/archive.h"
#include "core/archive/scope_fields.h"
#include "core/archive/text_delta.h"
#include "core/bytes.h"
#include "core/log/op_codec.h"

namespace estelik::archive {
namespace {

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
        store_->CreateTestimony(t, crypto::SecretBytes::CopyOf(AsBytes(s.content_key()))));
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

Status Archive::Apply(const pb::Op& op, const std::string& hash, const pb::OpBody& body,
                      RebuildState* rebuild) {
  const Applying a{op, hash, rebuild};
  switch (body.mutation_case()) {
    case pb::OpBody::kTestimonyCreate:
      return ApplyCreate(a, body.testimony_create());
    case pb::OpBody::kTestimonyEdit:
      return ApplyEdit(a, body.testimony_edit());
    case pb::OpBody::kTestimonyWithdraw:
      return ApplyWithdraw(a, body.testimony_withdraw());
    case pb::OpBody::kAttachmentAdd:
      return ApplyAttachmentAdd(a, body.attachment_add().info());
    case pb::OpBody::kShareIntoCircle:
      return ApplyShare(op, hash, body.share_into_circle());
    case pb::OpBody::kTagAdd:
      return ApplyTagAdd(a, body.tag_add());
    case pb::OpBody::kTagRemove:
      return ApplyTagRemove(a, body.tag_remove());
    case pb::OpBody::kAnnotationAdd:
      return ApplyAnnotationAdd(a, body.annotation_add());
    default:
      // Membership and contact ops are the log's own business.
      return Status::Ok();
  }
}

// Private ops that carry a testimony's content are recorded for redaction at its withdrawal.
Status Archive::RecordCarrier(const Applying& a, const std::string& testimony_id) {
  if (!a.op.scope().circle_id().empty()) return Status::Ok();
  return store_->RecordOpSubject(a.hash, testimony_id);
}

// The testimony an op is about: ok(false) when it is withdrawn (the op is ignored); with
// `author_only`, PermissionDenied unless the op's author wrote it.
Result<bool> Archive::LiveTestimony(const Applying& a, const std::string& id, bool author_only) {
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, store_->Get(id));
  if (author_only && t.author() != a.op.author()) {
    return PermissionDenied("only the author may change testimony " + Hex(id));
  }
  return !t.withdrawn();
}

Status Archive::ApplyCreate(const Applying& a, const pb::TestimonyCreate& c) {
  if (!a.op.scope().circle_id().empty()) {
    return PermissionDenied("testimonies are created in the private log, then shared");
  }
  store::NewTestimony t;
  t.id = c.testimony_id();
  t.author = a.op.author();
  t.created = a.op.hlc();
  t.recorded_unix_ms = c.recorded_unix_ms();
  t.fields = c.fields();
  crypto::SecretBytes key;
  if (c.content_key().size() == store::kContentKeySize) {
    key = crypto::SecretBytes::CopyOf(AsBytes(c.content_key()));
  } else if (auto it = a.rebuild ? a.rebuild->legacy_keys.find(t.id)
                                 : std::map<std::string, crypto::SecretBytes>::iterator();
             a.rebuild && it != a.rebuild->legacy_keys.end()) {
    key = std::move(it->second);
  } else {
    // A create written before creates carried the key, of a testimony since withdrawn: its
    // attachments are gone, any key will do.
    key = crypto::SecretBytes::Random(store::kContentKeySize);
  }
  ESTELIK_RETURN_IF_ERROR(store_->CreateTestimony(t, key));
  ESTELIK_RETURN_IF_ERROR(store_->SetVersionOp(t.id, 1, a.hash));
  return RecordCarrier(a, t.id);
}

// A text delta applies to the body of the version base_op made. Only the author edits and one
// author's ops apply in chain order (rebuild: HLC order, monotonic per author), so that version
// is the current one here; base_body_hash turns any divergence into an error instead of wrong
// text (docs/FORMAT.md "Testimony edits and text deltas").
Status Archive::ApplyEdit(const Applying& a, const pb::TestimonyEdit& e) {
  Result<bool> open = LiveTestimony(a, e.testimony_id(), true);
  ESTELIK_ASSIGN_OR_RETURN(bool unread, AboutUnreadTestimony(*log_, a.op, open.status()));
  if (unread || !*open) return Status::Ok();
  std::string base_body;
  if (e.has_body_delta()) {
    ESTELIK_ASSIGN_OR_RETURN(pb::Testimony current, store_->Get(e.testimony_id()));
    base_body = std::move(*current.mutable_fields()->mutable_body());
  }
  ESTELIK_ASSIGN_OR_RETURN(pb::TestimonyFields fields, ResolveEditFields(e, base_body));
  ESTELIK_ASSIGN_OR_RETURN(
      uint32_t version, store_->EditTestimony(e.testimony_id(), a.op.author(), a.op.hlc(), fields));
  ESTELIK_RETURN_IF_ERROR(store_->SetVersionOp(e.testimony_id(), version, a.hash));
  ESTELIK_RETURN_IF_ERROR(store_->RefreshTagTerms(e.testimony_id()));
  return RecordCarrier(a, e.testimony_id());
}

Status Archive::ApplyWithdraw(const Applying& a, const pb::TestimonyWithdraw& w) {
  if (!w.tombstone_hash().empty() && w.tombstone_hash().size() != store::kHashSize) {
    return Corrupt("withdrawal of " + Hex(w.testimony_id()) + " has a malformed tombstone");
  }
  Result<pb::Testimony> t = store_->Get(w.testimony_id());
  if (!t.ok()) return WithdrawUnheld(a, w, t.status());
  if (t->author() != a.op.author()) {
    return PermissionDenied("only the author may withdraw testimony " + Hex(w.testimony_id()));
  }
  if (t->withdrawn()) return Status::Ok();
  ESTELIK_RETURN_IF_ERROR(
      store_->Withdraw(w.testimony_id(), a.op.author(), a.op.hlc(), w.tombstone_hash()));
  return RedactContentOf(w.testimony_id());
}

// A withdrawal of a testimony we do not hold: in a rebuild, one whose content ops were
// redacted leaves its tombstone; one whose share we cannot read is skipped; otherwise the
// lookup's error.
Status Archive::WithdrawUnheld(const Applying& a, const pb::TestimonyWithdraw& w,
                               const Status& lookup) {
  if (lookup.code() == Code::kNotFound && a.rebuild != nullptr &&
      w.tombstone_hash().size() == store::kHashSize) {
    auto redacted = a.rebuild->redacted.find(w.testimony_id());
    if (redacted != a.rebuild->redacted.end() && redacted->second.first == a.op.author()) {
      return store_->PutTombstone(w.testimony_id(), a.op.author(), redacted->second.second,
                                  a.op.hlc(), w.tombstone_hash());
    }
  }
  ESTELIK_ASSIGN_OR_RETURN(bool unread, AboutUnreadTestimony(*log_, a.op, lookup));
  if (unread) return Status::Ok();
  return lookup;
}

Status Archive::ApplyAttachmentAdd(const Applying& a, const pb::AttachmentInfo& info) {
  Result<bool> open = LiveTestimony(a, info.testimony_id(), true);
  ESTELIK_ASSIGN_OR_RETURN(bool unread, AboutUnreadTestimony(*log_, a.op, open.status()));
  if (unread || !*open) return Status::Ok();
  ESTELIK_RETURN_IF_ERROR(store_->RestoreAttachment(info));
  return RecordCarrier(a, info.testimony_id());
}

// The log checked that a circle op's author is a member of the circle's epoch; a tag posted in
// another circle than the testimony's is kept but never counts.
Status Archive::ApplyTagAdd(const Applying& a, const pb::TagAdd& t) {
  store::Store::TagAddRecord record{a.hash,        t.testimony_id(), a.op.scope().circle_id(),
                                    a.op.author(), t.tag(),          a.op.hlc()};
  ESTELIK_RETURN_IF_ERROR(store_->AddTag(record));
  return RecordCarrier(a, t.testimony_id());
}

Status Archive::ApplyTagRemove(const Applying& a, const pb::TagRemove& r) {
  std::vector<std::string> observed(r.observed_adds().begin(), r.observed_adds().end());
  ESTELIK_RETURN_IF_ERROR(store_->RemoveTagAdds(r.testimony_id(), observed));
  return RecordCarrier(a, r.testimony_id());
}

Status Archive::ApplyAnnotationAdd(const Applying& a, const pb::AnnotationAdd& n) {
  store::Store::AnnotationRecord record;
  record.op_hash = a.hash;
  record.testimony_id = n.testimony_id();
  record.scope = a.op.scope().circle_id();
  record.annotation.set_annotation_id(n.annotation_id());
  record.annotation.set_author(a.op.author());
  record.annotation.set_text(n.text());
  record.annotation.set_language(n.language());
  *record.annotation.mutable_added() = a.op.hlc();
  ESTELIK_RETURN_IF_ERROR(store_->AddAnnotation(record));
  return RecordCarrier(a, n.testimony_id());
}

}  // namespace estelik::archive
