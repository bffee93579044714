// The stock sqlite3 shell (a plain C program) opens a vault through the loadable extension
// given the passphrase, and sees nothing without it.
#include <gtest/gtest.h>

#include "core/vault/key_file.h"
#include "core/vault/vault.h"
#include "tests/support/command.h"
#include "tests/unit/vault/vfs_test_util.h"

namespace estelik::vault::vfstest {
namespace {

const std::string kExtension =
    std::string(ESTELIK_BINARY_DIR) + "/platform/sqlite-ext/libestelikvfs.so";
constexpr char kShell[] = "/usr/bin/sqlite3";

// Runs `command` with /bin/sh and returns its stdout and stderr.
std::string RunShell(const std::string& command) {
  return estelik::testing::RunCommand(command + " 2>&1").out;
}

// Under ASan the extension needs the ASan runtime loaded first in the (uninstrumented) shell.
std::string SanitizerPreload() {
#if defined(__SANITIZE_ADDRESS__)
  std::string lib = RunShell("gcc -print-file-name=libasan.so");
  while (!lib.empty() && lib.back() == '\n') lib.pop_back();
  return "ASAN_OPTIONS=detect_leaks=0 LD_PRELOAD=" + lib + " ";
#else
  return "";
#endif
}

class VfsExtension : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kExtension.c_str(), R_OK), 0) << "build the estelikvfs target: " << kExtension;
    ASSERT_EQ(access(kShell, X_OK), 0) << "the sqlite3 shell is needed: " << kShell;
    auto created = KeyFile::Create(dir_.File("vault.key"), "correct horse", MinimalKdfParams());
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    crypto::SecretBytes page_key = DeriveSubkey(created->master_key, 1, "estlpage");
    ASSERT_TRUE(AttachKey(path_, page_key).ok());
    Db db = Open(path_, GetParam());
    ASSERT_NE(db, nullptr);
    MustExec(db.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT)");
    MustExec(db.get(), "INSERT INTO t(body) VALUES ('alpha testimony'), ('beta testimony')");
  }
  void TearDown() override { DetachKey(path_); }

  std::string Shell(const std::string& passphrase_env) {
    return RunShell(passphrase_env + " " + SanitizerPreload() + kShell +
                    " -batch :memory: '.load " + kExtension + "' '.open file:" + path_ +
                    "?vfs=estelik' 'SELECT body FROM t ORDER BY id;'");
  }

  estelik::testing::TempDir dir_;
  std::string path_ = dir_.File("store.db");
};

TEST_P(VfsExtension, ShellWithExtensionAndPassphraseReadsTheRows) {
  EXPECT_EQ(Shell("ESTELIK_PASSPHRASE='correct horse'"), "alpha testimony\nbeta testimony\n");
}

TEST_P(VfsExtension, ShellWithWrongPassphraseReadsNothing) {
  std::string out = Shell("ESTELIK_PASSPHRASE='wrong horse'");
  EXPECT_EQ(out.find("testimony"), std::string::npos) << out;
  EXPECT_NE(out.find("Error"), std::string::npos) << out;
}

TEST_P(VfsExtension, ShellWithoutExtensionSaysFileIsNotADatabase) {
  std::string out = RunShell(std::string(kShell) + " -batch " + path_ + " 'SELECT body FROM t;'");
  EXPECT_NE(out.find("file is not a database"), std::string::npos) << out;
  EXPECT_EQ(out.find("testimony"), std::string::npos) << out;
}

// The stock shell is an opener like any other: its wrong passphrases count towards the
// failed-unlock guard, so it cannot be used to guess past the limit.
TEST(VfsExtensionGuard, WrongPassphrasesInTheShellCountTowardsTheUnlockGuard) {
  ASSERT_EQ(access(kExtension.c_str(), R_OK), 0) << "build the estelikvfs target: " << kExtension;
  estelik::testing::TempDir dir;
  const std::string vault_dir = dir.File("vault");
  {
    VaultOptions options;
    options.kdf = MinimalKdfParams();
    auto vault = Vault::Create(vault_dir, "correct horse", options);
    ASSERT_TRUE(vault.ok()) << vault.status().ToString();
    ASSERT_TRUE((*vault)->SetUnlockGuard(2).ok());
  }
  auto shell = [&](const std::string& passphrase) {
    return RunShell("ESTELIK_PASSPHRASE='" + passphrase + "' " + SanitizerPreload() + kShell +
                    " -batch :memory: '.load " + kExtension + "' '.open file:" + vault_dir +
                    "/store.db?vfs=estelik' 'SELECT count(*) FROM sqlite_master;'");
  };
  shell("wrong horse");
  ASSERT_TRUE(Vault::Open(vault_dir, "correct horse").ok())
      << "one failure is under the limit and the right passphrase resets the count";
  shell("wrong horse");
  shell("wrong horse");
  auto after = Vault::Open(vault_dir, "correct horse");
  EXPECT_FALSE(after.ok()) << "the second wrong passphrase in a row, given to the shell, wipes";
}

INSTANTIATE_TEST_SUITE_P(JournalModes, VfsExtension, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Wal" : "Delete"; });

}  // namespace
}  // namespace estelik::vault::vfstest
