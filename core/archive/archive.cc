#include "core/archive/archive.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "core/archive/archive_internal.h"
#include "core/crypto/random.h"
#include "core/log/op_codec.h"
#include "core/store/sqlite_util.h"

namespace estelik::archive {
namespace {

namespace fs = std::filesystem;
using store::internal::Transaction;

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

Result<pb::Hlc> Archive::AppendPrivate(const pb::OpBody& body) {
  ESTELIK_ASSIGN_OR_RETURN(pb::Envelope envelope,
                           log_->Append(body, log::Scope::Private(), WallClockMs()));
  ESTELIK_ASSIGN_OR_RETURN(pb::Op op, log::ParseOpHeader(envelope.op()));
  return op.hlc();
}

Result<pb::Testimony> Archive::AddTestimony(const pb::TestimonyFields& fields,
                                            uint64_t recorded_unix_ms) {
  store::NewTestimony t;
  t.id = RandomId(store::kTestimonyIdSize);
  t.author = AuthorBytes(identity());
  t.recorded_unix_ms = recorded_unix_ms != 0 ? recorded_unix_ms : WallClockMs();
  t.fields = fields;
  crypto::SecretBytes content_key = crypto::SecretBytes::Random(store::kContentKeySize);

  pb::OpBody body;
  auto* create = body.mutable_testimony_create();
  create->set_testimony_id(t.id);
  *create->mutable_fields() = fields;
  create->set_recorded_unix_ms(t.recorded_unix_ms);

  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(vault_->db()));
  ESTELIK_ASSIGN_OR_RETURN(t.created, AppendPrivate(body));
  ESTELIK_RETURN_IF_ERROR(store_->CreateTestimony(t, content_key));
  ESTELIK_RETURN_IF_ERROR(tx.Commit());
  return store_->Get(t.id);
}

Result<pb::Testimony> Archive::EditTestimony(std::string_view id,
                                             const pb::TestimonyFields& new_fields) {
  // Sharing is sticky: once a testimony is in a circle, every later version stays there, so
  // later edits and a withdrawal always reach the members who hold copies.
  ESTELIK_ASSIGN_OR_RETURN(pb::Testimony current, store_->Get(id));
  pb::TestimonyFields fields = new_fields;
  if (current.fields().consent_scope() == pb::CONSENT_SCOPE_CIRCLE) {
    fields.set_consent_scope(pb::CONSENT_SCOPE_CIRCLE);
    fields.set_circle_id(current.fields().circle_id());
  }
  pb::OpBody body;
  auto* edit = body.mutable_testimony_edit();
  edit->set_testimony_id(std::string(id));
  *edit->mutable_fields() = fields;

  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(vault_->db()));
  ESTELIK_ASSIGN_OR_RETURN(pb::Hlc hlc, AppendForTestimony(id, body));
  ESTELIK_RETURN_IF_ERROR(store_->EditTestimony(id, AuthorBytes(identity()), hlc, fields).status());
  ESTELIK_RETURN_IF_ERROR(tx.Commit());
  return store_->Get(id);
}

Status Archive::Withdraw(std::string_view id) {
  pb::OpBody body;
  body.mutable_testimony_withdraw()->set_testimony_id(std::string(id));

  ESTELIK_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(vault_->db()));
  ESTELIK_ASSIGN_OR_RETURN(pb::Hlc hlc, AppendForTestimony(id, body));
  ESTELIK_RETURN_IF_ERROR(store_->Withdraw(id, AuthorBytes(identity()), hlc));
  return tx.Commit();
}

Result<std::string> Archive::ResolveId(std::string_view hex_or_prefix) {
  std::string prefix = Lower(std::string(hex_or_prefix));
  if (prefix.size() < 6 || prefix.size() > store::kTestimonyIdSize * 2 ||
      prefix.find_first_not_of("0123456789abcdef") != std::string::npos) {
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
      std::string hex = store::internal::Hex(t.id());
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
  // The attachment's metadata is an op too, so peers and the evidence export see it.
  pb::OpBody body;
  *body.mutable_attachment_add()->mutable_info() = finished;
  ESTELIK_RETURN_IF_ERROR(archive_->AppendForTestimony(finished.testimony_id(), body).status());
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
                    " attachment(s); there is no number " + std::to_string(index + 1));
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
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return IoError("cannot write " + out_path);
    std::vector<uint8_t> buffer(store::kChunkSize);
    uint64_t done = 0;
    for (;;) {
      Result<size_t> n = reader->Read(buffer);
      if (!n.ok()) {
        status = n.status();
        break;
      }
      if (*n == 0) break;
      out.write(reinterpret_cast<const char*>(buffer.data()), static_cast<std::streamsize>(*n));
      done += *n;
      if (progress) progress(done, info.size());
    }
    if (status.ok()) status = reader->Verify();
    out.close();
    if (status.ok() && !out) status = IoError("error writing " + out_path + " (disk full?)");
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

}  // namespace estelik::archive
