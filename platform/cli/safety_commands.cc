// Verbs for a survivor under pressure: lock, wipe, duress, guard, and the auto-lock setting.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "core/vault/holder.h"
#include "core/vault/unlock_guard.h"
#include "platform/cli/commands.h"
#include "platform/cli/terminal.h"

namespace estelik::cli {
namespace {

namespace fs = std::filesystem;

// How long lock and wipe wait for the holders to confirm. Dropping keys takes milliseconds;
// the bound only matters for a holder that hangs.
constexpr auto kConfirmTimeout = std::chrono::seconds(5);

Status NeedVaultDir(const Context& ctx) {
  if (ctx.vault_dir.empty())
    return InvalidArgument("no vault: pass --vault DIR or set ESTELIK_VAULT");
  return Status::Ok();
}

// The command name of process `pid` (/proc/<pid>/comm: the first 15 bytes of the name of the
// binary it runs), or "" if it is gone. Unlike /proc/<pid>/exe it stays readable for a process
// that turned core dumps off (PR_SET_DUMPABLE 0, as every estelik process does): reading exe
// would then need CAP_SYS_PTRACE, and a lock run by the same ordinary user could not tell its
// own serve from a stranger.
std::string CommandName(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

// Only a process that is the very one that registered (same start time) AND runs an estelik
// binary (or this very binary, under another name) is ever signalled: a stale file naming a
// recycled pid must never hit another program.
bool IsLiveEstelikHolder(const vault::HolderRecord& holder) {
  if (!vault::HolderIsAlive(holder)) return false;
  const std::string name = CommandName(std::to_string(holder.pid));
  if (name.empty()) return false;  // not ours to read: not ours to signal
  return name == CommandName("self") || name.rfind("estelik", 0) == 0;
}

struct LockReport {
  int signalled = 0;
  int confirmed = 0;
};

// Signals every live holder of the vault in `dir` (SIGUSR1: drop the keys, stop, exit) and
// waits, bounded, until each has removed its holder file. Stale files are removed.
LockReport LockHolders(const std::string& dir) {
  LockReport report;
  std::vector<vault::HolderRecord> signalled;
  for (const vault::HolderRecord& holder : vault::ListHolders(dir)) {
    if (holder.pid == ::getpid()) continue;
    if (!IsLiveEstelikHolder(holder)) {
      ::unlink(holder.path.c_str());  // its process is gone: nothing holds keys there
      continue;
    }
    if (::kill(holder.pid, SIGUSR1) == 0) signalled.push_back(holder);
  }
  report.signalled = static_cast<int>(signalled.size());
  const auto deadline = std::chrono::steady_clock::now() + kConfirmTimeout;
  while (!signalled.empty() && std::chrono::steady_clock::now() < deadline) {
    std::erase_if(signalled, [&report](const vault::HolderRecord& h) {
      std::error_code ec;
      // Confirmed: the holder removed its file after wiping its keys, or it is gone entirely
      // (an exited process holds no keys).
      if (!fs::exists(h.path, ec) || !vault::HolderIsAlive(h)) {
        ++report.confirmed;
        return true;
      }
      return false;
    });
    if (!signalled.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (const vault::HolderRecord& h : signalled) {
    std::fprintf(stderr, "process %d did not confirm the lock within %lld s\n",
                 static_cast<int>(h.pid), static_cast<long long>(kConfirmTimeout.count()));
  }
  return report;
}

Result<uint32_t> ParseCount(const std::string& text, uint32_t max, const std::string& what) {
  unsigned long long value = ULLONG_MAX;
  try {
    size_t used = 0;
    value = std::stoull(text, &used);
    if (used != text.size() || text[0] == '-') value = ULLONG_MAX;
  } catch (...) {
  }
  if (value > max) {
    return InvalidArgument(what + " must be a whole number from 0 to " + std::to_string(max) +
                           ", not '" + text + "'");
  }
  return static_cast<uint32_t>(value);
}

}  // namespace

Status RunLock(const Context& ctx) {
  ESTELIK_RETURN_IF_ERROR(NeedVaultDir(ctx));
  if (!vault::Vault::Exists(ctx.vault_dir)) return NotFound("no vault in " + ctx.vault_dir);
  LockReport report = LockHolders(ctx.vault_dir);
  if (ctx.json) {
    std::printf("{\"locked\":%d,\"unconfirmed\":%d}\n", report.confirmed,
                report.signalled - report.confirmed);
  } else if (report.signalled == 0) {
    std::printf("no running process held the vault; nothing was unlocked\n");
  } else {
    std::printf("locked %d process(es)\n", report.confirmed);
  }
  if (report.confirmed != report.signalled) {
    return Status(Code::kAborted, std::to_string(report.signalled - report.confirmed) +
                                      " process(es) did not confirm the lock");
  }
  return Status::Ok();
}

Status RunWipe(const Context& ctx) {
  ESTELIK_RETURN_IF_ERROR(NeedVaultDir(ctx));
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
  // Shred the key slots first: that is what makes every copy undecryptable. Then make the
  // processes holding the vault open drop their in-memory keys, then tidy up what they left.
  // The holders are locked even if the wipe failed half-way: their keys must go regardless.
  Status wiped = vault::Vault::Wipe(ctx.vault_dir);
  LockReport locked = LockHolders(ctx.vault_dir);
  ESTELIK_RETURN_IF_ERROR(wiped);
  for (const vault::HolderRecord& holder : vault::ListHolders(ctx.vault_dir)) {
    ::unlink(holder.path.c_str());
  }
  std::error_code ec;
  fs::remove(ctx.vault_dir, ec);  // only if empty
  if (ctx.json) {
    std::printf("{\"wiped\":true,\"locked\":%d}\n", locked.confirmed);
  } else {
    std::printf("Wiped: the keys are destroyed and the files deleted.\n");
    if (locked.signalled > 0) std::printf("locked %d process(es)\n", locked.confirmed);
  }
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
    ESTELIK_RETURN_IF_ERROR(archive->SetDuressPassphrase(duress));
    std::printf(ctx.json ? "{\"duress\":true}\n"
                         : "Duress passphrase set. Opening the vault with it destroys this vault\n"
                           "silently and opens an empty one.\n");
  } else {
    ESTELIK_RETURN_IF_ERROR(archive->ClearDuressPassphrase());
    std::printf(ctx.json ? "{\"duress\":false}\n" : "Duress passphrase removed.\n");
  }
  return Status::Ok();
}

Status RunGuard(const Context& ctx) {
  const auto& pos = ctx.args.positional();
  const bool set = pos.size() == 2 && pos[0] == "set";
  if (!set && !(pos.size() == 1 && pos[0] == "clear")) {
    return InvalidArgument("expected `estelik guard set N` or `estelik guard clear`");
  }
  uint32_t limit = 0;
  if (set) {
    ESTELIK_ASSIGN_OR_RETURN(limit, ParseCount(pos[1], vault::kMaxUnlockGuardLimit, "N"));
    if (limit == 0) return InvalidArgument("N must be at least 1; `guard clear` turns it off");
  }
  ESTELIK_ASSIGN_OR_RETURN(auto archive, ctx.OpenArchive());
  ESTELIK_RETURN_IF_ERROR(archive->SetUnlockGuard(limit));
  if (ctx.json) {
    std::printf("{\"wipe_after_failed_unlocks\":%u}\n", limit);
  } else if (limit == 0) {
    std::printf("Failed-unlock guard off.\n");
  } else {
    std::printf(
        "The %u%s consecutive wrong passphrase will wipe the vault, silently.\n"
        "It does not stop anyone who copies the files first.\n",
        limit,
        limit == 1   ? "st"
        : limit == 2 ? "nd"
        : limit == 3 ? "rd"
                     : "th");
  }
  return Status::Ok();
}

Status RunSettings(const Context& ctx) {
  const auto& pos = ctx.args.positional();
  const bool set = pos.size() == 2 && pos[0] == "auto-lock";
  if (!set && !pos.empty()) {
    return InvalidArgument("expected `estelik settings` or `estelik settings auto-lock SECONDS`");
  }
  uint32_t seconds = 0;
  if (set) {
    ESTELIK_ASSIGN_OR_RETURN(seconds,
                             ParseCount(pos[1], vault::kMaxAutoLockSeconds, "auto-lock SECONDS"));
  }
  ESTELIK_ASSIGN_OR_RETURN(auto archive, ctx.OpenArchive());
  if (set) ESTELIK_RETURN_IF_ERROR(archive->SetAutoLockSeconds(seconds));
  ESTELIK_ASSIGN_OR_RETURN(uint32_t auto_lock, archive->AutoLockSeconds());
  const uint32_t guard = archive->UnlockGuardLimit();
  if (ctx.json) {
    std::printf("{\"auto_lock_seconds\":%u,\"wipe_after_failed_unlocks\":%u}\n", auto_lock, guard);
    return Status::Ok();
  }
  if (auto_lock == 0) {
    std::printf("auto-lock: off\n");
  } else {
    std::printf("auto-lock: after %u s idle\n", auto_lock);
  }
  if (guard == 0) {
    std::printf("wipe after failed unlocks: off\n");
  } else {
    std::printf("wipe after failed unlocks: %u\n", guard);
  }
  return Status::Ok();
}

}  // namespace estelik::cli
