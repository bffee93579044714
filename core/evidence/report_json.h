// The JSON form of an export report and of a verdict: one rendering, so the C API
// (estelik_export, estelik_verify) and the CLI (`estelik export --json`, `estelik verify
// --json`) print the same bytes. docs/C_API.md lists the keys.
//
// Thread safety: pure functions of their argument. Strings are escaped, and any invalid UTF-8
// in them is replaced (core/json.h), so the result is always valid JSON.
#pragma once

#include <string>

#include "core/evidence/evidence.h"

namespace estelik::evidence {

// {"bundle_path", "testimonies", "ops", "attachments", "bytes", "withdrawn": [hex ids],
//  "manifest_hash", "exporter": hex key, "exporter_fingerprint"}
std::string ExportReportJson(const ExportReport& report);

// {"ok", "problems": [...], "exporter", "exporter_fingerprint", "exported_unix_ms",
//  "manifest_hash", "authors": [{"key", "fingerprint"}], "testimonies": [{"id", "author",
//  "versions", "attachments", "ops", "withdrawn", "exporter_note"}], "ops", "versions",
//  "attachments"}
std::string VerdictJson(const Verdict& verdict);

// The fingerprint (log::Fingerprint) of a 32-byte key held as bytes; of an all-zero key when
// `key` is not 32 bytes (a verdict of an unreadable manifest has no exporter).
std::string KeyFingerprint(const std::string& key);

}  // namespace estelik::evidence
