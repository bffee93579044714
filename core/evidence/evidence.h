// Evidence export and offline verification.
//
// ExportBundle writes a self-contained evidence bundle (a directory) for one or more
// testimonies: the signed ops that produced them (envelope bytes exactly as stored), each
// op's revealed plaintext body, the attachments' plaintext files, the authors' public keys
// and a custody report (custody.json, custody.html). MANIFEST lists every file with its
// size and BLAKE2b-256; MANIFEST.sig is the exporting identity's Ed25519 signature over it.
// The byte format is docs/FORMAT.md "Evidence bundle".
//
// VerifyBundle checks a bundle with no vault, no network and no key but the public keys in
// the bundle: the manifest signature, every file's hash and that no file was added, every
// op's signature over its exact bytes, that each revealed body matches the commitment the
// author signed (Op.body_hash), who may author what, that a version an edit names is
// present, that each attachment's bytes hash to the value in the signed op, and that the
// custody report is exactly what the signed ops say.
//
// What a valid verdict proves: each op's author key signed those bytes, and the exporter's
// key vouched for the set being complete when it was exported: the author's own key, or a
// key the verifier named (then each testimony it did not author is marked). The verifier
// must still learn out of band which person a key belongs to (the report prints
// fingerprints).
//
// Thread safety: the functions are thread-safe; ExportBundle needs exclusive use of the
// Archive for its duration (as every Archive call does).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/archive/archive.h"
#include "core/log/identity.h"
#include "core/status.h"

namespace estelik::evidence {

struct ExportOptions {
  // The export time written into the manifest, in ms since the Unix epoch; 0 = now.
  uint64_t export_unix_ms = 0;
  // Attachment bytes copied into the bundle so far out of their total: called once with 0
  // before the first byte, then after every chunk (at most 64 KiB). Returning false cancels
  // the export (kAborted, the partial bundle removed). May be empty.
  archive::CancellableProgressFn progress;
};

struct ExportReport {
  std::string bundle_path;
  size_t testimonies = 0;
  size_t ops = 0;
  size_t attachments = 0;
  uint64_t bytes = 0;                  // all files written, manifest included
  std::vector<std::string> withdrawn;  // ids (16 bytes) exported as a tombstone only
  std::string manifest_hash;           // 64 hex digits: BLAKE2b-256 of MANIFEST
  std::string exporter;                // 32-byte key that signed the manifest
};

// Exports the testimonies with ids `testimony_ids` (16-byte ids; at least one) into a new
// directory `out_path`, which must not exist yet. A withdrawn testimony contributes only
// its withdrawal op (its tombstone), never content.
// Errors: InvalidArgument (no ids), AlreadyExists (out_path exists), NotFound (no op of this
// vault names the testimony), Unsupported (an op of the testimony predates body commitments
// and cannot be verified by a third party), NotFound (an attachment is not complete on this
// device), IoError, Aborted (options.progress cancelled), Locked (Archive::Interrupt, checked
// at every attachment chunk). On any error the partial bundle is removed.
Result<ExportReport> ExportBundle(archive::Archive& archive,
                                  const std::vector<std::string>& testimony_ids,
                                  const std::string& out_path, const ExportOptions& options = {});

struct VerifyOptions {
  // The key expected to have signed the manifest. When unset, the signer must be the author
  // of every testimony in the bundle: an export by anyone else (a circle member) proves each
  // op authentic but not that the set is complete, since she may have left out the author's
  // later corrections, so it needs the verifier to name that exporter, knowingly. Either way,
  // each testimony the exporter did not author is marked (VerdictTestimony::exporter_note).
  std::optional<log::PublicKey> expected_exporter;
};

struct VerdictTestimony {
  std::string id;      // 16 bytes
  std::string author;  // 32-byte Ed25519 key
  size_t versions = 0;
  size_t attachments = 0;
  size_t ops = 0;
  bool withdrawn = false;
  // Empty when the exporter is the author; otherwise "exported by <fingerprint>, not by its
  // author <fingerprint>: later corrections may be missing" (also in the custody report).
  std::string exporter_note;
};

struct Verdict {
  bool ok = false;
  // Empty iff ok. Each names what is wrong and where ("ops/<hash>.body: ...", "testimony
  // <id> version 2: ...", "attachments/<id>: ..."); the first is the headline.
  std::vector<std::string> problems;
  // Facts, as far as they could be read (also filled on failure when readable).
  std::string exporter;  // 32-byte key that signed the manifest
  uint64_t exported_unix_ms = 0;
  std::vector<std::string> authors;  // 32-byte keys, sorted
  std::vector<VerdictTestimony> testimonies;
  size_t ops = 0;
  size_t versions = 0;
  size_t attachments = 0;
  std::string manifest_hash;  // 64 hex digits
};

// Verifies the bundle directory at `path`. Returns a Verdict for every bundle, valid or
// not; an error only if `path` is not a readable directory (NotFound, IoError). Memory is
// bounded: files are hashed in 64 KiB pieces; ops are at most 1 MiB each.
Result<Verdict> VerifyBundle(const std::string& path, const VerifyOptions& options = {});

}  // namespace estelik::evidence
