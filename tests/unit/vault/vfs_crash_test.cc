// A writer killed with SIGKILL at random moments never loses a transaction it reported as
// committed, and the vault always reopens intact.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <set>

#include "tests/unit/vault/vfs_test_util.h"

namespace estelik::vault::vfstest {
namespace {

const std::string kWriter = std::string(ESTELIK_BINARY_DIR) + "/tests/tools/vfs_crash_writer";

std::string Hex(const crypto::SecretBytes& key) {
  std::string hex(key.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), key.data(), key.size());
  hex.pop_back();
  return hex;
}

// Runs the writer for about `run_ms`, kills it with SIGKILL and returns the ids it reported.
std::vector<long long> RunAndKill(const std::string& path, const std::string& key_hex, bool wal,
                                  int run_ms) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl(kWriter.c_str(), kWriter.c_str(), path.c_str(), key_hex.c_str(), wal ? "wal" : "delete",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string output;
  char buffer[4096];
  // Wait for the first commit so each run does some work, then let it run a random while.
  pollfd p{fds[0], POLLIN, 0};
  if (poll(&p, 1, 5000) > 0) {
    ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n > 0) output.append(buffer, n);
  }
  usleep(run_ms * 1000);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "writer exited early with status " << status;
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof buffer)) > 0) output.append(buffer, n);
  close(fds[0]);
  std::vector<long long> ids;
  size_t start = 0;
  for (size_t nl; (nl = output.find('\n', start)) != std::string::npos; start = nl + 1) {
    ids.push_back(std::stoll(output.substr(start, nl - start)));
  }
  return ids;
}

void KillRepeatedly(bool wal, PageCipher cipher, int rounds) {
  ASSERT_EQ(access(kWriter.c_str(), X_OK), 0) << "build the vfs_crash_writer target: " << kWriter;
  TestVault v(cipher);
  {
    // Created here with `cipher`; the writer attaches the key with the default cipher and must
    // recognize this one from page 1.
    Db db = Open(v.path, wal);
    ASSERT_NE(db, nullptr);
    MustExec(db.get(), "CREATE TABLE tx(id INTEGER PRIMARY KEY, body TEXT, n INTEGER)");
  }
  ASSERT_TRUE(Page1SealedWith(v.path, v.key, cipher));
  const std::string key_hex = Hex(v.key);
  std::mt19937 rng(std::random_device{}());
  std::set<long long> committed;
  for (int round = 0; round < rounds; ++round) {
    std::vector<long long> ids = RunAndKill(v.path, key_hex, wal, rng() % (wal ? 40 : 100));
    committed.insert(ids.begin(), ids.end());
    Db db = OpenRaw(v.path, SQLITE_OPEN_READWRITE);
    ASSERT_NE(db, nullptr);
    Status s = ConfigureConnection(db.get(), wal);
    ASSERT_TRUE(s.ok()) << "round " << round << ": " << s.ToString();
    ASSERT_EQ(One(db.get(), "PRAGMA integrity_check"), "ok") << "round " << round;
    std::vector<std::string> present = Column(db.get(), "SELECT id FROM tx");
    std::set<long long> have;
    for (const auto& id : present) have.insert(std::stoll(id));
    for (long long id : committed) {
      ASSERT_TRUE(have.count(id)) << "round " << round << ": committed transaction " << id
                                  << " is missing";
    }
  }
  EXPECT_GE(committed.size(), static_cast<size_t>(rounds));
}

class VfsCrash : public ::testing::TestWithParam<PageCipher> {};

// Rounds per cipher: the whole binary stays within the CI time budget with both ciphers.
TEST_P(VfsCrash, SigkilledWalWriterKeepsEveryReportedCommit) {
  KillRepeatedly(true, GetParam(), 25);
}

TEST_P(VfsCrash, SigkilledDeleteModeWriterKeepsEveryReportedCommit) {
  KillRepeatedly(false, GetParam(), 6);
}

INSTANTIATE_TEST_SUITE_P(Ciphers, VfsCrash, ::testing::ValuesIn(AvailableCiphers()),
                         [](const auto& info) { return std::string(CipherName(info.param)); });

}  // namespace
}  // namespace estelik::vault::vfstest
