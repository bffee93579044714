// Vault settings a shell honours: auto-lock is off until set, kept encrypted in the store,
// survives reopening, and needs the key to read or change.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "core/vault/vault.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/vault/vault_test_util.h"

namespace estelik::vault {
namespace {

using testing::TempDir;

int CountTables(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  int n = -1;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_schema", -1, &stmt, nullptr) ==
          SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    n = sqlite3_column_int(stmt, 0);
  }
  sqlite3_finalize(stmt);
  return n;
}

TEST(VaultSettingsTest, AutoLockIsOffUntilSetAndAddsNothingToTheStoreUntilThen) {
  TempDir tmp;
  auto vault = Vault::Create(tmp.File("v"), "pass", FastOptions());
  ASSERT_TRUE(vault.ok());
  auto seconds = (*vault)->AutoLockSeconds();
  ASSERT_TRUE(seconds.ok()) << seconds.status().ToString();
  EXPECT_EQ(*seconds, 0u);
  EXPECT_EQ(CountTables((*vault)->db()), 0);
}

TEST(VaultSettingsTest, AutoLockSurvivesReopeningAndCanBeTurnedOff) {
  TempDir tmp;
  std::string dir = tmp.File("v");
  {
    auto vault = Vault::Create(dir, "pass", FastOptions());
    ASSERT_TRUE(vault.ok());
    ASSERT_TRUE((*vault)->SetAutoLockSeconds(300).ok());
    ASSERT_TRUE((*vault)->SetAutoLockSeconds(120).ok());  // replaces, does not add
  }
  auto vault = Vault::Open(dir, "pass");
  ASSERT_TRUE(vault.ok());
  auto seconds = (*vault)->AutoLockSeconds();
  ASSERT_TRUE(seconds.ok());
  EXPECT_EQ(*seconds, 120u);
  ASSERT_TRUE((*vault)->SetAutoLockSeconds(0).ok());
  EXPECT_EQ(*(*vault)->AutoLockSeconds(), 0u);
}

TEST(VaultSettingsTest, AutoLockNeedsTheKeyAndRefusesMoreThanAWeek) {
  TempDir tmp;
  auto vault = Vault::Create(tmp.File("v"), "pass", FastOptions());
  ASSERT_TRUE(vault.ok());
  EXPECT_EQ((*vault)->SetAutoLockSeconds(kMaxAutoLockSeconds + 1).code(), Code::kInvalidArgument);
  EXPECT_EQ(*(*vault)->AutoLockSeconds(), 0u);
  (*vault)->Lock();
  EXPECT_EQ((*vault)->SetAutoLockSeconds(60).code(), Code::kLocked);
  EXPECT_EQ((*vault)->AutoLockSeconds().status().code(), Code::kLocked);
}

}  // namespace
}  // namespace estelik::vault
