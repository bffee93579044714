// Maintenance verbs: rebuild.
#include <cstdio>

#include "core/bytes.h"
#include "platform/cli/commands.h"
#include "platform/cli/print.h"

namespace estelik::cli {

Status RunRebuild(const Context& ctx) {
  if (!ctx.args.positional().empty()) return InvalidArgument("rebuild takes no arguments");
  ESTELIK_ASSIGN_OR_RETURN(auto archive, ctx.OpenArchive());
  ESTELIK_ASSIGN_OR_RETURN(auto before, archive->StateHash());
  const std::string before_hex = Hex(std::string(before.begin(), before.end()));
  if (!ctx.json) std::printf("state before: %s\n", before_hex.c_str());
  Result<archive::Archive::RebuildReport> report = archive->Rebuild();
  if (!report.ok()) {
    if (!ctx.json) std::printf("state after:  (rolled back)\n");
    return report.status();
  }
  const std::string after_hex = Hex(std::string(report->after.begin(), report->after.end()));
  if (ctx.json) {
    std::printf(
        "{\"before\":\"%s\",\"after\":\"%s\",\"applied\":%zu,\"redacted\":%zu,"
        "\"unreadable\":%zu}\n",
        before_hex.c_str(), after_hex.c_str(), report->applied, report->redacted,
        report->unreadable);
  } else {
    std::printf("state after:  %s\n", after_hex.c_str());
    std::printf("rebuilt from %zu ops (%zu redacted, %zu carried without a key)\n", report->applied,
                report->redacted, report->unreadable);
  }
  return Status::Ok();
}

}  // namespace estelik::cli
