// Evidence export and offline verification for estelik.h, over core/evidence. The report and
// the verdict cross the boundary as estelik.pb.ExportReport and estelik.pb.Verdict; the
// deprecated estelik_export and estelik_verify render the same results as JSON instead.
#include "core/evidence/evidence.h"

#include <functional>
#include <string>
#include <vector>

#include "core/evidence/report_json.h"
#include "core/evidence/report_proto.h"
#include "platform/c/handles.h"

using estelik::Code;
using estelik::Status;
using estelik::archive::Archive;
using estelik::capi::Guard;
using estelik::capi::Require;
using estelik::capi::ToBuffer;
using estelik::capi::WithArchive;
namespace evidence = estelik::evidence;

namespace {

// Stores a result in the caller's buffer in one of the two forms (protobuf, or deprecated JSON).
template <typename T>
using Render = std::function<Status(const T&, estelik_buffer*)>;

Status ExportInto(Archive& archive, const char* const* testimony_ids, size_t count,
                  const char* out_path, const estelik_progress* progress,
                  estelik_buffer* out_report, const Render<evidence::ExportReport>& render) {
  ESTELIK_RETURN_IF_ERROR(Require(out_path, "out_path"));
  if (count == 0) return estelik::InvalidArgument("export needs at least one testimony id");
  ESTELIK_RETURN_IF_ERROR(Require(testimony_ids, "testimony_ids"));
  std::vector<std::string> ids;
  ids.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    ESTELIK_ASSIGN_OR_RETURN(std::string id, estelik::capi::TestimonyId(archive, testimony_ids[i]));
    ids.push_back(std::move(id));
  }
  evidence::ExportOptions options;
  options.progress = estelik::capi::Progress(progress);
  ESTELIK_ASSIGN_OR_RETURN(auto report, evidence::ExportBundle(archive, ids, out_path, options));
  return out_report == nullptr ? Status::Ok() : render(report, out_report);
}

estelik_status Export(estelik_vault* vault, const char* const* testimony_ids, size_t count,
                      const char* out_path, const estelik_progress* progress,
                      estelik_buffer* out_report, estelik_error* err,
                      const Render<evidence::ExportReport>& render) {
  if (out_report != nullptr) *out_report = estelik_buffer{nullptr, 0};
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    return ExportInto(archive, testimony_ids, count, out_path, progress, out_report, render);
  });
}

estelik_status Verify(const char* bundle_path, const uint8_t* expected_exporter,
                      estelik_buffer* out_verdict, estelik_error* err,
                      const Render<evidence::Verdict>& render) {
  if (out_verdict != nullptr) *out_verdict = estelik_buffer{nullptr, 0};
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(bundle_path, "bundle_path"));
    evidence::VerifyOptions options;
    if (expected_exporter != nullptr) {
      estelik::log::PublicKey key;
      std::copy(expected_exporter, expected_exporter + key.size(), key.begin());
      options.expected_exporter = key;
    }
    ESTELIK_ASSIGN_OR_RETURN(auto verdict, evidence::VerifyBundle(bundle_path, options));
    if (out_verdict != nullptr) ESTELIK_RETURN_IF_ERROR(render(verdict, out_verdict));
    if (verdict.ok) return Status::Ok();
    // The verdict (with every problem) is in out_verdict; the error carries the headline.
    return Status(Code::kCorrupt, "evidence bundle does not verify: " +
                                      (verdict.problems.empty() ? std::string("no reason given")
                                                                : verdict.problems.front()));
  });
}

Status ReportProto(const evidence::ExportReport& report, estelik_buffer* out) {
  return ToBuffer(evidence::ExportReportProto(report), out);
}
Status ReportJson(const evidence::ExportReport& report, estelik_buffer* out) {
  return ToBuffer(evidence::ExportReportJson(report), out);
}
Status VerdictProto(const evidence::Verdict& verdict, estelik_buffer* out) {
  return ToBuffer(evidence::VerdictProto(verdict), out);
}
Status VerdictJson(const evidence::Verdict& verdict, estelik_buffer* out) {
  return ToBuffer(evidence::VerdictJson(verdict), out);
}

}  // namespace

extern "C" {

estelik_status estelik_evidence_export(estelik_vault* vault, const char* const* testimony_ids,
                                       size_t count, const char* out_path,
                                       const estelik_progress* progress, estelik_buffer* out_report,
                                       estelik_error* err) {
  return Export(vault, testimony_ids, count, out_path, progress, out_report, err, ReportProto);
}

estelik_status estelik_evidence_verify(const char* bundle_path, const uint8_t* expected_exporter,
                                       estelik_buffer* out_verdict, estelik_error* err) {
  return Verify(bundle_path, expected_exporter, out_verdict, err, VerdictProto);
}

estelik_status estelik_export(estelik_vault* vault, const char* const* testimony_ids, size_t count,
                              const char* out_path, estelik_buffer* out_report,
                              estelik_error* err) {
  return Export(vault, testimony_ids, count, out_path, nullptr, out_report, err, ReportJson);
}

estelik_status estelik_verify(const char* bundle_path, const uint8_t* expected_exporter,
                              estelik_buffer* out_verdict, estelik_error* err) {
  return Verify(bundle_path, expected_exporter, out_verdict, err, VerdictJson);
}

}  // extern "C"
