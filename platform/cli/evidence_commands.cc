// estelik export / estelik verify: evidence bundles (core/evidence).
#include <cstdio>
#include <memory>
#include <string>

#include "core/evidence/evidence.h"
#include "platform/cli/commands.h"
#include "platform/cli/print.h"
#include "platform/cli/terminal.h"

namespace estelik::cli {
namespace {

std::string Fp(const std::string& key) {
  log::PublicKey k{};
  if (key.size() == k.size()) std::copy(key.begin(), key.end(), k.begin());
  return log::Fingerprint(k);
}

// 64 hex digits (as `estelik id` prints the key) or the QR payload.
Result<log::PublicKey> ParseKey(const std::string& text) {
  if (text.size() == 64 && text.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos) {
    log::PublicKey k{};
    for (size_t i = 0; i < k.size(); ++i) {
      k[i] = static_cast<uint8_t>(std::stoi(text.substr(2 * i, 2), nullptr, 16));
    }
    return k;
  }
  return log::ParseQrPayload(text);
}

void PrintVerdictJson(const evidence::Verdict& v) {
  JsonWriter w;
  w.BeginObject();
  w.Key("ok").Bool(v.ok);
  w.Key("problems").StringArray(v.problems);
  w.Key("exporter").String(HexId(v.exporter));
  w.Key("exporter_fingerprint").String(Fp(v.exporter));
  w.Key("exported_unix_ms").Uint(v.exported_unix_ms);
  w.Key("manifest_hash").String(v.manifest_hash);
  w.Key("authors").BeginArray();
  for (const auto& a : v.authors) {
    w.BeginObject().Key("key").String(HexId(a)).Key("fingerprint").String(Fp(a)).EndObject();
  }
  w.EndArray();
  w.Key("testimonies").BeginArray();
  for (const auto& t : v.testimonies) {
    w.BeginObject();
    w.Key("id").String(HexId(t.id));
    w.Key("author").String(HexId(t.author));
    w.Key("versions").Uint(t.versions);
    w.Key("attachments").Uint(t.attachments);
    w.Key("ops").Uint(t.ops);
    w.Key("withdrawn").Bool(t.withdrawn);
    w.EndObject();
  }
  w.EndArray();
  w.Key("ops").Uint(v.ops);
  w.Key("versions").Uint(v.versions);
  w.Key("attachments").Uint(v.attachments);
  w.EndObject();
  std::printf("%s\n", w.str().c_str());
}

void PrintVerdictText(const evidence::Verdict& v) {
  if (v.ok) {
    std::printf(
        "VERIFIED: %zu testimon%s, %zu version(s), %zu attachment(s), %zu signed op(s); "
        "nothing changed since export\n",
        v.testimonies.size(), v.testimonies.size() == 1 ? "y" : "ies", v.versions, v.attachments,
        v.ops);
  } else {
    std::printf("FAILED: %s\n", v.problems.front().c_str());
    for (size_t i = 1; i < v.problems.size(); ++i) {
      std::printf("  also: %s\n", v.problems[i].c_str());
    }
  }
  if (!v.exporter.empty()) {
    std::printf("exported by   %s\n", Fp(v.exporter).c_str());
  }
  for (const auto& t : v.testimonies) {
    std::printf("testimony %s  author %s  %zu version(s), %zu attachment(s)%s\n",
                HexId(t.id).c_str(), Fp(t.author).c_str(), t.versions, t.attachments,
                t.withdrawn ? ", WITHDRAWN (tombstone only)" : "");
  }
  std::printf("manifest      %s\n", v.manifest_hash.c_str());
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
  };
  ESTELIK_ASSIGN_OR_RETURN(evidence::ExportReport report,
                           evidence::ExportBundle(*archive, ids, *out, options));
  if (bar) bar->Finish();
  if (ctx.json) {
    JsonWriter w;
    w.BeginObject();
    w.Key("bundle").String(report.bundle_path);
    w.Key("testimonies").Uint(report.testimonies);
    w.Key("ops").Uint(report.ops);
    w.Key("attachments").Uint(report.attachments);
    w.Key("bytes").Uint(report.bytes);
    w.Key("withdrawn").BeginArray();
    for (const auto& id : report.withdrawn) w.String(HexId(id));
    w.EndArray();
    w.Key("manifest_hash").String(report.manifest_hash);
    w.Key("exporter_fingerprint").String(log::Fingerprint(archive->identity().public_key()));
    w.EndObject();
    std::printf("%s\n", w.str().c_str());
  } else {
    std::printf("exported %zu testimon%s (%zu signed ops, %zu attachment(s), %s) to %s\n",
                report.testimonies, report.testimonies == 1 ? "y" : "ies", report.ops,
                report.attachments, HumanSize(report.bytes).c_str(), report.bundle_path.c_str());
    for (const auto& id : report.withdrawn) {
      std::printf("  %s is withdrawn: only its tombstone is included\n", HexId(id).c_str());
    }
    std::printf("manifest %s\nsigned by %s (give the investigator this fingerprint)\n",
                report.manifest_hash.c_str(),
                log::Fingerprint(archive->identity().public_key()).c_str());
  }
  return Status::Ok();
}

Status RunVerify(const Context& ctx) {
  if (ctx.args.positional().size() != 1)
    return InvalidArgument("verify one bundle: estelik verify BUNDLE");
  evidence::VerifyOptions options;
  if (auto exporter = ctx.args.Get("exporter")) {
    ESTELIK_ASSIGN_OR_RETURN(log::PublicKey key, ParseKey(*exporter));
    options.expected_exporter = key;
  }
  ESTELIK_ASSIGN_OR_RETURN(evidence::Verdict v,
                           evidence::VerifyBundle(ctx.args.positional()[0], options));
  if (ctx.json) {
    PrintVerdictJson(v);
  } else {
    PrintVerdictText(v);
  }
  if (!v.ok) return Corrupt("bundle failed verification: " + v.problems.front());
  return Status::Ok();
}

}  // namespace estelik::cli
