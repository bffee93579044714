// Verbs for a survivor under pressure: wipe and duress.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "platform/cli/commands.h"
#include "platform/cli/terminal.h"

namespace estelik::cli {

Status RunWipe(const Context& ctx) {
  if (ctx.vault_dir.empty())
    return InvalidArgument("no vault: pass --vault DIR or set ESTELIK_VAULT");
  if (!vault::Vault::Exists(ctx.vault_dir)) return NotFound("no vault in " + ctx.vault_dir);
  if (!ctx.args.Has("yes")) {
    if (isatty(STDIN_FILENO) != 1) {
      return InvalidArgument("wipe destroys the vault for good; confirm with --yes");
    }
    std::fprintf(stderr, "Destroy the vault in %s for good? Type 'wipe' to confirm: ",
                 ctx.vault_dir.c_str());
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "wipe") return Status(Code::kAborted, "nothing was wiped");
  }
  ESTELIK_RETURN_IF_ERROR(vault::Vault::Wipe(ctx.vault_dir));
  std::printf(ctx.json ? "{\"wiped\":true}\n"
                       : "Wiped: the keys are destroyed and the files deleted.\n");
  return Status::Ok();
}

Status RunDuress(const Context& ctx) {
  const auto& pos = ctx.args.positional();
  if (pos.size() != 1 || (pos[0] != "set" && pos[0] != "clear")) {
    return InvalidArgument("expected `estelik duress set` or `estelik duress clear`");
  }
  ESTELIK_ASSIGN_OR_RETURN(auto archive, ctx.OpenArchive());
  if (pos[0] == "set") {
    ESTELIK_ASSIGN_OR_RETURN(std::string duress,
                             ReadNewPassphrase("Duress passphrase: ", "ESTELIK_DURESS_PASSPHRASE"));
    ESTELIK_RETURN_IF_ERROR(archive->vault().SetDuressPassphrase(duress));
    std::printf(ctx.json ? "{\"duress\":true}\n"
                         : "Duress passphrase set. Opening the vault with it destroys this vault\n"
                           "silently and opens an empty one.\n");
  } else {
    ESTELIK_RETURN_IF_ERROR(archive->vault().ClearDuressPassphrase());
    std::printf(ctx.json ? "{\"duress\":false}\n" : "Duress passphrase removed.\n");
  }
  return Status::Ok();
}

}  // namespace estelik::cli
