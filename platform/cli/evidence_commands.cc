// estelik export / estelik verify: evidence bundles (core/evidence).
#include <cstdio>
#include <memory>
#include <string>

#include "core/bytes.h"
#include "core/evidence/evidence.h"
#include "core/evidence/report_json.h"
#include "platform/cli/commands.h"
#include "platform/cli/print.h"
#include "platform/cli/terminal.h"

namespace estelik::cli {
namespace {

void PrintVerdictText(const evidence::Verdict& v, bool exporter_named) {
  if (v.ok) {
    std::printf(
        "VERIFIED: %zu testimon%s, %zu version(s), %zu attachment(s), %zu signed op(s); "
        "nothing changed since export\n",
        v.testimonies.size(), v.testimonies.size() == 1 ? "y" : "ies", v.versions, v.attachments,
        v.ops);
  } else {
    // A problem may quote a name from the bundle (an added file): made printable.
    std::printf("FAILED: %s\n", Printable(v.problems.front()).c_str());
    for (size_t i = 1; i < v.problems.size(); ++i) {
      std::printf("  also: %s\n", Printable(v.problems[i]).c_str());
    }
  }
  if (!v.exporter.empty()) {
    std::printf("exported by   %s\n", evidence::KeyFingerprint(v.exporter).c_str());
  }
  bool unconfirmed = false;
  for (const auto& t : v.testimonies) {
    std::printf("testimony %s  author %s  %zu version(s), %zu attachment(s)%s\n", Hex(t.id).c_str(),
                evidence::KeyFingerprint(t.author).c_str(), t.versions, t.attachments,
                t.withdrawn ? ", WITHDRAWN (tombstone only)" : "");
    if (!t.exporter_note.empty()) std::printf("  %s\n", t.exporter_note.c_str());
    unconfirmed = unconfirmed || (!t.exporter_note.empty() && !exporter_named);
  }
  std::printf("manifest      %s\n", v.manifest_hash.c_str());
  if (unconfirmed) {
    std::printf(
        "Someone other than the author exported this. If you trust that exporter to have left\n"
        "nothing out, confirm the fingerprint with them out of band, then run:\n"
        "  estelik verify BUNDLE --exporter %s\n",
        Hex(v.exporter).c_str());
  }
}

}  // namespace

Status RunExport(const Context& ctx) {
  if (ctx.args.positional().empty())
    return InvalidArgument("which testimony? (estelik export ID... --out BUNDLE)");
  std::optional<std::string> out = ctx.args.Get("out");
  if (!out || out->empty()) return InvalidArgument("where to? pass --out BUNDLE (a new folder)");
  ESTELIK_ASSIGN_OR_RETURN(auto archive, ctx.OpenArchive());
  std::vector<std::string> ids;
  for (const auto& p : ctx.args.positional()) {
    ESTELIK_ASSIGN_OR_RETURN(std::string id, archive->ResolveId(p));
    ids.push_back(std::move(id));
  }
  evidence::ExportOptions options;
  std::unique_ptr<ProgressBar> bar;
  options.progress = [&](uint64_t done, uint64_t total) {
    if (!bar) bar = std::make_unique<ProgressBar>("attachments", total);
    bar->Update(done);
    return true;
  };
  ESTELIK_ASSIGN_OR_RETURN(evidence::ExportReport report,
                           evidence::ExportBundle(*archive, ids, *out, options));
  if (bar) bar->Finish();
  if (ctx.json) {
    std::printf("%s\n", evidence::ExportReportJson(report).c_str());
  } else {
    std::printf("exported %zu testimon%s (%zu signed ops, %zu attachment(s), %s) to %s\n",
                report.testimonies, report.testimonies == 1 ? "y" : "ies", report.ops,
                report.attachments, HumanSize(report.bytes).c_str(), report.bundle_path.c_str());
    for (const auto& id : report.withdrawn) {
      std::printf("  %s is withdrawn: only its tombstone is included\n", Hex(id).c_str());
    }
    std::printf("manifest %s\nsigned by %s (give the investigator this fingerprint)\n",
                report.manifest_hash.c_str(), evidence::KeyFingerprint(report.exporter).c_str());
  }
  return Status::Ok();
}

Status RunVerify(const Context& ctx) {
  if (ctx.args.positional().size() != 1)
    return InvalidArgument("verify one bundle: estelik verify BUNDLE");
  evidence::VerifyOptions options;
  if (auto exporter = ctx.args.Get("exporter")) {
    ESTELIK_ASSIGN_OR_RETURN(log::PublicKey key, log::ParsePublicKey(*exporter));
    options.expected_exporter = key;
  }
  ESTELIK_ASSIGN_OR_RETURN(evidence::Verdict v,
                           evidence::VerifyBundle(ctx.args.positional()[0], options));
  if (ctx.json) {
    std::printf("%s\n", evidence::VerdictJson(v).c_str());
  } else {
    PrintVerdictText(v, options.expected_exporter.has_value());
  }
  if (!v.ok) return Corrupt("bundle failed verification: " + v.problems.front());
  return Status::Ok();
}

}  // namespace estelik::cli
