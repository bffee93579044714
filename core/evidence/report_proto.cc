#include "core/evidence/report_proto.h"

#include "core/evidence/report_json.h"

namespace estelik::evidence {

pb::ExportReport ExportReportProto(const ExportReport& report) {
  pb::ExportReport out;
  out.set_bundle_path(report.bundle_path);
  out.set_testimonies(report.testimonies);
  out.set_ops(report.ops);
  out.set_attachments(report.attachments);
  out.set_bytes(report.bytes);
  for (const std::string& id : report.withdrawn) out.add_withdrawn(id);
  out.set_manifest_hash(report.manifest_hash);
  out.set_exporter(report.exporter);
  out.set_exporter_fingerprint(KeyFingerprint(report.exporter));
  return out;
}

pb::Verdict VerdictProto(const Verdict& verdict) {
  pb::Verdict out;
  out.set_ok(verdict.ok);
  for (const std::string& problem : verdict.problems) out.add_problems(problem);
  out.set_exporter(verdict.exporter);
  // An unreadable manifest names no exporter: no fingerprint then.
  if (!verdict.exporter.empty()) out.set_exporter_fingerprint(KeyFingerprint(verdict.exporter));
  out.set_exported_unix_ms(verdict.exported_unix_ms);
  out.set_manifest_hash(verdict.manifest_hash);
  for (const std::string& key : verdict.authors) {
    pb::VerdictAuthor* author = out.add_authors();
    author->set_public_key(key);
    author->set_fingerprint(KeyFingerprint(key));
  }
  for (const VerdictTestimony& t : verdict.testimonies) {
    pb::VerdictTestimony* v = out.add_testimonies();
    v->set_testimony_id(t.id);
    v->set_author(t.author);
    v->set_versions(t.versions);
    v->set_attachments(t.attachments);
    v->set_ops(t.ops);
    v->set_withdrawn(t.withdrawn);
    v->set_exporter_note(t.exporter_note);
  }
  out.set_ops(verdict.ops);
  out.set_versions(verdict.versions);
  out.set_attachments(verdict.attachments);
  return out;
}

}  // namespace estelik::evidence
