// estelik: the command-line shell over the Estelik engine. No engine logic lives here: each
// verb parses its flags, calls core/archive, and prints (text, or JSON with --json).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/process_hardening.h"
#include "platform/cli/commands.h"
#include "platform/cli/print.h"
#include "platform/cli/terminal.h"

namespace estelik::cli {
namespace {

constexpr char kOverview[] =
    "estelik: keep testimonies safe, share them device to device, prove them unaltered.\n"
    "\n"
    "usage: estelik [--vault DIR] [--json] COMMAND [ARGS...]\n"
    "       estelik COMMAND --help\n"
    "\n"
    "The vault folder comes from --vault or ESTELIK_VAULT. The passphrase comes from\n"
    "ESTELIK_PASSPHRASE when set, otherwise it is asked on the terminal without echo.\n"
    "Secrets never go on the command line: estelik removes ESTELIK_PASSPHRASE (and the other\n"
    "secret variables) from its environment as soon as it starts, and core dumps are off.\n"
    "--json prints one JSON document on stdout for scripts. Errors go to stderr.\n"
    "\n"
    "commands:\n";

constexpr char kExitCodes[] =
    "\nexit codes: 0 ok, 1 error, 2 usage error, 3 wrong passphrase, 4 not found,\n"
    "            5 vault or input corrupt or tampered\n";

void PrintOverview() {
  std::fputs(kOverview, stdout);
  for (const Command& c : Commands()) std::printf("  %-11s %s\n", c.name, c.summary);
  std::fputs(kExitCodes, stdout);
}

void PrintCommandHelp(const Command& c) {
  std::printf("estelik %s: %s\n\n%s", c.name, c.summary, c.usage);
}

int Fail(const Status& status) {
  std::fprintf(stderr, "estelik: %s\n", Printable(status.message()).c_str());
  return ExitCodeFor(status);
}

int Main(int argc, char** argv) {
  // Before anything holds a secret: no core dump of this process (it holds plaintext and keys
  // once a vault is open), and no secret left in the environment for /proc/<pid>/environ.
  if (Status hardened = DisableCoreDumps(); !hardened.ok()) return Fail(hardened);
  TakeSecretsFromEnvironment();
  std::vector<std::string> rest(argv + 1, argv + argc);
  // Global flags come before the verb.
  Context ctx;
  if (const char* env = std::getenv("ESTELIK_VAULT"); env != nullptr) ctx.vault_dir = env;
  size_t i = 0;
  for (; i < rest.size(); ++i) {
    const std::string& a = rest[i];
    if (a == "--json") {
      ctx.json = true;
    } else if (a == "--vault" && i + 1 < rest.size()) {
      ctx.vault_dir = rest[++i];
    } else if (a.rfind("--vault=", 0) == 0) {
      ctx.vault_dir = a.substr(8);
    } else if (a == "--help" || a == "-h" || a == "help") {
      PrintOverview();
      return kExitOk;
    } else if (a == "--version") {
      std::printf("estelik 0.1.0\n");
      return kExitOk;
    } else {
      break;
    }
  }
  if (i == rest.size()) {
    PrintOverview();
    return kExitUsage;
  }
  const std::string verb = rest[i];
  const Command* command = nullptr;
  for (const Command& c : Commands()) {
    if (verb == c.name) command = &c;
  }
  if (command == nullptr) {
    std::fprintf(stderr, "estelik: unknown command '%s' (see estelik --help)\n",
                 Printable(verb).c_str());
    return kExitUsage;
  }
  std::vector<std::string> verb_args(rest.begin() + static_cast<long>(i) + 1, rest.end());
  std::vector<std::string> booleans = command->boolean_flags;
  booleans.insert(booleans.end(), {"json", "help"});
  std::vector<std::string> values = command->flags;
  values.push_back("vault");
  Result<Args> args = Args::Parse(verb_args, values, booleans);
  if (!args.ok()) return Fail(args.status());
  if (args->Has("help")) {
    PrintCommandHelp(*command);
    return kExitOk;
  }
  ctx.args = std::move(args).value();
  if (ctx.args.Has("json")) ctx.json = true;
  if (auto v = ctx.args.Get("vault")) ctx.vault_dir = *v;
  Status status = command->run(ctx);
  if (!status.ok()) return Fail(status);
  return kExitOk;
}

}  // namespace
}  // namespace estelik::cli

int main(int argc, char** argv) { return estelik::cli::Main(argc, argv); }
