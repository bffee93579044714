#include "core/evidence/report_json.h"

#include <algorithm>

#include "core/bytes.h"
#include "core/json.h"
#include "core/log/identity.h"

namespace estelik::evidence {
namespace {

void WriteTestimony(JsonWriter& w, const VerdictTestimony& t) {
  w.BeginObject();
  w.Key("id").String(Hex(t.id));
  w.Key("author").String(Hex(t.author));
  w.Key("versions").Uint(t.versions);
  w.Key("attachments").Uint(t.attachments);
  w.Key("ops").Uint(t.ops);
  w.Key("withdrawn").Bool(t.withdrawn);
  w.Key("exporter_note").String(t.exporter_note);
  w.EndObject();
}

void WriteKey(JsonWriter& w, const std::string& key) {
  w.BeginObject().Key("key").String(Hex(key));
  w.Key("fingerprint").String(KeyFingerprint(key)).EndObject();
}

}  // namespace

std::string KeyFingerprint(const std::string& key) {
  log::PublicKey k{};
  if (key.size() == k.size()) std::copy(key.begin(), key.end(), k.begin());
  return log::Fingerprint(k);
}

std::string ExportReportJson(const ExportReport& report) {
  JsonWriter w;
  w.BeginObject();
  w.Key("bundle_path").String(report.bundle_path);
  w.Key("testimonies").Uint(report.testimonies);
  w.Key("ops").Uint(report.ops);
  w.Key("attachments").Uint(report.attachments);
  w.Key("bytes").Uint(report.bytes);
  w.Key("withdrawn").BeginArray();
  for (const std::string& id : report.withdrawn) w.String(Hex(id));
  w.EndArray();
  w.Key("manifest_hash").String(report.manifest_hash);
  w.Key("exporter").String(Hex(report.exporter));
  w.Key("exporter_fingerprint").String(KeyFingerprint(report.exporter));
  w.EndObject();
  return w.str();
}

std::string VerdictJson(const Verdict& verdict) {
  JsonWriter w;
  w.BeginObject();
  w.Key("ok").Bool(verdict.ok);
  w.Key("problems").StringArray(verdict.problems);
  w.Key("exporter").String(Hex(verdict.exporter));
  w.Key("exporter_fingerprint").String(KeyFingerprint(verdict.exporter));
  w.Key("exported_unix_ms").Uint(verdict.exported_unix_ms);
  w.Key("manifest_hash").String(verdict.manifest_hash);
  w.Key("authors").BeginArray();
  for (const std::string& a : verdict.authors) WriteKey(w, a);
  w.EndArray();
  w.Key("testimonies").BeginArray();
  for (const VerdictTestimony& t : verdict.testimonies) WriteTestimony(w, t);
  w.EndArray();
  w.Key("ops").Uint(verdict.ops);
  w.Key("versions").Uint(verdict.versions);
  w.Key("attachments").Uint(verdict.attachments);
  w.EndObject();
  return w.str();
}

}  // namespace estelik::evidence
