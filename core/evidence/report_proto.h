// The protobuf form of an export report and of a verdict (pb::ExportReport, pb::Verdict in
// proto/api.proto), as estelik_evidence_export and estelik_evidence_verify return them.
//
// Thread safety: pure functions of their argument.
#pragma once

#include "core/evidence/evidence.h"
#include "proto/api.pb.h"

namespace estelik::evidence {

pb::ExportReport ExportReportProto(const ExportReport& report);
pb::Verdict VerdictProto(const Verdict& verdict);

}  // namespace estelik::evidence
