// The recovery rule of an interrupted re-key (docs/FORMAT.md, "Re-key") on leftovers made by
// hand, the folder lock that keeps it off a re-key in progress, and panic-wipe of leftovers.
// Real crashes at every step: tests/integration/rekey_crash_test.cc.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/vault/vault.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/vault/vault_test_util.h"

namespace estelik::vault {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

constexpr char kPass[] = "rekey recovery passphrase";

class RekeyRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto v = Vault::Create(dir, kPass, FastOptions());
    ASSERT_TRUE(v.ok()) << v.status().ToString();
  }
  std::string In(const char* name) { return (fs::path(dir) / name).string(); }
  // What an uncommitted re-key leaves: a copy of the store (here garbage) and a key file.
  void LeaveUncommitted() {
    std::ofstream(In(kRekeyStoreFileName)) << std::string(8192, 'x');
    fs::copy_file(In(kKeyFileName), In(kRekeyKeyFileName));
  }

  TempDir tmp;
  std::string dir = tmp.File("v");
};

TEST_F(RekeyRecoveryTest, UncommittedLeftoversAreRolledBackKeyFileFirst) {
  LeaveUncommitted();
  auto v = Vault::Open(dir, kPass);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_FALSE(fs::exists(In(kRekeyKeyFileName)));
  EXPECT_FALSE(fs::exists(In(kRekeyStoreFileName)));
}

TEST_F(RekeyRecoveryTest, AStoreCopyAloneIsRolledBack) {
  std::ofstream(In(kRekeyStoreFileName)) << "partial";
  ASSERT_TRUE(Vault::Open(dir, kPass).ok());
  EXPECT_FALSE(fs::exists(In(kRekeyStoreFileName)));
}

TEST_F(RekeyRecoveryTest, ANewKeyFileWithoutTheStoreCopyIsRolledForward) {
  // The committed pattern: here the "new" key file is the same key under a second passphrase,
  // so the roll forward shows as the second passphrase opening and the first not.
  fs::copy_file(In(kKeyFileName), In("spare.key"));
  ASSERT_TRUE(KeyFile::ChangePassphrase(In("spare.key"), kPass, "second").ok());
  fs::rename(In("spare.key"), In(kRekeyKeyFileName));
  EXPECT_EQ(Vault::Open(dir, kPass).status().code(), Code::kWrongPassphrase);
  EXPECT_FALSE(fs::exists(In(kRekeyKeyFileName)));
  EXPECT_TRUE(Vault::Open(dir, "second").ok());
}

TEST_F(RekeyRecoveryTest, LeftoversOfARekeyInProgressAreNotTouched) {
  LeaveUncommitted();
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);  // as a running re-key holds it
  auto v = Vault::Open(dir, kPass);
  EXPECT_EQ(v.status().code(), Code::kIo);
  EXPECT_NE(v.status().message().find("re-keyed by another process"), std::string::npos)
      << v.status().ToString();
  EXPECT_TRUE(fs::exists(In(kRekeyKeyFileName)));
  EXPECT_TRUE(fs::exists(In(kRekeyStoreFileName)));
  ::close(fd);
  EXPECT_TRUE(Vault::Open(dir, kPass).ok());
}

TEST_F(RekeyRecoveryTest, PanicWipeShredsAndDeletesLeftovers) {
  LeaveUncommitted();
  ASSERT_TRUE(Vault::Wipe(dir).ok());
  EXPECT_FALSE(fs::exists(dir));
}

}  // namespace
}  // namespace estelik::vault
