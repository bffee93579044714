// Internal to core/evidence (and its tests): the bundle's layout, the custody model both
// export and verify derive from the signed ops, and the writer given already-collected
// inputs. Layout and bytes: docs/FORMAT.md "Evidence bundle".
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/evidence/evidence.h"
#include "core/log/identity.h"
#include "core/log/op_codec.h"
#include "core/status.h"
#include "proto/op.pb.h"

namespace estelik::evidence::internal {

inline constexpr char kManifestName[] = "MANIFEST";
inline constexpr char kSignatureName[] = "MANIFEST.sig";
inline constexpr char kCustodyJsonName[] = "custody.json";
inline constexpr char kCustodyHtmlName[] = "custody.html";
inline constexpr std::string_view kManifestMagic = "estelik-evidence-bundle 1";
// Signing input of MANIFEST.sig: these 20 bytes, then the MANIFEST bytes.
inline constexpr std::string_view kManifestSignContext{"estelik-evidence-v1\0", 20};
inline constexpr size_t kMaxManifestBytes = 16 << 20;
inline constexpr size_t kMaxEnvelopeBytes = log::kMaxOpBytes + 1024;

// One op with its revealed body. `op`, `parsed` and `hash` are derived from the other two.
struct RevealedOp {
  pb::Envelope envelope;  // as stored; envelope.op() is the exact signed op bytes
  std::string body;       // the exact plaintext OpBody bytes the op commits to
  pb::Op op;
  pb::OpBody parsed;
  log::OpHash hash{};
};

// Writes an attachment's plaintext to `sink` piece by piece (bounded memory).
using ChunkSink = std::function<Status(std::span<const uint8_t>)>;
struct AttachmentSource {
  pb::AttachmentInfo info;
  std::function<Status(const ChunkSink&)> produce;
};

struct BundleInput {
  std::vector<std::string> testimony_ids;  // 16-byte ids, sorted, unique
  std::vector<RevealedOp> ops;
  std::vector<AttachmentSource> attachments;  // one per attachment the custody model names
};

// Paths inside the bundle.
std::string OpEnvelopePath(const log::OpHash& hash);         // ops/<64 hex>.envelope
std::string OpBodyPath(const log::OpHash& hash);             // ops/<64 hex>.body
std::string KeyPath(std::string_view key);                   // keys/<64 hex>.pub
std::string AttachmentPath(std::string_view attachment_id);  // attachments/<hex>
// The exact content of keys/<hex>.pub for `key`.
std::string KeyFileContent(std::string_view key);

// The testimony an op body is about; empty for bodies about no testimony.
std::string TestimonyIdOf(const pb::OpBody& body);

// What the signed ops say about each testimony, in a fixed order (see custody.cc).
struct CustodyEvent {
  const RevealedOp* op = nullptr;
  std::string kind;      // "create", "edit", "share", "withdraw", "attachment", "tag_add", ...
  uint32_t version = 0;  // the version this op made, 0 if none
};
struct CustodyVersion {
  uint32_t number = 0;
  const RevealedOp* op = nullptr;
  pb::TestimonyFields fields;  // resolved: an edit's text delta applied to its base version
};
struct CustodyTestimony {
  std::string id;
  std::string author;  // the owner's key (author of the create or first share op)
  // Empty when the exporter is the author; otherwise "exported by <fingerprint>, not by its
  // author <fingerprint>: later corrections may be missing" (a member holds the author's ops
  // but may leave some out; only the author's own export vouches that none is missing).
  std::string exporter_note;
  bool withdrawn = false;
  std::vector<CustodyEvent> events;  // by (hlc, op hash)
  std::vector<CustodyVersion> versions;
  std::vector<pb::AttachmentInfo> attachments;  // by attachment id
};
struct Custody {
  std::string exporter;
  uint64_t exported_unix_ms = 0;
  std::vector<CustodyTestimony> testimonies;  // by id
  std::vector<std::string> authors;           // every op author, sorted
  std::vector<std::string> problems;          // rule violations found while building
};

// Builds the custody model of `ops` (which must outlive it) for `testimony_ids`, checking
// the rules: every op names an exported testimony, owner-only ops are by the owner, a
// withdrawn testimony reveals only its tombstone, an edit's base_op is present, an edit's
// text delta applies to that base version, attachment infos agree. Violations go to
// `problems`. With a non-empty `exporter`, each testimony it did not author gets its
// exporter_note.
Custody BuildCustody(const std::vector<std::string>& testimony_ids,
                     const std::vector<RevealedOp>& ops, std::string exporter,
                     uint64_t exported_unix_ms);
std::string CustodyJson(const Custody& custody);
std::string CustodyHtml(const Custody& custody);

// Writes a complete bundle into the new directory `out_path` (removed again on failure).
Result<ExportReport> WriteBundle(const BundleInput& input, const log::Identity& exporter,
                                 const std::string& out_path, const ExportOptions& options);

// Strict parse of a revealed op (used by export and verify): envelope bytes and body bytes
// as in the bundle. Checks header shape, signature, presence of body_hash and the body
// commitment. Corrupt/Unsupported naming the op on failure.
Result<RevealedOp> RevealOp(std::string_view envelope_bytes, std::string body);

std::string Iso8601(uint64_t unix_ms);  // "2026-11-25T00:20:48.123Z"

}  // namespace estelik::evidence::internal
