// The estelik command's verbs. Each takes the parsed arguments and returns a Status; main()
// turns a failed Status into a message on stderr and an exit code.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/archive/archive.h"
#include "core/status.h"
#include "platform/cli/args.h"

namespace estelik::cli {

struct Context {
  Args args;
  bool json = false;
  std::string vault_dir;  // from --vault or ESTELIK_VAULT
  // Opens the vault, asking for the passphrase.
  Result<std::unique_ptr<archive::Archive>> OpenArchive() const;
};

struct Command {
  const char* name;
  const char* summary;
  const char* usage;                       // flags and arguments, one per line, with an example
  std::vector<std::string> flags;          // flags taking a value
  std::vector<std::string> boolean_flags;  // flags taking none
  Status (*run)(const Context&);
};

const std::vector<Command>& Commands();

// Exit codes (also in `estelik --help`).
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitWrongPassphrase = 3;
inline constexpr int kExitNotFound = 4;
inline constexpr int kExitCorrupt = 5;
int ExitCodeFor(const Status& status);

// Verbs, by file.
Status RunInit(const Context& ctx);
Status RunPasswd(const Context& ctx);
Status RunRekey(const Context& ctx);
Status RunAdd(const Context& ctx);
Status RunEdit(const Context& ctx);
Status RunShow(const Context& ctx);
Status RunList(const Context& ctx);
Status RunHistory(const Context& ctx);
Status RunWithdraw(const Context& ctx);
Status RunSearch(const Context& ctx);
Status RunAttachment(const Context& ctx);
Status RunImport(const Context& ctx);
Status RunWipe(const Context& ctx);
Status RunDuress(const Context& ctx);
Status RunLock(const Context& ctx);
Status RunGuard(const Context& ctx);
Status RunSettings(const Context& ctx);
Status RunId(const Context& ctx);
Status RunContacts(const Context& ctx);
Status RunCircles(const Context& ctx);
Status RunShare(const Context& ctx);
Status RunServe(const Context& ctx);
Status RunSync(const Context& ctx);
Status RunTag(const Context& ctx);
Status RunUntag(const Context& ctx);
Status RunAnnotate(const Context& ctx);
Status RunRebuild(const Context& ctx);
Status RunExport(const Context& ctx);  // evidence_commands.cc
Status RunVerify(const Context& ctx);

}  // namespace estelik::cli
