// A crash of an unlocked `estelik serve` leaves no plaintext and no secret behind (issue #16
// item 1): a real server on a vault holding a canary testimony, started with core dumps ON
// (the test raises its own core limit first, and the machine's core_pattern is whatever it is),
// killed with SIGABRT and with SIGSEGV. A test cannot set the core pattern, so it asserts what
// the OS was told while the server ran (core limit 0, not dumpable, no passphrase in its
// environment, no secret on its command line) and then scans everything the crash could have
// left in the server's working directory and the vault folder.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/command.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace estelik {
namespace {

namespace fs = std::filesystem;
using testing::ReadFileBytes;

const std::string kEstelik = ESTELIK_BINARY_DIR "/platform/cli/estelik";
constexpr char kPassphrase[] = "crash test passphrase 5e81c0";
constexpr char kCanary[] = "CANARY-a41f7d93-testimony";
const std::string kNetworkKeyHex(64, 'c');
constexpr int kNobody = 65534;

// The words after "Max core file size" in /proc/<pid>/limits: soft limit, hard limit, unit.
// (Parsed by hand: std::regex trips GCC 12's -Wmaybe-uninitialized in the sanitized build.)
std::vector<std::string> CoreLimitWords(const std::string& limits) {
  const std::string name = "Max core file size";
  const size_t at = limits.find(name);
  if (at == std::string::npos) return {};
  const size_t from = at + name.size();
  std::istringstream line(limits.substr(from, limits.find('\n', from) - from));
  std::vector<std::string> words;
  for (std::string w; line >> w;) words.push_back(w);
  return words;
}

class CrashDumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vault_ = tmp_.File("vault");
    work_ = tmp_.File("work");
    fs::create_directory(work_);
    key_file_ = tmp_.File("network.key");
    std::ofstream(key_file_) << kNetworkKeyHex << "\n";
    ASSERT_EQ(Cli("init --kdf interactive").exit_code, 0);
    testing::CommandRun add = Cli(std::string("add --title '") + kCanary + " title' --body '" +
                                  kCanary + " body' --lang en");
    ASSERT_EQ(add.exit_code, 0) << add.out;
    // As root, the server runs as nobody: then whether it is dumpable shows in who owns the files
    // of its /proc folder (root for a non-dumpable process), which a root process would hide.
    if (::geteuid() == 0) {
      uid_ = kNobody;
      for (const auto& e : fs::recursive_directory_iterator(tmp_.path())) {
        ASSERT_EQ(::lchown(e.path().c_str(), kNobody, kNobody), 0) << e.path();
      }
      ASSERT_EQ(::chown(tmp_.path().c_str(), kNobody, kNobody), 0);
    }
  }

  void TearDown() override {
    if (pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  testing::CommandRun Cli(const std::string& args) {
    return testing::RunCommand("ESTELIK_PASSPHRASE=" + testing::ShellQuote(kPassphrase) + " " +
                               testing::ShellQuote(kEstelik) + " --vault " +
                               testing::ShellQuote(vault_) + " " + args + " 2>&1 </dev/null");
  }

  // Starts `estelik serve` in work_ with the passphrase in its environment and core dumps on as
  // far as this process may turn them on; waits until it listens.
  void StartServer(const std::string& name) {
    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_CORE, &saved), 0);
    rlimit on = saved;
    on.rlim_cur = on.rlim_max;
    ASSERT_EQ(::setrlimit(RLIMIT_CORE, &on), 0);
    inherited_core_limit_ = on.rlim_cur;
    out_path_ = work_ + "/" + name + ".out";
    testing::ChildIo io;
    io.out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    io.err = ::open((work_ + "/" + name + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                    0644);
    pid_ = testing::SpawnProcess({kEstelik, "--vault", vault_, "serve", "--listen", "127.0.0.1:0",
                                  "--network-key-file", key_file_},
                                 io, {{"ESTELIK_PASSPHRASE", kPassphrase}}, {work_, uid_});
    ::close(io.out);
    ::close(io.err);
    ASSERT_EQ(::setrlimit(RLIMIT_CORE, &saved), 0);
    ASSERT_GT(pid_, 0);
    bool exited = false;
    ASSERT_TRUE(testing::WaitUntil([&] {
      if (ReadFileBytes(out_path_).find("listening on") != std::string::npos) return true;
      exited = ::waitpid(pid_, nullptr, WNOHANG) != 0;
      return exited;
    }));
    ASSERT_FALSE(exited) << ReadFileBytes(work_ + "/" + name + ".err");
  }

  // What the OS was told about the running server.
  void ExpectNothingToDumpOrShow() {
    const std::string proc = "/proc/" + std::to_string(pid_);
    const std::string limits = ReadFileBytes(proc + "/limits");
    ASSERT_FALSE(limits.empty());
    EXPECT_EQ(CoreLimitWords(limits), (std::vector<std::string>{"0", "0", "bytes"}))
        << "inherited core limit " << inherited_core_limit_ << "\n"
        << limits;
    const std::string environ = ReadFileBytes(proc + "/environ");
    EXPECT_EQ(environ.find(kPassphrase), std::string::npos) << "passphrase in /proc/pid/environ";
    const std::string cmdline = ReadFileBytes(proc + "/cmdline");
    EXPECT_NE(cmdline.find("serve"), std::string::npos) << cmdline;
    EXPECT_EQ(cmdline.find(kPassphrase), std::string::npos);
    EXPECT_EQ(cmdline.find(kNetworkKeyHex), std::string::npos);
    // Non-dumpable: the kernel makes root the owner of the files in the process's /proc
    // folder, so only a process with CAP_SYS_PTRACE reads its environ, mem or maps (another
    // process of the same user, or the server itself, is refused).
    struct stat st {};
    ASSERT_EQ(::stat((proc + "/environ").c_str(), &st), 0);
    const uid_t runs_as = uid_ >= 0 ? static_cast<uid_t>(uid_) : ::geteuid();
    ASSERT_NE(runs_as, 0u) << "cannot observe the dumpable flag of a root process";
    EXPECT_EQ(st.st_uid, 0u) << "serve (uid " << runs_as << ") is still dumpable";
  }

  // Kills the server with `sig` and checks the kernel wrote no core and that nothing in the
  // working directory or the vault folder holds the canary or the passphrase.
  void CrashAndScan(int sig) {
    ASSERT_EQ(::kill(pid_, sig), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid_, &status, 0), pid_);
    pid_ = -1;
    ASSERT_TRUE(WIFSIGNALED(status));
    // A sanitized build's handler turns SIGSEGV into abort() (abort_on_error=1).
    EXPECT_TRUE(WTERMSIG(status) == sig || (sig == SIGSEGV && WTERMSIG(status) == SIGABRT))
        << "killed by signal " << WTERMSIG(status);
    EXPECT_FALSE(WCOREDUMP(status)) << "the kernel dumped core";
    size_t scanned = 0;
    for (const std::string& dir : {work_, vault_}) {
      for (const fs::path& file : testing::ListFiles(dir)) {
        ++scanned;
        EXPECT_EQ(file.filename().string().rfind("core", 0), std::string::npos) << file;
        const std::string bytes = ReadFileBytes(file);
        EXPECT_EQ(bytes.find(kCanary), std::string::npos) << "canary in " << file;
        EXPECT_EQ(bytes.find(kPassphrase), std::string::npos) << "passphrase in " << file;
      }
    }
    EXPECT_GE(scanned, 3u);  // the vault's files and the server's output at least
  }

  testing::TempDir tmp_;
  std::string vault_, work_, key_file_, out_path_;
  int uid_ = -1;
  pid_t pid_ = -1;
  rlim_t inherited_core_limit_ = 0;
};

TEST_F(CrashDumpTest, AnUnlockedServerKilledWithSigabrtOrSigsegvLeavesNoPlaintextOrSecret) {
  for (int sig : {SIGABRT, SIGSEGV}) {
    SCOPED_TRACE(strsignal(sig));
    StartServer(std::string("serve-") + std::to_string(sig));
    ExpectNothingToDumpOrShow();
    CrashAndScan(sig);
  }
}

}  // namespace
}  // namespace estelik
