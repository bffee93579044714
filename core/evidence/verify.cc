// VerifyBundle: checks a bundle with nothing but the bundle. Every check runs even after a
// failure, so the verdict lists everything that is wrong; the first problem is the headline.
#include <sodium.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/bytes.h"
#include "core/evidence/bundle.h"
#include "core/evidence/evidence.h"

namespace estelik::evidence {
namespace {

namespace fs = std::filesystem;
using internal::RevealedOp;

constexpr size_t kMaxSmallFile = 64 << 20;  // custody report, keys, ops: read whole

struct Listed {
  std::string hash_hex;
  uint64_t size = 0;
};

struct Manifest {
  std::string exporter;
  uint64_t exported_unix_ms = 0;
  std::vector<std::string> testimony_ids;
  std::map<std::string, Listed> files;
};

bool IsHex(std::string_view s, size_t min_len, size_t max_len) {
  std::string ignored;
  return s.size() >= min_len && s.size() <= max_len && ParseHex(s, &ignored);
}

bool HasSuffix(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The only file names a bundle may hold (docs/FORMAT.md "Evidence bundle").
bool AllowedPath(std::string_view p) {
  if (p == internal::kCustodyJsonName || p == internal::kCustodyHtmlName) return true;
  if (p.starts_with("keys/") && HasSuffix(p, ".pub"))
    return IsHex(p.substr(5, p.size() - 9), 64, 64);
  if (p.starts_with("ops/") && HasSuffix(p, ".envelope")) {
    return IsHex(p.substr(4, p.size() - 13), 64, 64);
  }
  if (p.starts_with("ops/") && HasSuffix(p, ".body"))
    return IsHex(p.substr(4, p.size() - 9), 64, 64);
  if (p.starts_with("attachments/")) return IsHex(p.substr(12), 2, 128);
  return false;
}

bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// Strict: one spelling per manifest, so the signature covers exactly one meaning.
Result<Manifest> ParseManifest(std::string_view text) {
  if (text.empty() || text.back() != '\n') return Corrupt("MANIFEST does not end with a newline");
  std::vector<std::string_view> lines;
  for (size_t at = 0; at < text.size();) {
    size_t nl = text.find('\n', at);
    lines.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  auto bad = [](size_t i, const std::string& why) {
    return Corrupt("MANIFEST line " + std::to_string(i + 1) + ": " + why);
  };
  if (lines.size() < 3 || lines[0] != internal::kManifestMagic) {
    return Corrupt("MANIFEST is not an Estelik evidence manifest (version 1)");
  }
  Manifest m;
  if (!lines[1].starts_with("exporter ") || !IsHex(lines[1].substr(9), 64, 64)) {
    return bad(1, "expected `exporter <64 hex digits>`");
  }
  ParseHex(lines[1].substr(9), &m.exporter);
  if (!lines[2].starts_with("exported-unix-ms ") ||
      !ParseU64(lines[2].substr(17), &m.exported_unix_ms)) {
    return bad(2, "expected `exported-unix-ms <decimal>`");
  }
  size_t i = 3;
  for (; i < lines.size() && lines[i].starts_with("testimony "); ++i) {
    std::string id;
    if (!IsHex(lines[i].substr(10), 32, 32)) return bad(i, "expected a 32-hex-digit testimony id");
    ParseHex(lines[i].substr(10), &id);
    if (!m.testimony_ids.empty() && id <= m.testimony_ids.back()) {
      return bad(i, "testimony ids must be sorted and unique");
    }
    m.testimony_ids.push_back(std::move(id));
  }
  if (m.testimony_ids.empty()) return bad(i, "no testimony listed");
  std::string last_path;
  for (; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    if (!l.starts_with("file ")) return bad(i, "expected `file <hash> <size> <path>`");
    l.remove_prefix(5);
    size_t s1 = l.find(' ');
    size_t s2 = s1 == std::string_view::npos ? s1 : l.find(' ', s1 + 1);
    if (s2 == std::string_view::npos) return bad(i, "expected `file <hash> <size> <path>`");
    std::string_view hash = l.substr(0, s1), size = l.substr(s1 + 1, s2 - s1 - 1),
                     path = l.substr(s2 + 1);
    Listed entry;
    if (!IsHex(hash, 64, 64) || !ParseU64(size, &entry.size)) {
      return bad(i, "malformed hash or size");
    }
    if (!AllowedPath(path)) return bad(i, "file name " + std::string(path) + " is not allowed");
    if (!last_path.empty() && std::string(path) <= last_path) {
      return bad(i, "files must be sorted by name and unique");
    }
    last_path = std::string(path);
    entry.hash_hex = std::string(hash);
    m.files.emplace(last_path, std::move(entry));
  }
  return m;
}

Result<std::string> ReadSmall(const fs::path& p, size_t limit) {
  std::error_code ec;
  uint64_t size = fs::file_size(p, ec);
  if (ec) return NotFound("cannot read " + p.string());
  if (size > limit) return LimitExceeded("is larger than " + std::to_string(limit) + " bytes");
  std::ifstream in(p, std::ios::binary);
  if (!in) return NotFound("cannot read " + p.string());
  std::string data(size, '\0');
  in.read(data.data(), static_cast<std::streamsize>(size));
  if (static_cast<uint64_t>(in.gcount()) != size) return IoError("short read of " + p.string());
  return data;
}

struct Actual {
  uint64_t size = 0;
  std::string hash_hex;
  std::string content;  // only for files read whole (not attachments)
};

// How much of a file verify may hold in memory: ops are at most 1 MiB, keys a line.
size_t LimitFor(const std::string& path) {
  if (path.starts_with("ops/")) return internal::kMaxEnvelopeBytes;
  if (path.starts_with("keys/")) return 4096;
  return kMaxSmallFile;
}

// Hashes a file in 64 KiB pieces; keeps the content of non-attachment files (bounded by
// LimitFor).
Result<Actual> ReadFile(const fs::path& p, bool keep, size_t limit) {
  Actual a;
  if (keep) {
    ESTELIK_ASSIGN_OR_RETURN(a.content, ReadSmall(p, limit));
    a.size = a.content.size();
    a.hash_hex = Hex(log::HashOpBytes(a.content));
    return a;
  }
  std::ifstream in(p, std::ios::binary);
  if (!in) return NotFound("cannot read " + p.string());
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, log::kHashSize);
  std::vector<char> buf(64 * 1024);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    size_t n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(buf.data()), n);
    a.size += n;
  }
  if (in.bad()) return IoError("error reading " + p.string());
  log::OpHash h{};
  crypto_generichash_final(&st, h.data(), h.size());
  a.hash_hex = Hex(h);
  return a;
}

// A custody report (custody.json or .html) as export writes it from `custody`. Bundles written
// before exporter notes existed carry the same report without them; those are accepted too, and
// the verdict marks such testimonies all the same (docs/FORMAT.md).
bool MatchesReport(const Actual* file, const internal::Custody& custody,
                   std::string (*render)(const internal::Custody&)) {
  if (file == nullptr) return false;
  if (file->content == render(custody)) return true;
  internal::Custody without_notes = custody;
  for (auto& t : without_notes.testimonies) t.exporter_note.clear();
  return file->content == render(without_notes);
}

class Verifier {
 public:
  Verifier(fs::path root, const VerifyOptions& options)
      : root_(std::move(root)), options_(options) {}

  Verdict Run() {
    if (!CheckManifest()) return Finish();
    CheckTree();
    ReadListedFiles();
    RevealOps();
    CheckKeysAndCustody();
    return Finish();
  }

 private:
  void Problem(std::string p) { verdict_.problems.push_back(std::move(p)); }

  bool CheckManifest() {
    Result<std::string> text =
        ReadSmall(root_ / internal::kManifestName, internal::kMaxManifestBytes);
    if (!text.ok()) {
      Problem("MANIFEST: missing or unreadable (" + text.status().message() + ")");
      return false;
    }
    verdict_.manifest_hash = Hex(log::HashOpBytes(*text));
    Result<Manifest> m = ParseManifest(*text);
    if (!m.ok()) {
      Problem(m.status().message());
      return false;
    }
    manifest_ = std::move(m).value();
    verdict_.exporter = manifest_.exporter;
    verdict_.exported_unix_ms = manifest_.exported_unix_ms;
    Result<std::string> sig_text = ReadSmall(root_ / internal::kSignatureName, 1024);
    std::string sig;
    if (!sig_text.ok() || sig_text->size() != 129 || sig_text->back() != '\n' ||
        !ParseHex(std::string_view(*sig_text).substr(0, 128), &sig)) {
      Problem("MANIFEST.sig: missing or not 128 hex digits and a newline");
      return true;
    }
    std::string input(internal::kManifestSignContext);
    input += *text;
    if (!log::VerifySignature(AsBytes(manifest_.exporter), AsBytes(input), AsBytes(sig))) {
      Problem("MANIFEST.sig: the signature does not verify: the manifest was changed after export");
    }
    return true;
  }

  // Every file on disk is listed; nothing but plain files and the three folders.
  void CheckTree() {
    std::error_code ec;
    fs::recursive_directory_iterator it(root_, fs::directory_options::none, ec), end;
    if (ec) {
      Problem("bundle folder unreadable: " + ec.message());
      return;
    }
    for (; it != end; it.increment(ec)) {
      if (ec) {
        Problem("bundle folder unreadable: " + ec.message());
        return;
      }
      const fs::path rel = fs::relative(it->path(), root_, ec);
      const std::string name = rel.generic_string();
      fs::file_status st = it->symlink_status(ec);
      if (fs::is_symlink(st)) {
        Problem(name + ": a symbolic link is not allowed in a bundle");
        continue;
      }
      if (fs::is_directory(st)) {
        if (name != "keys" && name != "ops" && name != "attachments") {
          Problem(name + ": unexpected folder");
          it.disable_recursion_pending();
        }
        continue;
      }
      if (!fs::is_regular_file(st)) {
        Problem(name + ": not a regular file");
        continue;
      }
      if (name == internal::kManifestName || name == internal::kSignatureName) continue;
      if (!manifest_.files.count(name)) Problem(name + ": file not listed in the manifest (added)");
    }
  }

  void ReadListedFiles() {
    for (const auto& [path, listed] : manifest_.files) {
      bool keep = !path.starts_with("attachments/");
      Result<Actual> a = ReadFile(root_ / path, keep, LimitFor(path));
      if (!a.ok()) {
        Problem(path + ": listed in the manifest but missing or unreadable (" +
                a.status().message() + ")");
        continue;
      }
      if (a->size != listed.size || a->hash_hex != listed.hash_hex) {
        Problem(path + ": content differs from the manifest (changed or replaced after export)");
      }
      actual_.emplace(path, std::move(a).value());
    }
  }

  const Actual* Get(const std::string& path) {
    auto it = actual_.find(path);
    return it == actual_.end() ? nullptr : &it->second;
  }

  void RevealOps() {
    for (const auto& [path, a] : actual_) {
      if (path.starts_with("ops/") && HasSuffix(path, ".body")) {
        std::string env_path = path.substr(0, path.size() - 5) + ".envelope";
        if (!manifest_.files.count(env_path)) Problem(path + ": body without its op envelope");
      }
      if (!path.starts_with("ops/") || !HasSuffix(path, ".envelope")) continue;
      std::string stem = path.substr(0, path.size() - 9);
      const Actual* body = Get(stem + ".body");
      if (body == nullptr) {
        Problem(path + ": the op's revealed body (" + stem + ".body) is missing");
        continue;
      }
      Result<RevealedOp> op = internal::RevealOp(a.content, body->content);
      if (!op.ok()) {
        Problem(path + ": " + op.status().message());
        continue;
      }
      if (internal::OpEnvelopePath(op->hash) != path) {
        Problem(path + ": the op's bytes hash to " + Hex(op->hash) +
                ", not to its file name (op replaced)");
        continue;
      }
      ops_.push_back(std::move(op).value());
    }
  }

  void CheckKeysAndCustody() {
    internal::Custody custody = internal::BuildCustody(
        manifest_.testimony_ids, ops_, manifest_.exporter, manifest_.exported_unix_ms);
    for (auto& p : custody.problems) Problem(std::move(p));

    // Who vouches for completeness: the author of each testimony, or the exporter the verifier
    // names. A member holds the author's ops and can leave the latest correction out; her
    // signature proves the set is what she chose, not that it is all the author wrote.
    if (options_.expected_exporter) {
      std::string expected(reinterpret_cast<const char*>(options_.expected_exporter->data()),
                           options_.expected_exporter->size());
      if (expected != manifest_.exporter) {
        Problem("MANIFEST.sig: signed by " + Fp(manifest_.exporter) + ", not by the expected " +
                "exporter " + Fp(expected));
      }
    } else {
      for (const auto& t : custody.testimonies) {
        if (t.exporter_note.empty()) continue;
        Problem("testimony " + Hex(t.id) + ": " + t.exporter_note +
                "; to accept this exporter, confirm that key out of band and name it as the "
                "expected exporter");
      }
    }

    // Keys: one file per author and the exporter, each exactly as export writes it.
    std::set<std::string> needed(custody.authors.begin(), custody.authors.end());
    needed.insert(manifest_.exporter);
    for (const auto& k : needed) {
      const std::string path = internal::KeyPath(k);
      const Actual* a = Get(path);
      if (a == nullptr) {
        Problem(path + ": public key file missing");
      } else if (a->content != internal::KeyFileContent(k)) {
        Problem(path + ": does not hold the key its name says");
      }
    }
    std::set<std::string> named_attachments;
    for (const auto& t : custody.testimonies) {
      for (const auto& info : t.attachments) {
        const std::string path = internal::AttachmentPath(info.attachment_id());
        named_attachments.insert(path);
        const Actual* a = Get(path);
        if (a == nullptr) {
          Problem(path + ": attachment " + info.name() + " named by a signed op is missing");
        } else if (a->size != info.size() || a->hash_hex != Hex(info.content_hash())) {
          Problem(path + ": attachment bytes do not match the content hash in the author's " +
                  "signed op (swapped or altered)");
        }
      }
    }
    for (const auto& [path, a] : actual_) {
      if (path.starts_with("keys/") && !needed.count(KeyOfPath(path))) {
        Problem(path + ": key of neither an author nor the exporter");
      }
      if (path.starts_with("attachments/") && !named_attachments.count(path)) {
        Problem(path + ": not named by any signed op");
      }
    }
    for (const auto& [name, render] :
         {std::pair{internal::kCustodyJsonName, &internal::CustodyJson},
          std::pair{internal::kCustodyHtmlName, &internal::CustodyHtml}}) {
      if (!MatchesReport(Get(name), custody, render)) {
        Problem(std::string(name) + ": missing or does not match what the signed ops say");
      }
    }

    verdict_.authors = custody.authors;
    verdict_.ops = ops_.size();
    for (const auto& t : custody.testimonies) {
      VerdictTestimony v;
      v.id = t.id;
      v.author = t.author;
      v.versions = t.versions.size();
      v.attachments = t.attachments.size();
      v.ops = t.events.size();
      v.withdrawn = t.withdrawn;
      v.exporter_note = t.exporter_note;
      verdict_.versions += v.versions;
      verdict_.attachments += v.attachments;
      verdict_.testimonies.push_back(std::move(v));
    }
  }

  static std::string KeyOfPath(const std::string& path) {
    std::string key;
    ParseHex(std::string_view(path).substr(5, 64), &key);
    return key;
  }

  static std::string Fp(const std::string& key) {
    log::PublicKey k{};
    std::copy_n(key.begin(), std::min(key.size(), k.size()), k.begin());
    return log::Fingerprint(k);
  }

  Verdict Finish() {
    verdict_.ok = verdict_.problems.empty();
    return std::move(verdict_);
  }

  fs::path root_;
  const VerifyOptions& options_;
  Verdict verdict_;
  Manifest manifest_;
  std::map<std::string, Actual> actual_;
  std::vector<RevealedOp> ops_;
};

}  // namespace

Result<Verdict> VerifyBundle(const std::string& path, const VerifyOptions& options) {
  crypto::EnsureSodium();
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    return NotFound(path + " is not an evidence bundle folder");
  }
  return Verifier(fs::path(path), options).Run();
}

}  // namespace estelik::evidence
