// The failed-unlock guard as a survivor relies on it: the Nth consecutive wrong passphrase
// wipes the vault, a right one (or the duress one) starts the count again, the limit survives
// reopening, and no attempt escapes the count, not even one killed mid-derivation.
#include "core/vault/unlock_guard.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/vault/vault.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"
#include "tests/unit/vault/vault_test_util.h"

namespace estelik::vault {
namespace {

namespace fs = std::filesystem;
using testing::ReadFileBytes;
using testing::TempDir;

// Creates a vault holding one row and sets the guard to `limit`.
std::string MakeGuardedVault(const TempDir& tmp, uint32_t limit, const char* name = "v") {
  std::string dir = tmp.File(name);
  auto vault = Vault::Create(dir, "right", FastOptions());
  EXPECT_TRUE(vault.ok()) << vault.status().ToString();
  EXPECT_EQ(sqlite3_exec((*vault)->db(), "CREATE TABLE t(x); INSERT INTO t VALUES('testimony')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  if (limit != 0) {
    EXPECT_TRUE((*vault)->SetUnlockGuard(limit).ok());
  }
  return dir;
}

Code OpenCode(const std::string& dir, const char* passphrase) {
  return Vault::Open(dir, passphrase).status().code();
}

TEST(UnlockGuardTest, EveryVaultHasAGuardFileOfOneSizeWhetherTheLimitIsSetOrNot) {
  TempDir tmp;
  std::string plain = MakeGuardedVault(tmp, 0, "plain");
  std::string guarded = MakeGuardedVault(tmp, 5, "guarded");
  std::string a = ReadFileBytes(fs::path(plain) / kGuardFileName);
  std::string b = ReadFileBytes(fs::path(guarded) / kGuardFileName);
  ASSERT_EQ(a.size(), 32u);
  ASSERT_EQ(b.size(), 32u);
  // Only the limit field (bytes 8..11) differs; the count runs in both.
  EXPECT_EQ(a.substr(0, 8), b.substr(0, 8));
  EXPECT_NE(a.substr(8, 4), b.substr(8, 4));
  EXPECT_EQ(a.substr(12), b.substr(12));
  EXPECT_EQ(OpenCode(plain, "wrong"), Code::kWrongPassphrase);
  EXPECT_EQ(UnlockGuard::Read(plain).failures, 1u);
}

// Pins docs/FORMAT.md "vault.guard" byte for byte.
TEST(UnlockGuardTest, GuardFileBytesAreTheDocumentedLayout) {
  TempDir tmp;
  std::string dir = MakeGuardedVault(tmp, 0);
  const std::string magic_and_version("ESTLGRD\x01", 8);
  EXPECT_EQ(ReadFileBytes(fs::path(dir) / kGuardFileName),
            magic_and_version + std::string(24, '\0'));
  {
    auto vault = Vault::Open(dir, "right");
    ASSERT_TRUE(vault.ok());
    ASSERT_TRUE((*vault)->SetUnlockGuard(5).ok());
  }
  EXPECT_EQ(OpenCode(dir, "wrong"), Code::kWrongPassphrase);
  EXPECT_EQ(OpenCode(dir, "wrong"), Code::kWrongPassphrase);
  EXPECT_EQ(ReadFileBytes(fs::path(dir) / kGuardFileName),
            magic_and_version + std::string("\x05\0\0\0\x02\0\0\0", 8) + std::string(16, '\0'));
}

TEST(UnlockGuardTest, FewerWrongPassphrasesThanTheLimitThenTheRightOneResetTheCount) {
  TempDir tmp;
  std::string dir = MakeGuardedVault(tmp, 3);
  EXPECT_EQ(OpenCode(dir, "wrong 1"), Code::kWrongPassphrase);
  EXPECT_EQ(OpenCode(dir, "wrong 2"), Code::kWrongPassphrase);
  EXPECT_EQ(UnlockGuard::Read(dir).failures, 2u);
  ASSERT_TRUE(Vault::Open(dir, "right").ok());
  EXPECT_EQ(UnlockGuard::Read(dir).failures, 0u);
  // Two more wrong ones would have made four in a row without the reset.
  EXPECT_EQ(OpenCode(dir, "wrong 3"), Code::kWrongPassphrase);
  EXPECT_EQ(OpenCode(dir, "wrong 4"), Code::kWrongPassphrase);
  auto vault = Vault::Open(dir, "right");
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  EXPECT_EQ(sqlite3_exec((*vault)->db(), "SELECT x FROM t", nullptr, nullptr, nullptr), SQLITE_OK);
}

TEST(UnlockGuardTest, TheNthConsecutiveWrongPassphraseWipesTheVaultSilently) {
  TempDir tmp;
  std::string dir = MakeGuardedVault(tmp, 3);
  const std::string key_before = ReadFileBytes(fs::path(dir) / kKeyFileName);
  // The key file's blocks stay reachable through a hard link, as on a forensic disk image;
  // the store is copied as a seizer would.
  fs::create_hard_link(fs::path(dir) / kKeyFileName, tmp.File("key-blocks"));
  fs::copy_file(fs::path(dir) / kStoreFileName, tmp.File("store-copy.db"));

  EXPECT_EQ(OpenCode(dir, "guess 1"), Code::kWrongPassphrase);
  EXPECT_EQ(OpenCode(dir, "guess 2"), Code::kWrongPassphrase);
  ASSERT_TRUE(Vault::Exists(dir));
  auto third = Vault::Open(dir, "guess 3");
  EXPECT_EQ(third.status().code(), Code::kWrongPassphrase);
  EXPECT_EQ(third.status().message(), "wrong passphrase");  // nothing new on the screen

  EXPECT_FALSE(fs::exists(dir));
  EXPECT_EQ(OpenCode(dir, "right"), Code::kNotFound);
  // Both key slots were overwritten in place (header kept).
  const std::string key_after = ReadFileBytes(tmp.File("key-blocks"));
  ASSERT_EQ(key_after.size(), key_before.size());
  EXPECT_EQ(key_after.substr(0, 48), key_before.substr(0, 48));
  EXPECT_NE(key_after.substr(48, 72), key_before.substr(48, 72));
  EXPECT_NE(key_after.substr(120, 72), key_before.substr(120, 72));
  // And the right passphrase no longer opens the copied store with what is left.
  std::string forensic = tmp.File("forensic");
  fs::create_directory(forensic);
  fs::copy_file(tmp.File("key-blocks"), fs::path(forensic) / kKeyFileName);
  fs::copy_file(tmp.File("store-copy.db"), fs::path(forensic) / kStoreFileName);
  EXPECT_EQ(OpenCode(forensic, "right"), Code::kWrongPassphrase);
}

TEST(UnlockGuardTest, TheLimitSurvivesReopeningAndIsReadableWithoutTheKey) {
  TempDir tmp;
  std::string dir = MakeGuardedVault(tmp, 7);
  EXPECT_EQ(UnlockGuard::Read(dir).limit, 7u);
  auto vault = Vault::Open(dir, "right");
  ASSERT_TRUE(vault.ok());
  EXPECT_EQ((*vault)->UnlockGuardLimit(), 7u);
  ASSERT_TRUE((*vault)->SetUnlockGuard(0).ok());
  (*vault)->Lock();
  EXPECT_EQ(UnlockGuard::Read(dir).limit, 0u);
  EXPECT_EQ((*vault)->SetUnlockGuard(3).code(), Code::kLocked);
  // With the guard off, any number of wrong passphrases wipes nothing.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(OpenCode(dir, "wrong"), Code::kWrongPassphrase);
  EXPECT_TRUE(Vault::Open(dir, "right").ok());
}

TEST(UnlockGuardTest, DuressPassphraseCountsAsACorrectUnlock) {
  TempDir tmp;
  std::string dir = MakeGuardedVault(tmp, 2);
  {
    auto vault = Vault::Open(dir, "right");
    ASSERT_TRUE(vault.ok());
    ASSERT_TRUE((*vault)->SetDuressPassphrase("innocent").ok());
  }
  EXPECT_EQ(OpenCode(dir, "wrong"), Code::kWrongPassphrase);
  auto decoy = Vault::Open(dir, "innocent");
  ASSERT_TRUE(decoy.ok()) << decoy.status().ToString();
  EXPECT_TRUE((*decoy)->opened_under_duress());
  EXPECT_EQ(UnlockGuard::Read(dir).failures, 0u);
  EXPECT_EQ(UnlockGuard::Read(dir).limit, 2u);  // the decoy keeps the rule, like a real vault
  EXPECT_EQ(OpenCode(dir, "wrong"), Code::kWrongPassphrase);
  EXPECT_TRUE(Vault::Exists(dir));
}

TEST(UnlockGuardTest, LimitOutsideTheRangeIsRefusedAndChangesNothing) {
  TempDir tmp;
  std::string dir = MakeGuardedVault(tmp, 4);
  auto vault = Vault::Open(dir, "right");
  ASSERT_TRUE(vault.ok());
  EXPECT_EQ((*vault)->SetUnlockGuard(kMaxUnlockGuardLimit + 1).code(), Code::kInvalidArgument);
  EXPECT_EQ((*vault)->UnlockGuardLimit(), 4u);
}

TEST(UnlockGuardTest, AVaultWithoutAGuardFileGetsOneAtItsNextOpenAndCounts) {
  TempDir tmp;
  std::string dir = MakeGuardedVault(tmp, 0);
  fs::remove(fs::path(dir) / kGuardFileName);  // as made before the guard existed
  EXPECT_EQ(OpenCode(dir, "wrong"), Code::kWrongPassphrase);
  EXPECT_EQ(ReadFileBytes(fs::path(dir) / kGuardFileName).size(), 32u);
  EXPECT_EQ(UnlockGuard::Read(dir).failures, 1u);
  EXPECT_TRUE(Vault::Open(dir, "right").ok());
}

TEST(UnlockGuardTest, ADamagedGuardFileDoesNotLockTheOwnerOut) {
  TempDir tmp;
  std::string dir = MakeGuardedVault(tmp, 2);
  { std::ofstream(fs::path(dir) / kGuardFileName, std::ios::trunc) << "garbage"; }
  auto vault = Vault::Open(dir, "right");
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  EXPECT_EQ(ReadFileBytes(fs::path(dir) / kGuardFileName).size(), 32u);
  EXPECT_EQ(UnlockGuard::Read(dir).limit, 0u);  // documented: the rule is lost with the file
}

// Crash safety: the attempt is on disk before the passphrase is tried. A child process opens
// with a wrong passphrase under a slow (MODERATE) key derivation and is killed with SIGKILL as
// soon as the count appears, i.e. while Argon2id still runs; the count must survive it. Were
// the count written after the derivation, the child would already have finished when we see it.
TEST(UnlockGuardTest, AnAttemptKilledDuringKeyDerivationIsStillCounted) {
  TempDir tmp;
  std::string dir = tmp.File("v");
  {
    VaultOptions slow;
    slow.kdf = ModerateKdfParams();
    auto vault = Vault::Create(dir, "right", slow);
    ASSERT_TRUE(vault.ok()) << vault.status().ToString();
    ASSERT_TRUE((*vault)->SetUnlockGuard(5).ok());
  }
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    (void)Vault::Open(dir, "wrong");
    ::_exit(0);
  }
  EXPECT_TRUE(testing::WaitUntil([&] { return UnlockGuard::Read(dir).failures > 0; }))
      << "the attempt was never counted";
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the count was written only after the derivation";
  EXPECT_EQ(UnlockGuard::Read(dir).failures, 1u);
}

}  // namespace
}  // namespace estelik::vault
