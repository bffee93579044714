// Writing a bundle from collected inputs, and the pieces export and verify share.
#include "core/evidence/bundle.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "core/archive/scope_fields.h"
#include "core/bytes.h"
#include "core/crypto/secret.h"
#include "core/private_file.h"

namespace estelik::evidence::internal {
namespace {

namespace fs = std::filesystem;

struct FileEntry {
  std::string path;
  uint64_t size = 0;
  std::string hash_hex;
};

// Writes bundle files, remembering each one's size and BLAKE2b-256 for the manifest.
class FileSink {
 public:
  explicit FileSink(fs::path root) : root_(std::move(root)) {}

  Status Write(const std::string& rel, std::string_view bytes) {
    return Stream(rel, [&](const ChunkSink& sink) { return sink(AsBytes(bytes)); });
  }

  Status Stream(const std::string& rel, const std::function<Status(const ChunkSink&)>& produce) {
    if (seen_.count(rel)) return Internal("bundle file " + rel + " written twice");
    const fs::path full = root_ / rel;
    // A bundle holds plaintext: its files are 0600 whatever the umask.
    ESTELIK_ASSIGN_OR_RETURN(PrivateFile out, PrivateFile::Create(full.string()));
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, log::kHashSize);
    uint64_t size = 0;
    ESTELIK_RETURN_IF_ERROR(produce([&](std::span<const uint8_t> piece) -> Status {
      ESTELIK_RETURN_IF_ERROR(out.Write(piece));
      crypto_generichash_update(&st, piece.data(), piece.size());
      size += piece.size();
      return Status::Ok();
    }));
    ESTELIK_RETURN_IF_ERROR(out.Close());
    log::OpHash h{};
    crypto_generichash_final(&st, h.data(), h.size());
    seen_.insert(rel);
    entries_.push_back({rel, size, Hex(h)});
    total_ += size;
    return Status::Ok();
  }

  std::vector<FileEntry> Sorted() const {
    std::vector<FileEntry> e = entries_;
    std::sort(e.begin(), e.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    return e;
  }
  uint64_t total() const { return total_; }

 private:
  fs::path root_;
  std::set<std::string> seen_;
  std::vector<FileEntry> entries_;
  uint64_t total_ = 0;
};

// Removes the bundle directory unless released: a failed export leaves nothing behind.
class RemoveOnFailure {
 public:
  explicit RemoveOnFailure(fs::path p) : path_(std::move(p)) {}
  ~RemoveOnFailure() {
    if (armed_) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  void Release() { armed_ = false; }

 private:
  fs::path path_;
  bool armed_ = true;
};

}  // namespace

std::string OpEnvelopePath(const log::OpHash& hash) { return "ops/" + Hex(hash) + ".envelope"; }
std::string OpBodyPath(const log::OpHash& hash) { return "ops/" + Hex(hash) + ".body"; }
std::string KeyPath(std::string_view key) { return "keys/" + Hex(key) + ".pub"; }
std::string AttachmentPath(std::string_view attachment_id) {
  return "attachments/" + Hex(attachment_id);
}

std::string KeyFileContent(std::string_view key) {
  log::PublicKey k{};
  std::memcpy(k.data(), key.data(), std::min(key.size(), k.size()));
  return "ed25519 " + Hex(key) + "\nfingerprint " + log::Fingerprint(k) + "\n";
}

Result<RevealedOp> RevealOp(std::string_view envelope_bytes, std::string body) {
  RevealedOp r;
  if (envelope_bytes.size() > kMaxEnvelopeBytes ||
      !r.envelope.ParseFromArray(envelope_bytes.data(), static_cast<int>(envelope_bytes.size()))) {
    return Corrupt("not a valid op envelope");
  }
  ESTELIK_ASSIGN_OR_RETURN(r.op, log::ParseOpHeader(r.envelope.op()));
  ESTELIK_RETURN_IF_ERROR(log::VerifyEnvelopeSignature(r.envelope, r.op));
  r.hash = log::HashOpBytes(r.envelope.op());
  if (r.op.body_hash().empty()) {
    log::PublicKey author{};
    std::memcpy(author.data(), r.op.author().data(), author.size());
    return Unsupported("op " + log::Fingerprint(author) + " seq " + std::to_string(r.op.seq()) +
                       " predates body commitments; its body cannot be verified without the "
                       "author's key");
  }
  ESTELIK_RETURN_IF_ERROR(log::CheckBodyCommitment(r.op, body));
  if (!r.parsed.ParseFromString(body)) return Corrupt("revealed body is not a valid OpBody");
  // Read as the archive reads it: a circle op's fields take their circle from its scope.
  archive::RestoreScopeCircle(r.parsed, r.op.scope().circle_id());
  r.body = std::move(body);
  return r;
}

Result<ExportReport> WriteBundle(const BundleInput& input, const log::Identity& exporter,
                                 const std::string& out_path, const ExportOptions& options) {
  crypto::EnsureSodium();
  const std::string exporter_key(reinterpret_cast<const char*>(exporter.public_key().data()),
                                 exporter.public_key().size());
  Custody custody =
      BuildCustody(input.testimony_ids, input.ops, exporter_key, options.export_unix_ms);
  if (!custody.problems.empty()) {
    return Internal("refusing to write a bundle that would not verify: " +
                    custody.problems.front());
  }
  std::error_code ec;
  if (fs::exists(out_path, ec)) return AlreadyExists(out_path + " already exists");
  // The bundle's folders are 0700 and its files 0600, whatever the umask: it is plaintext.
  ESTELIK_RETURN_IF_ERROR(CreatePrivateDirectory(out_path));
  RemoveOnFailure cleanup(out_path);
  for (const char* sub : {"keys", "ops", "attachments"}) {
    ESTELIK_RETURN_IF_ERROR(CreatePrivateDirectory((fs::path(out_path) / sub).string()));
  }
  FileSink files{fs::path(out_path)};
  std::set<std::string> keys(custody.authors.begin(), custody.authors.end());
  keys.insert(exporter_key);
  for (const auto& k : keys) ESTELIK_RETURN_IF_ERROR(files.Write(KeyPath(k), KeyFileContent(k)));
  for (const RevealedOp& op : input.ops) {
    ESTELIK_RETURN_IF_ERROR(files.Write(OpEnvelopePath(op.hash), op.envelope.SerializeAsString()));
    ESTELIK_RETURN_IF_ERROR(files.Write(OpBodyPath(op.hash), op.body));
  }
  std::map<std::string, const AttachmentSource*> sources;
  for (const auto& s : input.attachments) sources[s.info.attachment_id()] = &s;
  uint64_t total = 0, done = 0;
  for (const auto& t : custody.testimonies) {
    for (const auto& a : t.attachments) total += a.size();
  }
  auto report_progress = [&]() -> Status {
    if (options.progress && !options.progress(done, total)) {
      return archive::Cancelled("the evidence export");
    }
    return Status::Ok();
  };
  ESTELIK_RETURN_IF_ERROR(report_progress());
  size_t attachment_count = 0;
  for (const auto& t : custody.testimonies) {
    for (const auto& a : t.attachments) {
      auto it = sources.find(a.attachment_id());
      if (it == sources.end()) {
        return NotFound("attachment " + Hex(a.attachment_id()) + " of testimony " + Hex(t.id) +
                        " is not available");
      }
      ESTELIK_RETURN_IF_ERROR(
          files.Stream(AttachmentPath(a.attachment_id()), [&](const ChunkSink& sink) {
            return it->second->produce([&](std::span<const uint8_t> piece) -> Status {
              ESTELIK_RETURN_IF_ERROR(sink(piece));
              done += piece.size();
              return report_progress();
            });
          }));
      ++attachment_count;
    }
  }
  ESTELIK_RETURN_IF_ERROR(files.Write(kCustodyJsonName, CustodyJson(custody)));
  ESTELIK_RETURN_IF_ERROR(files.Write(kCustodyHtmlName, CustodyHtml(custody)));

  std::string manifest(kManifestMagic);
  manifest += "\nexporter " + Hex(exporter_key) + "\n";
  manifest += "exported-unix-ms " + std::to_string(options.export_unix_ms) + "\n";
  for (const auto& id : input.testimony_ids) manifest += "testimony " + Hex(id) + "\n";
  for (const auto& e : files.Sorted()) {
    manifest += "file " + e.hash_hex + " " + std::to_string(e.size) + " " + e.path + "\n";
  }
  std::string signing_input(kManifestSignContext);
  signing_input += manifest;
  log::Signature sig = exporter.Sign(AsBytes(signing_input));
  ESTELIK_RETURN_IF_ERROR(files.Write(kManifestName, manifest));
  ESTELIK_RETURN_IF_ERROR(files.Write(kSignatureName, Hex(sig) + "\n"));

  ExportReport report;
  report.bundle_path = out_path;
  report.testimonies = custody.testimonies.size();
  report.ops = input.ops.size();
  report.attachments = attachment_count;
  report.bytes = files.total();
  for (const auto& t : custody.testimonies) {
    if (t.withdrawn) report.withdrawn.push_back(t.id);
  }
  report.manifest_hash = Hex(log::HashOpBytes(manifest));
  report.exporter = exporter_key;
  cleanup.Release();
  return report;
}

}  // namespace estelik::evidence::internal
