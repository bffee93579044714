// Evidence export and offline verification for estelik.h, over core/evidence. The report and
// the verdict cross the boundary as UTF-8 JSON (docs/C_API.md gives their keys): they are
// read by people and by scripts, and no proto message describes them.
#include "core/evidence/evidence.h"

#include <string>
#include <vector>

#include "core/evidence/report_json.h"
#include "platform/c/handles.h"

using estelik::Code;
using estelik::Status;
using estelik::archive::Archive;
using estelik::capi::Guard;
using estelik::capi::Require;
using estelik::capi::WithArchive;

extern "C" {

estelik_status estelik_export(estelik_vault* vault, const char* const* testimony_ids, size_t count,
                              const char* out_path, estelik_buffer* out_report,
                              estelik_error* err) {
  if (out_report != nullptr) *out_report = estelik_buffer{nullptr, 0};
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_path, "out_path"));
    if (count == 0) return estelik::InvalidArgument("export needs at least one testimony id");
    ESTELIK_RETURN_IF_ERROR(Require(testimony_ids, "testimony_ids"));
    std::vector<std::string> ids;
    ids.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      ESTELIK_ASSIGN_OR_RETURN(std::string id,
                               estelik::capi::TestimonyId(archive, testimony_ids[i]));
      ids.push_back(std::move(id));
    }
    ESTELIK_ASSIGN_OR_RETURN(auto report, estelik::evidence::ExportBundle(archive, ids, out_path));
    return out_report == nullptr
               ? Status::Ok()
               : estelik::capi::ToBuffer(estelik::evidence::ExportReportJson(report), out_report);
  });
}

estelik_status estelik_verify(const char* bundle_path, const uint8_t* expected_exporter,
                              estelik_buffer* out_verdict, estelik_error* err) {
  if (out_verdict != nullptr) *out_verdict = estelik_buffer{nullptr, 0};
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(bundle_path, "bundle_path"));
    estelik::evidence::VerifyOptions options;
    if (expected_exporter != nullptr) {
      estelik::log::PublicKey key;
      std::copy(expected_exporter, expected_exporter + key.size(), key.begin());
      options.expected_exporter = key;
    }
    ESTELIK_ASSIGN_OR_RETURN(auto verdict, estelik::evidence::VerifyBundle(bundle_path, options));
    if (out_verdict != nullptr) {
      ESTELIK_RETURN_IF_ERROR(
          estelik::capi::ToBuffer(estelik::evidence::VerdictJson(verdict), out_verdict));
    }
    if (verdict.ok) return Status::Ok();
    // The verdict (with every problem) is in out_verdict; the error carries the headline.
    return Status(Code::kCorrupt, "evidence bundle does not verify: " +
                                      (verdict.problems.empty() ? std::string("no reason given")
                                                                : verdict.problems.front()));
  });
}

}  // extern "C"
