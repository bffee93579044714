#include "core/archive/archive.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

#include "core/archive/archive_internal.h"
#include "core/archive/scope_fields.h"
#include "core/archive/text_delta.h"
#include "core/bytes.h"
#include "core/crypto/random.h"
#include "core/ids.h"
#include "core/log/op_codec.h"
#include "core/private_file.h"
#include "core/sql/transaction.h"

namespace estelik::archive {
namespace {

namespace fs = std::filesystem;
using sql::Transaction;

}  // namespace

std::string RandomId(size_t size) {
  std::string id(size, '\0');
  crypto::RandomFill({reinterpret_cast<uint8_t*>(id.data()), id.size()});
  return id;
}

std::string AuthorBytes(const log::Identity& identity) {
  const auto& pk = identity.public_key();
  return std::string(reinterpret_cast<const char*>(pk.data()), pk.size());
}

pb::OpBody EditOpBody(store::Store& store, log::OpLog& log, const log::Scope& scope,
                      const pb::Testimony& current, const pb::TestimonyFields& fields) {
  pb::OpBody body;
  auto* edit = body.mutable_testimony_edit();
  edit->set_testimony_id(current.id());
  // The op whose version this edit replaces, so a verifier can tell a version is missing.
  Result<std::string> base = store.VersionOp(current.id(), current.current_version());
  *edit->mutable_fields() = fields;
  if (!base.ok()) return body;
  edit->set_base_op(*base);
  if (!scope.is_private()) {
    // A member added after a removal holds only the current epoch's key, and one re-added
    // holds the text of the epoch it last read: only a base of this epoch is read by every
    // reader of this edit. Anything else (another epoch, a private base, an error) sends the
    // whole body, which is always right.
    Result<log::CircleInfo> circle = log.GetCircle(scope.circle_id);
    Result<uint32_t> base_epoch = log.OwnOpEpoch(scope, *base);
    if (!circle.ok() || !base_epoch.ok() || *base_epoch != circle->epoch) return body;
  }
  // Every replica applies this edit when the version base_op made is its current one (only
  // the author edits; one author's ops apply in chain order), so the current body is the base.
  std::optional<pb::TextDelta> delta = MakeTextDelta(current.fields().body(), fields.body());
  if (delta) {
    *edit->mutable_body_delta() = *std::move(delta);
    edit->mutable_fields()->clear_body();
  }
  return body;
}

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A media type and kind from the file extension, for when the shell does not say.
void GuessMedia(const std::string& name, NewAttachment* meta) {
  struct Known {
    const char* ext;
    const char* type;
    pb::AttachmentKind kind;
  };
  static const Known kKnown[] = {
      {".m4a", "audio/mp4", pb::ATTACHMENT_KIND_AUDIO},
      {".mp3", "audio/mpeg", pb::ATTACHMENT_KIND_AUDIO},
      {".ogg", "audio/ogg", pb::ATTACHMENT_KIND_AUDIO},
      {".opus", "audio/opus", pb::ATTACHMENT_KIND_AUDIO},
      {".wav", "audio/wav", pb::ATTACHMENT_KIND_AUDIO},
      {".mp4", "video/mp4", pb::ATTACHMENT_KIND_VIDEO},
      {".mov", "video/quicktime", pb::ATTACHMENT_KIND_VIDEO},
      {".webm", "video/webm", pb::ATTACHMENT_KIND_VIDEO},
      {".jpg", "image/jpeg", pb::ATTACHMENT_KIND_PHOTO},
      {".jpeg", "image/jpeg", pb::ATTACHMENT_KIND_PHOTO},
      {".png", "image/png", pb::ATTACHMENT_KIND_PHOTO},
      {".heic", "image/heic", pb::ATTACHMENT_KIND_PHOTO},
      {".pdf", "application/pdf", pb::ATTACHMENT_KIND_DOCUMENT},
      {".txt", "text/plain", pb::ATTACHMENT_KIND_DOCUMENT},
  };
  std::string ext = Lower(fs::path(name).extension().string());
  for (const auto& k : kKnown) {
    if (ext == k.ext) {
      if (meta->media_type.empty()) meta->media_type = k.type;
      if (meta->kind == pb::ATTACHMENT_KIND_UNSPECIFIED) meta->kind = k.kind;
      return;
    }
  }
  if (meta->media_type.empty()) meta->media_type = "application/octet-stream";
  if (meta->kind == pb::ATTACHMENT_KIND_UNSPECIFIED) meta->kind = pb::ATTACHMENT_KIND_DOCUMENT;
}

}  // namespace

uint64_t WallClockMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

Status Cancelled(std::string_view what) {
  return Status(Code::kAborted, std::string(what) + " was cancelled; nothing of it was kept");
}

Archive::Archive(std::unique_ptr<vault::Vault> vault, std::unique_ptr<store::Store> store,
                 std::unique_ptr<log::OpLog> log)
    : vault_(std::move(vault)), store_(std::move(store)), log_(std::move(log)) {}

// Store and log hold statements on the vault's connection: they go before the vault closes it.
Archive::~Archive() {
  log_.reset();
  store_.reset();
  vault_.reset();
}

Result<std::unique_ptr<Archive>> Archive::Create(const std::string& dir,
                                                 std::string_view passphrase,
                                                 const vault::VaultOptions& options) {
  ESTELIK_ASSIGN_OR_RETURN(auto vault, vault::Vault::Create(dir, passphrase, options));
  return Assemble(std::move(vault));
}

Result<std::unique_ptr<Archive>> Archive::Open(const std::string& dir,
                                               std::string_view passphrase) {
  ESTELIK_ASSIGN_OR_RETURN(auto vault, vault::Vault::Open(dir, passphrase));
  return Assemble(std::move(vault));
}

Result<std::unique_ptr<Archive>> Archive::Assemble(std::unique_ptr<vault::Vault> vault) {
  ESTELIK_ASSIGN_OR_RETURN(auto store, store::Store::Open(vault->db()));
  ESTELIK_ASSIGN_OR_RETURN(crypto::SecretBytes log_key,
                           vault->DeriveKey(kLogKeyId, kLogKeyContext));
  ESTELIK_ASSIGN_OR_RETURN(auto log, log::OpLog::Open(vault->db(), std::move(log_key)));
  return std::unique_ptr<Archive>(new Archive(std::move(vault), std::move(store), std::move(log)));
}

Status Archive::Rekey(std::unique_ptr<Archive>& archive, std::string_view passphrase,
                      std::string_view new_passphrase, const std::function<bool()>& cancelled) {
  std::unique_ptr<vault::Vault> vault = std::move(archive->vault_);
  archive.reset();  // the log and store finalize their statements
  const vault::SubkeyName carried[] = {{kLogKeyId, kLogKeyContext}};
  Status status = vault->Rekey(passphrase, new_passphrase, carried, cancelled);
  if (vault->locked()) return status.ok() ? VaultLocked() : status;
  ESTELIK_ASSIGN_OR_RETURN(archive, Assemble(std::move(vault)));
  return status;
}

Result<Archive::Applied> Archive::AppendAndApply(const pb::OpBody& body, const log::Scope& scope) {
  // The op's scope names its circle; the sealed fields need not repeat it (scope_fields.h).
  pb::OpBody sealed = body;
  OmitScopeCircle(sealed, scope.circle_id);
  ESTELIK_ASSIGN_OR_RETURN(pb::Envelope envelope, log_->Append(sealed, scope, WallClockMs()));
  Applied applied;
  ESTELIK_ASSIGN_OR_RETURN(applied.op, log::ParseOpHeader(envelope.op()));
  const log::OpHash hash = log::HashOpBytes(envelope.op());
  applied.hash.assign(reinterpret_cast<const char*>(hash.data()), hash.size());
  ESTELIK_RETURN_IF_ERROR(Apply(applied.op, applied.hash, body, nullptr));
  return applied;
}

Result<pb::Testimony> Archive::AddTestimony(const pb::TestimonyFields& fields,
                                            uint64_t recorded_unix_ms) {
  const std::string id = RandomId(store::kTestimonyIdSize);
  crypto::SecretBytes content_key = crypto::SecretBytes::Random(store::kContentKeySize);
  if (fields.consent_scope() == pb::CONSENT_SCOPE_CIRCLE) {
    return AddIntoCircle(id, fields, recorded_unix_ms, content_key);
  }
  pb::OpBody body;
  auto* create = body.mutable_testimony_create();
  create->set_testimony_id(id);
  *create->mutable_fields() = fields;
  create->set_recorded_unix_ms(recorded_unix_ms != 0 ? recorded_unix_ms : WallClockMs());
  // The key travels only in this private op (sealed with the private log key), so a rebuild
  // can reopen the attachment chunks it seals.
  create->set_content_key(reinterpret_cast<const char*>(content_key.data()), content_key.size());

  Status status = [&]() -> Status {
    ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(vault_->db()));
    ESTELIK_RETURN_IF_ERROR(AppendAndApply(body, log::Scope::Private()).status());
    return tx.Commit();
  }();
  sodium_memzero(create->mutable_content_key()->data(), create->content_key().size());
  ESTELIK_RETURN_IF_ERROR(status);
  return store_->Get(id);
}

// A testimony recorded straight into a circle never has a private copy: its creation is the
// share op itself, so the author's store holds exactly what every member's does.
Result<pb::Testimony> Archive::AddIntoCircle(const std::string& id,
                                             const pb::TestimonyFields& fields,
                                             uint64_t recorded_unix_ms,
                                             const crypto::SecretBytes& content_key) {
  if (fields.circle_id().empty()) {
    return InvalidArgument("a testimony in circle scope needs the circle's id");
  }
  ESTELIK_ASSIGN_OR_RETURN(log::CircleInfo circle, log_->GetCircle(fields.circle_id()));
  const log::PublicKey& me = identity().public_key();
  if (circle.carrier_only ||
      std::find(circle.members.begin(), circle.members.end(), me) == circle.members.end()) {
    return PermissionDenied("we are not a member of circle " + ShortId(fields.circle_id()));
  }
  pb::OpBody body;
  auto* s = body.mutable_share_into_circle();
  s->set_testimony_id(id);
  *s->mutable_fields() = fields;
  s->set_recorded_unix_ms(recorded_unix_ms != 0 ? recorded_unix_ms : WallClockMs());
  s->set_content_key(reinterpret_cast<const char*>(content_key.data()), content_key.size());
  Status status = [&]() -> Status {
    ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(vault_->db()));
    ESTELIK_RETURN_IF_ERROR(AppendAndApply(body, log::Scope::Circle(fields.circle_id())).status());
    return tx.Commit();
  }();
  sodium_memzero(s->mutable_content_key()->data(), s->content_key().size());
  ESTELIK_RETURN_IF_ERROR(status);
  return store_->Get(id);
}

Result<pb::Testimony> Archive::EditTestimony(std::string_view id,
                                             const pb::TestimonyFields& new_fields) {
  // Sharing is sticky: once a testimony is in a circle, every later version stays there, so
  // later edits and a withdrawal always reach the members who hold copies.
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony current, store_->Get(id));
  if (current.withdrawn()) {
    return InvalidArgument("testimony " + Hex(id) + " was withdrawn; it cannot be edited");
  }
  pb::TestimonyFields fields = new_fields;
  if (current.fields().consent_scope() == pb::CONSENT_SCOPE_CIRCLE) {
    fields.set_consent_scope(pb::CONSENT_SCOPE_CIRCLE);
    fields.set_circle_id(current.fields().circle_id());
  }
  ESTELIK_ASSIGN_OR_RETURN(log::Scope scope, ScopeFor(id));
  pb::OpBody body = EditOpBody(*store_, *log_, scope, current, fields);

  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(vault_->db()));
  ESTELIK_RETURN_IF_ERROR(AppendAndApply(body, scope).status());
  ESTELIK_RETURN_IF_ERROR(tx.Commit());
  return store_->Get(id);
}

Status Archive::Withdraw(std::string_view id) {
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, store_->Get(id));
  if (t.withdrawn()) return Status::Ok();
  if (t.author() != AuthorBytes(identity())) {
    return PermissionDenied("only the author may withdraw testimony " + Hex(id));
  }
  pb::OpBody body;
  body.mutable_testimony_withdraw()->set_testimony_id(std::string(id));
  // What this device held; every replica records this hash, whatever versions it held.
  ESTELIK_ASSIGN_OR_RETURN(std::string tombstone, store_->TombstoneHash(id));
  body.mutable_testimony_withdraw()->set_tombstone_hash(tombstone);
  {
    ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(vault_->db()));
    ESTELIK_ASSIGN_OR_RETURN(log::Scope scope, ScopeFor(id));
    ESTELIK_RETURN_IF_ERROR(AppendAndApply(body, scope).status());
    ESTELIK_RETURN_IF_ERROR(tx.Commit());
  }
  // Inside the transaction the store could not purge the WAL of the destroyed pages; a
  // repeated Withdraw of a tombstone does exactly that purge (and nothing else).
  if (sqlite3_get_autocommit(vault_->db()) == 0) return Status::Ok();
  return store_->Withdraw(id, t.author(), t.updated(), tombstone);
}

Status Archive::RedactContentOf(const std::string& testimony_id) {
  ESTELIK_ASSIGN_OR_RETURN(std::vector<std::string> subjects, store_->OpSubjects(testimony_id));
  if (subjects.empty()) return Status::Ok();
  std::vector<log::OpHash> hashes;
  for (const std::string& s : subjects) {
    if (s.size() != log::kHashSize) return Corrupt("store.db: op_subjects holds a bad op hash");
    log::OpHash h{};
    std::memcpy(h.data(), s.data(), h.size());
    hashes.push_back(h);
  }
  ESTELIK_RETURN_IF_ERROR(log_->RedactPrivateOps(hashes, testimony_id).status());
  return store_->ForgetOpSubjects(testimony_id);
}

namespace {
Status CheckTestimonyOpen(const pb::Testimony& t) {
  if (t.withdrawn()) {
    return InvalidArgument("testimony " + Hex(t.id()) + " was withdrawn");
  }
  return Status::Ok();
}
}  // namespace

Status Archive::AddTag(std::string_view id, const std::string& tag) {
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, store_->Get(id));
  ESTELIK_RETURN_IF_ERROR(CheckTestimonyOpen(t));
  if (tag.empty() || tag.size() > store::Store::kMaxTagBytes) {
    return InvalidArgument("a tag is 1 to 256 bytes");
  }
  pb::OpBody body;
  body.mutable_tag_add()->set_testimony_id(t.id());
  body.mutable_tag_add()->set_tag(tag);
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(vault_->db()));
  ESTELIK_ASSIGN_OR_RETURN(log::Scope scope, ScopeFor(id));
  ESTELIK_RETURN_IF_ERROR(AppendAndApply(body, scope).status());
  return tx.Commit();
}

Status Archive::RemoveTag(std::string_view id, const std::string& tag) {
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, store_->Get(id));
  ESTELIK_RETURN_IF_ERROR(CheckTestimonyOpen(t));
  ESTELIK_ASSIGN_OR_RETURN(log::Scope scope, ScopeFor(id));
  ESTELIK_ASSIGN_OR_RETURN(std::vector<std::string> observed, store_->LiveTagAdds(id, tag));
  if (observed.empty()) {
    const auto& own = t.fields().tags();
    if (std::find(own.begin(), own.end(), tag) != own.end()) {
      return InvalidArgument("\"" + tag +
                             "\" is one of the author's own tags; only an edit of the testimony "
                             "removes it");
    }
    return NotFound("testimony " + Hex(id) + " has no tag \"" + tag + "\"");
  }
  pb::OpBody body;
  auto* remove = body.mutable_tag_remove();
  remove->set_testimony_id(t.id());
  remove->set_tag(tag);
  for (const auto& h : observed) remove->add_observed_adds(h);
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(vault_->db()));
  ESTELIK_RETURN_IF_ERROR(AppendAndApply(body, scope).status());
  return tx.Commit();
}

Result<std::string> Archive::Annotate(std::string_view id, const std::string& text,
                                      const std::string& language) {
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, store_->Get(id));
  ESTELIK_RETURN_IF_ERROR(CheckTestimonyOpen(t));
  if (text.empty() || text.size() > store::Store::kMaxAnnotationBytes) {
    return InvalidArgument("an annotation is 1 byte to 64 KiB of text");
  }
  pb::OpBody body;
  auto* a = body.mutable_annotation_add();
  a->set_testimony_id(t.id());
  a->set_annotation_id(RandomId(16));
  a->set_text(text);
  a->set_language(language);
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(vault_->db()));
  ESTELIK_ASSIGN_OR_RETURN(log::Scope scope, ScopeFor(id));
  ESTELIK_RETURN_IF_ERROR(AppendAndApply(body, scope).status());
  ESTELIK_RETURN_IF_ERROR(tx.Commit());
  return a->annotation_id();
}

Result<std::string> Archive::ResolveId(std::string_view hex_or_prefix) {
  std::string prefix = Lower(std::string(hex_or_prefix));
  if (prefix.size() < 6 || prefix.size() > kTestimonyIdSize * 2 || !IsLowerHex(prefix)) {
    std::string message(hex_or_prefix);
    message.append(" is not a testimony id (6 to 32 hex digits)");
    return InvalidArgument(std::move(message));
  }
  // Ids are random, so a short prefix is almost always unique; scan the list to be sure.
  std::vector<std::string> matches;
  pb::ListFilter filter;
  filter.set_include_withdrawn(true);
  pb::PageRequest page;
  page.set_limit(500);
  for (;;) {
    ESTELIK_ASSIGN_OR_RETURN(pb::TestimonyPage result, store_->List(filter, page));
    for (const auto& t : result.testimonies()) {
      std::string hex = Hex(t.id());
      if (hex.rfind(prefix, 0) == 0) matches.push_back(t.id());
    }
    if (result.next_cursor().empty()) break;
    page.set_cursor(result.next_cursor());
  }
  if (matches.empty()) return NotFound("no testimony with id " + prefix);
  if (matches.size() > 1) return InvalidArgument("id prefix " + prefix + " is ambiguous");
  return matches.front();
}

Result<std::unique_ptr<Archive::AttachmentWriter>> Archive::BeginAttachment(
    std::string_view testimony_id, const NewAttachment& meta) {
  NewAttachment m = meta;
  if (m.name.empty()) m.name = "attachment";
  GuessMedia(m.name, &m);
  pb::AttachmentInfo info;
  info.set_attachment_id(RandomId(store::kAttachmentIdSize));
  info.set_testimony_id(std::string(testimony_id));
  info.set_name(m.name);
  info.set_media_type(m.media_type);
  info.set_kind(m.kind);
  info.set_author(AuthorBytes(identity()));
  *info.mutable_added() = log_->last_hlc();
  ESTELIK_ASSIGN_OR_RETURN(auto writer, store_->BeginAttachment(info));
  return std::unique_ptr<AttachmentWriter>(new AttachmentWriter(this, std::move(writer)));
}

Result<pb::AttachmentInfo> Archive::AttachmentWriter::Finish() {
  ESTELIK_ASSIGN_OR_RETURN(pb::AttachmentInfo finished, writer_->Finish());
  // The attachment's metadata is an op too, so peers, the evidence export and a rebuild see it.
  pb::OpBody body;
  *body.mutable_attachment_add()->mutable_info() = finished;
  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(archive_->vault_->db()));
  ESTELIK_ASSIGN_OR_RETURN(log::Scope scope, archive_->ScopeFor(finished.testimony_id()));
  ESTELIK_RETURN_IF_ERROR(archive_->AppendAndApply(body, scope).status());
  ESTELIK_RETURN_IF_ERROR(tx.Commit());
  return finished;
}

Result<pb::AttachmentInfo> Archive::AttachFile(std::string_view testimony_id,
                                               const std::string& path, const NewAttachment& meta,
                                               const ProgressFn& progress) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::error_code ec;
  uint64_t total = fs::file_size(path, ec);
  if (ec) total = 0;
  NewAttachment m = meta;
  if (m.name.empty()) m.name = fs::path(path).filename().string();
  ESTELIK_ASSIGN_OR_RETURN(auto writer, BeginAttachment(testimony_id, m));
  std::vector<uint8_t> buffer(store::kChunkSize);
  uint64_t done = 0;
  while (in) {
    in.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(buffer.size()));
    size_t n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    ESTELIK_RETURN_IF_ERROR(writer->Append({buffer.data(), n}));
    done += n;
    if (progress) progress(done, total);
  }
  if (in.bad()) return IoError("error reading " + path);
  return writer->Finish();
}

Result<std::unique_ptr<store::AttachmentReader>> Archive::OpenAttachment(
    std::string_view testimony_id, size_t index) {
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony t, store_->Get(testimony_id));
  if (index >= static_cast<size_t>(t.attachments_size())) {
    return NotFound("testimony has " + std::to_string(t.attachments_size()) +
                    " attachment(s), at indexes from 0; there is none at index " +
                    std::to_string(index));
  }
  return store_->OpenAttachment(t.attachments(static_cast<int>(index)).attachment_id());
}

Result<pb::AttachmentInfo> Archive::ExportAttachment(std::string_view testimony_id, size_t index,
                                                     const std::string& out_path,
                                                     const ProgressFn& progress) {
  ESTELIK_ASSIGN_OR_RETURN(auto reader, OpenAttachment(testimony_id, index));
  const pb::AttachmentInfo info = reader->info();
  std::string tmp = out_path + ".part";
  Status status;
  {
    // Plaintext outside the vault: 0600 whatever the umask (kept by the rename below).
    ESTELIK_ASSIGN_OR_RETURN(PrivateFile out, PrivateFile::Create(tmp));
    std::vector<uint8_t> buffer(store::kChunkSize);
    uint64_t done = 0;
    for (;;) {
      Result<size_t> n = reader->Read(buffer);
      if (!n.ok()) {
        status = n.status();
        break;
      }
      if (*n == 0) break;
      status = out.Write(std::span<const uint8_t>(buffer.data(), *n));
      if (!status.ok()) break;
      done += *n;
      if (progress) progress(done, info.size());
    }
    if (status.ok()) status = reader->Verify();
    if (Status closed = out.Close(); status.ok()) status = closed;
  }
  std::error_code ec;
  if (!status.ok()) {
    fs::remove(tmp, ec);
    return status;
  }
  fs::rename(tmp, out_path, ec);
  if (ec) return IoError("cannot rename " + tmp + " to " + out_path + ": " + ec.message());
  return info;
}

// --- Rebuild ---

Status Archive::Rederive(RebuildReport* report) {
  RebuildState state;
  {
    ESTELIK_ASSIGN_OR_RETURN(auto keys, store_->LiveContentKeys());
    for (auto& [id, key] : keys) state.legacy_keys.emplace(id, std::move(key));
  }
  ESTELIK_RETURN_IF_ERROR(store_->ClearMaterialized());
  return log_->ForEachOp([&](const log::OpLog::StoredOp& stored) -> Status {
    ESTELIK_RETURN_IF_ERROR(store_->interrupt().Check("re-deriving the store from the log"));
    if (!stored.redacted_for.empty()) {
      state.redacted.emplace(stored.redacted_for, std::make_pair(stored.author, stored.hlc));
      ++report->redacted;
      return Status::Ok();
    }
    Result<pb::OpBody> body = log_->OpenBody(stored.envelope);
    if (!body.ok()) {
      if (body.status().code() != Code::kPermissionDenied) return body.status();
      ++report->unreadable;  // carried for a circle we hold no key of, or void past a cut
      return Status::Ok();
    }
    ESTELIK_ASSIGN_OR_RETURN(pb::Op op, log::ParseOpHeader(stored.envelope.op()));
    RestoreScopeCircle(*body, op.scope().circle_id());
    std::string hash(reinterpret_cast<const char*>(stored.hash.data()), stored.hash.size());
    Status applied = Apply(op, hash, *body, &state);
    if (!applied.ok()) {
      return Status(applied.code(), "rebuild: op seq " + std::to_string(op.seq()) + " of " +
                                        ShortId(op.author()) + ": " + applied.message());
    }
    ++report->applied;
    return Status::Ok();
  });
}

Result<Archive::RebuildReport> Archive::Rebuild() {
  RebuildReport report;
  ESTELIK_ASSIGN_OR_RETURN(report.before, store_->StateHash());
  ESTELIK_ASSIGN_OR_RETURN(store::Store::Batch batch, store_->BeginBatch());
  ESTELIK_RETURN_IF_ERROR(Rederive(&report));
  ESTELIK_ASSIGN_OR_RETURN(report.after, store_->StateHash());
  if (report.after != report.before) {
    return Corrupt("rebuilding from the op log gives state " +
                   Hex({report.after.data(), report.after.size()}) + " but the store holds " +
                   Hex({report.before.data(), report.before.size()}) +
                   ": the store was changed outside the log or the log lost ops; nothing was "
                   "changed");
  }
  ESTELIK_RETURN_IF_ERROR(batch.Commit());
  return report;
}

}  // namespace estelik::archive
