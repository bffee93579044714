// `estelik lock`, `estelik wipe`, `estelik guard` and auto-lock as a survivor meets them: real
// estelik processes on a real vault, a real server on 127.0.0.1, real signals.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/vault/holder.h"
#include "tests/support/command.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace estelik {
namespace {

namespace fs = std::filesystem;
using testing::ReadFileBytes;
using testing::TempDir;
using testing::WaitUntil;

const std::string kEstelik = ESTELIK_BINARY_DIR "/platform/cli/estelik";
constexpr char kPassphrase[] = "safety test passphrase";

using CliRun = testing::CommandRun;  // stdout and stderr together
std::string Quote(const std::string& s) { return testing::ShellQuote(s); }

// A child process with stdout and stderr in files.
struct Child {
  pid_t pid = -1;
  std::string out_path;
  std::string err_path;
  std::string Out() const { return ReadFileBytes(out_path); }
  std::string Err() const { return ReadFileBytes(err_path); }
};

class SafetyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vault_ = tmp_.File("vault");
    CliRun init = Estelik("init --kdf interactive");
    ASSERT_EQ(init.exit_code, 0) << init.out;
  }

  void TearDown() override {
    for (pid_t pid : children_) {
      if (::waitpid(pid, nullptr, WNOHANG) == 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  }

  CliRun Estelik(const std::string& args, const std::string& passphrase = kPassphrase) {
    std::string cmd = "ESTELIK_PASSPHRASE=" + Quote(passphrase) + " " + Quote(kEstelik) +
                      " --vault " + Quote(vault_) + " " + args + " 2>&1 </dev/null";
    return testing::RunCommand(cmd);
  }

  Child Spawn(const std::vector<std::string>& argv, const std::string& name) {
    Child child;
    child.out_path = tmp_.File(name + ".out");
    child.err_path = tmp_.File(name + ".err");
    testing::ChildIo io;
    io.out = ::open(child.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    io.err = ::open(child.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    child.pid = testing::SpawnProcess(argv, io, {{"ESTELIK_PASSPHRASE", kPassphrase}});
    ::close(io.out);
    ::close(io.err);
    children_.push_back(child.pid);
    return child;
  }

  // Starts `estelik serve` on a free port and waits until it listens. Returns "127.0.0.1:PORT".
  std::string StartServer(Child& server) {
    server = Spawn({kEstelik, "--vault", vault_, "serve", "--listen", "127.0.0.1:0"}, "serve");
    std::string out;
    bool exited = false;
    const bool said = WaitUntil([&] {
      if ((out = server.Out()).find('\n') != std::string::npos) return true;
      exited = ::waitpid(server.pid, nullptr, WNOHANG) != 0;
      return exited;
    });
    if (!said || exited) {
      ADD_FAILURE() << "serve did not start: " << server.Err();
      return "";
    }
    // "listening on 127.0.0.1:PORT as FINGERPRINT"
    size_t at = out.find("listening on ");
    if (at == std::string::npos) return "";
    size_t start = at + 13;
    return out.substr(start, out.find(' ', start) - start);
  }

  // Waits for `child` to exit (bounded) and returns its exit code, or -1.
  int WaitExit(const Child& child) {
    int status = 0;
    if (!WaitUntil([&] { return ::waitpid(child.pid, &status, WNOHANG) != 0; })) {
      return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  TempDir tmp_;
  std::string vault_;
  std::vector<pid_t> children_;
};

TEST_F(SafetyTest, LockMakesARunningServerDropItsKeysAndStopWithoutAPassphrase) {
  Child server;
  std::string address = StartServer(server);
  ASSERT_FALSE(address.empty());
  ASSERT_EQ(vault::ListHolders(vault_).size(), 1u);

  CliRun lock = Estelik("lock", /*passphrase=*/"");
  EXPECT_EQ(lock.exit_code, 0) << lock.out;
  EXPECT_NE(lock.out.find("locked 1 process(es)"), std::string::npos) << lock.out;

  EXPECT_EQ(WaitExit(server), 1);
  EXPECT_NE(server.Err().find("panic lock"), std::string::npos) << server.Err();
  EXPECT_TRUE(vault::ListHolders(vault_).empty());
  // Nothing answers with this vault's keys any more.
  CliRun sync = Estelik("sync " + address);
  EXPECT_NE(sync.exit_code, 0) << sync.out;
  // The vault itself is intact: the passphrase opens it again.
  EXPECT_EQ(Estelik("list").exit_code, 0);
}

TEST_F(SafetyTest, LockStopsAContinuousSyncThatIsStillRetrying) {
  // Nothing listens on port 1: `sync --watch` keeps the vault open and retries with backoff.
  // (A dial needs a contact to dial: the Ed25519 base point stands in for one.)
  ASSERT_EQ(Estelik("contacts add 5866666666666666666666666666666666666666666666666666666666666666")
                .exit_code,
            0);
  Child sync = Spawn({kEstelik, "--vault", vault_, "sync", "127.0.0.1:1", "--watch", "60"}, "sync");
  bool exited = false;
  ASSERT_TRUE(WaitUntil([&] {
    if (!vault::ListHolders(vault_).empty()) return true;
    exited = ::waitpid(sync.pid, nullptr, WNOHANG) != 0;
    return exited;
  })) << sync.Err();
  ASSERT_FALSE(exited) << sync.Err();
  CliRun lock = Estelik("lock", /*passphrase=*/"");
  EXPECT_EQ(lock.exit_code, 0) << lock.out;
  EXPECT_NE(lock.out.find("locked 1 process(es)"), std::string::npos) << lock.out;
  EXPECT_EQ(WaitExit(sync), 1);
  EXPECT_NE(sync.Err().find("panic lock"), std::string::npos) << sync.Err();
  EXPECT_TRUE(vault::ListHolders(vault_).empty());
}

TEST_F(SafetyTest, LockWithNothingRunningSaysNothingWasUnlocked) {
  CliRun lock = Estelik("lock", /*passphrase=*/"");
  EXPECT_EQ(lock.exit_code, 0) << lock.out;
  EXPECT_NE(lock.out.find("no running process held the vault; nothing was unlocked"),
            std::string::npos)
      << lock.out;
}

TEST_F(SafetyTest, LockNeverSignalsAnotherProgramNamedByAStaleHolderFile) {
  // A stale holder file naming a live process that is not estelik (pid reuse), with the
  // right start time even: it must be left alone.
  Child sleeper = Spawn({"/bin/sleep", "60"}, "sleep");
  std::optional<uint64_t> start;
  // Wait until the child has exec'ed sleep (its start time is that of the fork either way).
  ASSERT_TRUE(WaitUntil([&] {
    return fs::read_symlink("/proc/" + std::to_string(sleeper.pid) + "/exe").filename() == "sleep";
  }));
  start = vault::ProcessStartTime(sleeper.pid);
  ASSERT_TRUE(start.has_value());
  const fs::path stale = fs::path(vault_) / ("vault.holder." + std::to_string(sleeper.pid));
  std::ofstream(stale) << sleeper.pid << " " << *start << "\n";

  CliRun lock = Estelik("lock", /*passphrase=*/"");
  EXPECT_EQ(lock.exit_code, 0) << lock.out;
  EXPECT_NE(lock.out.find("nothing was unlocked"), std::string::npos) << lock.out;
  EXPECT_EQ(::waitpid(sleeper.pid, nullptr, WNOHANG), 0) << "sleep was signalled";
  EXPECT_FALSE(fs::exists(stale));
}

TEST_F(SafetyTest, WipeDestroysTheVaultAndStopsTheProcessesHoldingIt) {
  Child server;
  ASSERT_FALSE(StartServer(server).empty());
  CliRun wipe = Estelik("wipe --yes", /*passphrase=*/"");
  EXPECT_EQ(wipe.exit_code, 0) << wipe.out;
  EXPECT_NE(wipe.out.find("locked 1 process(es)"), std::string::npos) << wipe.out;
  EXPECT_EQ(WaitExit(server), 1);
  EXPECT_NE(server.Err().find("panic lock"), std::string::npos) << server.Err();
  EXPECT_FALSE(fs::exists(vault_));
}

TEST_F(SafetyTest, WipeWithoutYesAndNoTerminalToConfirmOnRefusesAndKeepsTheVault) {
  CliRun wipe = Estelik("wipe", /*passphrase=*/"");
  EXPECT_EQ(wipe.exit_code, 2) << wipe.out;
  EXPECT_NE(wipe.out.find("--yes"), std::string::npos) << wipe.out;
  EXPECT_TRUE(fs::exists(fs::path(vault_) / "vault.key"));
  EXPECT_EQ(Estelik("list").exit_code, 0);
}

TEST_F(SafetyTest, ServeLocksItselfAfterTheVaultsAutoLockTimeWithoutASession) {
  CliRun set = Estelik("settings auto-lock 1");
  ASSERT_EQ(set.exit_code, 0) << set.out;
  EXPECT_NE(set.out.find("auto-lock: after 1 s idle"), std::string::npos) << set.out;
  Child server;
  ASSERT_FALSE(StartServer(server).empty());
  EXPECT_EQ(WaitExit(server), 0);
  EXPECT_NE(server.Err().find("auto-lock"), std::string::npos) << server.Err();
  EXPECT_TRUE(vault::ListHolders(vault_).empty());
}

TEST_F(SafetyTest, ServeRefusesToAnnounceItselfUnderThePublicDefaultNetworkKey) {
  // Beacons under the public key would tell everyone on the Wi-Fi "Estelik server, port P".
  CliRun serve = Estelik("serve --listen 127.0.0.1:0 --discover");
  EXPECT_NE(serve.exit_code, 0) << serve.out;
  EXPECT_NE(serve.out.find("LAN discovery refused: the network key is the public default"),
            std::string::npos)
      << serve.out;
  EXPECT_EQ(serve.out.find("listening on"), std::string::npos) << serve.out;
  EXPECT_TRUE(vault::ListHolders(vault_).empty());
}

TEST_F(SafetyTest, GuardWipesTheVaultAtTheNthWrongPassphraseWhateverTheCommand) {
  CliRun set = Estelik("guard set 2");
  ASSERT_EQ(set.exit_code, 0) << set.out;
  CliRun settings = Estelik("settings");
  EXPECT_NE(settings.out.find("wipe after failed unlocks: 2"), std::string::npos) << settings.out;
  CliRun first = Estelik("list", "wrong");
  EXPECT_EQ(first.exit_code, 3) << first.out;
  ASSERT_TRUE(fs::exists(fs::path(vault_) / "vault.key"));
  CliRun second = Estelik("search anything", "also wrong");
  EXPECT_EQ(second.exit_code, 3) << second.out;
  EXPECT_NE(second.out.find("wrong passphrase"), std::string::npos) << second.out;
  EXPECT_FALSE(fs::exists(vault_));
}

}  // namespace
}  // namespace estelik
