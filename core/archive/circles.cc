// The Archive's circle side: contacts, circles, sharing, and applying ops received from peers.
//
// Materialization rules (docs/FORMAT.md "Ops and envelopes"): only the author of a testimony
// may create, edit or withdraw it, and within one author's chain ops are applied in seq
// order, so every replica applies the same edits in the same order whatever order the
// *authors'* runs arrived in. An op the store refuses (an edit of someone else's testimony)
// is rejected as a whole: the log does not keep it either.
#include <algorithm>

#include "core/archive/archive.h"
#include "core/archive/archive_internal.h"
#include "core/log/op_codec.h"
#include "core/store/sqlite_util.h"

namespace estelik::archive {
namespace {

using store::internal::Hex;
using store::internal::Transaction;

bool Contains(const std::vector<log::PublicKey>& keys, const log::PublicKey& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
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

Result<pb::Hlc> Archive::AppendForTestimony(std::string_view testimony_id, const pb::OpBody& body) {
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, store_->Get(testimony_id));
  if (t.fields().consent_scope() != pb::CONSENT_SCOPE_CIRCLE || t.fields().circle_id().empty()) {
    return AppendPrivate(body);
  }
  ESTELIK_ASSIGN_OR_RETURN(
      pb::Envelope envelope,
      log_->Append(body, log::Scope::Circle(t.fields().circle_id()), WallClockMs()));
  ESTELIK_ASSIGN_OR_RETURN(pb::Op op, log::ParseOpHeader(envelope.op()));
  return op.hlc();
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
  pb::OpBody edit;
  edit.mutable_testimony_edit()->set_testimony_id(t.id());
  *edit.mutable_testimony_edit()->mutable_fields() = fields;
  ESTELIK_ASSIGN_OR_RETURN(pb::Hlc hlc, AppendPrivate(edit));
  ESTELIK_RETURN_IF_ERROR(store_->EditTestimony(t.id(), t.author(), hlc, fields).status());

  pb::OpBody share;
  auto* s = share.mutable_share_into_circle();
  s->set_testimony_id(t.id());
  *s->mutable_fields() = fields;
  *s->mutable_attachments() = t.attachments();
  s->set_recorded_unix_ms(t.recorded_unix_ms());
  s->set_content_key(std::string(reinterpret_cast<const char*>(key.data()), key.size()));
  *s->mutable_created() = t.created();
  ESTELIK_RETURN_IF_ERROR(
      log_->Append(share, log::Scope::Circle(circle_id), WallClockMs()).status());
  return tx.Commit();
}

Status Archive::Materialize(const pb::Envelope& envelope) {
  Result<pb::OpBody> opened = log_->OpenBody(envelope);
  if (!opened.ok()) {
    // A relay (or a removed member) holds ops it cannot read; it stores and forwards them.
    if (opened.status().code() == Code::kPermissionDenied) return Status::Ok();
    return opened.status();
  }
  const pb::OpBody& body = *opened;
  ESTELIK_ASSIGN_OR_RETURN(pb::Op op, log::ParseOpHeader(envelope.op()));
  switch (body.mutation_case()) {
    case pb::OpBody::kShareIntoCircle: {
      const auto& s = body.share_into_circle();
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
        if (existing->fields().SerializeAsString() != t.fields.SerializeAsString()) {
          ESTELIK_RETURN_IF_ERROR(
              store_->EditTestimony(t.id, op.author(), op.hlc(), t.fields).status());
        }
      } else if (existing.status().code() == Code::kNotFound) {
        ESTELIK_RETURN_IF_ERROR(
            store_->CreateTestimony(t, crypto::SecretBytes::CopyOf(log::Bytes(s.content_key()))));
      } else {
        return existing.status();
      }
      for (const auto& info : s.attachments()) {
        ESTELIK_RETURN_IF_ERROR(store_->ExpectAttachment(info));
      }
      return Status::Ok();
    }
    case pb::OpBody::kTestimonyEdit:
      return store_
          ->EditTestimony(body.testimony_edit().testimony_id(), op.author(), op.hlc(),
                          body.testimony_edit().fields())
          .status();
    case pb::OpBody::kTestimonyWithdraw:
      return store_->Withdraw(body.testimony_withdraw().testimony_id(), op.author(), op.hlc());
    case pb::OpBody::kAttachmentAdd: {
      const auto& info = body.attachment_add().info();
      ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, store_->Get(info.testimony_id()));
      if (t.author() != op.author()) {
        return PermissionDenied("only the author may add attachments to a testimony");
      }
      return store_->ExpectAttachment(info);
    }
    default:
      // Membership ops are the log's own business; tags and annotations are not materialized
      // yet (they stay in the log, signed, for export).
      return Status::Ok();
  }
}

Result<Archive::ReceiveReport> Archive::ReceiveOps(const std::string& circle_id,
                                                   const std::vector<pb::Envelope>& envelopes) {
  ReceiveReport report;
  const log::Scope scope = log::Scope::Circle(circle_id);
  for (const auto& envelope : envelopes) {
    ESTELIK_ASSIGN_OR_RETURN(pb::Op op, log::ParseOpHeader(envelope.op()));
    if (op.scope().circle_id() != circle_id) {
      return ProtocolError("peer sent an op of another circle in a batch for circle " +
                           Hex(circle_id).substr(0, 8));
    }
    // One transaction per op: the op and everything it unblocks are applied, or nothing is.
    ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(vault_->db()));
    Result<log::VersionVector> before = log_->GetVersionVector(scope);
    log::VersionVector seen = before.ok() ? *before : log::VersionVector{};
    ESTELIK_ASSIGN_OR_RETURN(log::IngestOutcome outcome, log_->Ingest(envelope, WallClockMs()));
    switch (outcome) {
      case log::IngestOutcome::kDuplicate:
        ++report.duplicates;
        break;
      case log::IngestOutcome::kPending:
        ++report.pending;
        break;
      case log::IngestOutcome::kFork:
        ++report.forks;
        break;
      case log::IngestOutcome::kAccepted:
        break;
    }
    // Everything that joined a chain: this op and any held ops it unblocked. Not only on
    // kAccepted: a key grant to us that must itself wait for a gap (kPending) still lets the
    // ops held for the then-unknown circle join their chains, and they must be applied too.
    ESTELIK_ASSIGN_OR_RETURN(std::vector<pb::Envelope> joined,
                             log_->OpsAfter(seen, scope, SIZE_MAX));
    for (const auto& j : joined) {
      Status s = Materialize(j);
      if (!s.ok()) return Status(s.code(), "rejected op from peer: " + s.message());
    }
    report.accepted += joined.size();
    ESTELIK_RETURN_IF_ERROR(tx.Commit());
  }
  return report;
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
