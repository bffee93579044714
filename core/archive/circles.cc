// The Archive's circle side: contacts, circles, sharing, and what a peer shares with us.
// Applying ops (the merge rules) is in merge.cc; receiving a batch in receive.cc.
#include <sodium.h>

#include <algorithm>

#include "core/archive/archive.h"
#include "core/archive/archive_internal.h"
#include "core/bytes.h"
#include "core/ids.h"
#include "core/log/op_codec.h"
#include "core/sql/transaction.h"

namespace estelik::archive {
namespace {

using sql::Transaction;

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
    return PermissionDenied("we are not a member of circle " + ShortId(circle_id));
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

Status Archive::PutChunks(std::string_view attachment_id, std::span<const SealedChunk> chunks) {
  // One transaction (one fsync) for the run instead of one per 64 KiB chunk.
  ESTELIK_ASSIGN_OR_RETURN(store::Store::Batch batch, store_->BeginBatch());
  Status stored = Status::Ok();
  for (const SealedChunk& chunk : chunks) {
    stored = store_->PutChunk(attachment_id, chunk.index, chunk.sealed);
    if (!stored.ok()) break;
  }
  // A rejected chunk changed nothing (PutChunk's own savepoint); the ones before it are
  // authentic and kept. A whole attachment that failed its content hash discarded its chunks,
  // and that must stick too, so the next session starts the transfer over.
  ESTELIK_RETURN_IF_ERROR(batch.Commit());
  return stored;
}

}  // namespace estelik::archive
