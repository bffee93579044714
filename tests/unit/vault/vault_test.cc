// The Vault as a user meets it: create, reopen, wrong passphrase, passphrase change, lock,
// and the fixture vault made by format version 1 that every later version must open.
#include "core/vault/vault.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <map>

#include "tests/support/temp_dir.h"
#include "tests/unit/vault/vault_test_util.h"

namespace estelik::vault {
namespace {

namespace fs = std::filesystem;
using testing::ReadFileBytes;
using testing::TempDir;

void Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
}

std::string QueryText(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  return out;
}

TEST(VaultTest, CreatedVaultReopensWithItsDataAndThePassphrase) {
  TempDir tmp;
  std::string dir = tmp.File("v");
  {
    auto vault = Vault::Create(dir, "correct horse", FastOptions());
    ASSERT_TRUE(vault.ok()) << vault.status().ToString();
    Exec((*vault)->db(), "CREATE TABLE t(x TEXT); INSERT INTO t VALUES('Жаңаөзен')");
  }
  auto vault = Vault::Open(dir, "correct horse");
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  EXPECT_EQ(QueryText((*vault)->db(), "SELECT x FROM t"), "Жаңаөзен");
  EXPECT_EQ(QueryText((*vault)->db(), "PRAGMA journal_mode"), "wal");
}

TEST(VaultTest, CreatingOverAnExistingVaultIsRefusedAndChangesNothing) {
  TempDir tmp;
  std::string dir = tmp.File("v");
  ASSERT_TRUE(Vault::Create(dir, "first", FastOptions()).ok());
  std::string key_before = ReadFileBytes(fs::path(dir) / kKeyFileName);
  auto again = Vault::Create(dir, "second", FastOptions());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(ReadFileBytes(fs::path(dir) / kKeyFileName), key_before);
  EXPECT_TRUE(Vault::Open(dir, "first").ok());
}

TEST(VaultTest, WrongPassphraseIsRejectedWithoutTouchingTheVault) {
  TempDir tmp;
  std::string dir = tmp.File("v");
  {
    auto vault = Vault::Create(dir, "right", FastOptions());
    ASSERT_TRUE(vault.ok());
    Exec((*vault)->db(), "CREATE TABLE t(x); INSERT INTO t VALUES(1)");
  }
  std::string key_before = ReadFileBytes(fs::path(dir) / kKeyFileName);
  std::string store_before = ReadFileBytes(fs::path(dir) / kStoreFileName);
  auto vault = Vault::Open(dir, "wrong");
  ASSERT_FALSE(vault.ok());
  EXPECT_EQ(vault.status().code(), Code::kWrongPassphrase);
  EXPECT_EQ(vault.status().message(), "wrong passphrase");
  EXPECT_EQ(ReadFileBytes(fs::path(dir) / kKeyFileName), key_before);
  EXPECT_EQ(ReadFileBytes(fs::path(dir) / kStoreFileName), store_before);
}

TEST(VaultTest, OpeningAMissingVaultSaysSo) {
  TempDir tmp;
  auto vault = Vault::Open(tmp.File("nothing-here"), "x");
  ASSERT_FALSE(vault.ok());
  EXPECT_EQ(vault.status().code(), Code::kNotFound);
}

TEST(VaultTest, PassphraseChangeOpensWithTheNewOneOnlyAndKeepsTheData) {
  TempDir tmp;
  std::string dir = tmp.File("v");
  {
    auto vault = Vault::Create(dir, "old passphrase", FastOptions());
    ASSERT_TRUE(vault.ok());
    Exec((*vault)->db(), "CREATE TABLE t(x TEXT); INSERT INTO t VALUES('kept')");
    EXPECT_EQ((*vault)->ChangePassphrase("not it", "new passphrase").code(),
              Code::kWrongPassphrase);
    ASSERT_TRUE((*vault)->ChangePassphrase("old passphrase", "new passphrase").ok());
  }
  EXPECT_EQ(Vault::Open(dir, "old passphrase").status().code(), Code::kWrongPassphrase);
  auto vault = Vault::Open(dir, "new passphrase");
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  EXPECT_EQ(QueryText((*vault)->db(), "SELECT x FROM t"), "kept");
}

TEST(VaultTest, LockClosesTheStoreAndForgetsTheKeys) {
  TempDir tmp;
  auto vault = Vault::Create(tmp.File("v"), "pass", FastOptions());
  ASSERT_TRUE(vault.ok());
  (*vault)->Lock();
  EXPECT_TRUE((*vault)->locked());
  EXPECT_EQ((*vault)->db(), nullptr);
  auto key = (*vault)->DeriveKey(kPageKeyId, kPageKeyContext);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), Code::kLocked);
  EXPECT_EQ((*vault)->ChangePassphrase("pass", "other").code(), Code::kLocked);
}

TEST(VaultTest, DeleteJournalModeVaultReopensInDeleteMode) {
  TempDir tmp;
  std::string dir = tmp.File("v");
  VaultOptions options = FastOptions();
  options.wal = false;
  {
    auto vault = Vault::Create(dir, "pass", options);
    ASSERT_TRUE(vault.ok()) << vault.status().ToString();
    Exec((*vault)->db(), "CREATE TABLE t(x); INSERT INTO t VALUES(42)");
  }
  auto vault = Vault::Open(dir, "pass");
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  EXPECT_EQ(QueryText((*vault)->db(), "PRAGMA journal_mode"), "delete");
  EXPECT_EQ(QueryText((*vault)->db(), "SELECT x FROM t"), "42");
}

// ---- A vault never silently becomes a new one (issue #16 item 6) ----

// Every file of the vault folder but vault.guard (which counts each unlock attempt), by name.
std::map<std::string, std::string> VaultFiles(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name != "vault.guard") files[name] = ReadFileBytes(entry.path());
  }
  return files;
}

class VaultStoreLossTest : public ::testing::TestWithParam<bool> {  // WAL or DELETE journal
 protected:
  void SetUp() override {
    VaultOptions options = FastOptions();
    options.wal = GetParam();
    auto vault = Vault::Create(dir_, "pass", options);
    ASSERT_TRUE(vault.ok()) << vault.status().ToString();
    Exec((*vault)->db(), "CREATE TABLE t(x TEXT)");
    for (int i = 0; i < 20; ++i) {
      Exec((*vault)->db(), "INSERT INTO t VALUES(hex(randomblob(500)))");
    }
  }

  // Opening fails as corrupt, naming store.db, and leaves every file as it found it.
  void ExpectCorruptAndUntouched(const std::string& what) {
    std::map<std::string, std::string> before = VaultFiles(dir_);
    auto vault = Vault::Open(dir_, "pass");
    ASSERT_FALSE(vault.ok()) << what << ": opened";
    EXPECT_EQ(vault.status().code(), Code::kCorrupt) << what << ": " << vault.status().ToString();
    EXPECT_TRUE(vault.status().message().starts_with("vault is corrupt or tampered: store.db"))
        << what << ": " << vault.status().message();
    EXPECT_EQ(VaultFiles(dir_), before) << what << ": a file was written, created or removed";
  }

  TempDir tmp_;
  std::string dir_ = tmp_.File("v");
  fs::path store_ = fs::path(dir_) / kStoreFileName;
};

TEST_P(VaultStoreLossTest, AFreshlyCreatedVaultStillOpens) {
  TempDir tmp;
  VaultOptions options = FastOptions();
  options.wal = GetParam();
  ASSERT_TRUE(Vault::Create(tmp.File("new"), "pass", options).ok());
  auto vault = Vault::Open(tmp.File("new"), "pass");
  EXPECT_TRUE(vault.ok()) << vault.status().ToString();
}

TEST_P(VaultStoreLossTest, MissingStoreIsCorruptAndNothingIsCreated) {
  fs::remove(store_);
  ASSERT_NO_FATAL_FAILURE(ExpectCorruptAndUntouched("missing"));
  EXPECT_FALSE(fs::exists(store_));
  EXPECT_NE(Vault::Open(dir_, "pass").status().message().find("missing"), std::string::npos);
}

TEST_P(VaultStoreLossTest, EmptyStoreIsCorruptAndStaysEmpty) {
  fs::resize_file(store_, 0);
  ASSERT_NO_FATAL_FAILURE(ExpectCorruptAndUntouched("0 bytes"));
  EXPECT_EQ(fs::file_size(store_), 0u);
}

TEST_P(VaultStoreLossTest, StoreCutInsideItsFirstPageIsCorrupt) {
  // 1 byte: SQLite's unix VFS reports a 1-byte file as empty, so this one must be caught first.
  for (uintmax_t size : {1, 100, 4095}) {
    fs::resize_file(store_, size);
    ASSERT_NO_FATAL_FAILURE(ExpectCorruptAndUntouched(std::to_string(size) + " bytes"));
    EXPECT_EQ(fs::file_size(store_), size);
  }
}

TEST_P(VaultStoreLossTest, StoreCutInsideALaterPageIsCorrupt) {
  ASSERT_GT(fs::file_size(store_), 3 * 4096u);
  fs::resize_file(store_, 2 * 4096 + 1000);
  ASSERT_NO_FATAL_FAILURE(ExpectCorruptAndUntouched("cut inside page 3"));
}

INSTANTIATE_TEST_SUITE_P(JournalModes, VaultStoreLossTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Wal" : "Delete"; });

TEST(VaultDuressTest, DuressPassphraseOpensAnEmptyWorkingVaultAndDestroysTheRealOne) {
  TempDir tmp;
  std::string dir = tmp.File("v");
  {
    auto vault = Vault::Create(dir, "real passphrase", FastOptions());
    ASSERT_TRUE(vault.ok());
    Exec((*vault)->db(), "CREATE TABLE secrets(x TEXT); INSERT INTO secrets VALUES('names')");
    ASSERT_TRUE((*vault)->SetDuressPassphrase("innocent passphrase").ok());
  }
  // What a seizer copied before the coerced unlock.
  std::string store_copy = tmp.File("store-copy.db");
  fs::copy_file(fs::path(dir) / kStoreFileName, store_copy);
  {
    auto decoy = Vault::Open(dir, "innocent passphrase");
    ASSERT_TRUE(decoy.ok()) << decoy.status().ToString();
    EXPECT_TRUE((*decoy)->opened_under_duress());
    EXPECT_EQ(QueryText((*decoy)->db(), "SELECT count(*) FROM sqlite_schema"), "0");
    Exec((*decoy)->db(), "CREATE TABLE notes(x TEXT); INSERT INTO notes VALUES('shopping')");
  }
  // The real passphrase opens nothing any more, and the decoy behaves like a normal vault.
  EXPECT_EQ(Vault::Open(dir, "real passphrase").status().code(), Code::kWrongPassphrase);
  auto again = Vault::Open(dir, "innocent passphrase");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE((*again)->opened_under_duress());
  EXPECT_EQ(QueryText((*again)->db(), "SELECT x FROM notes"), "shopping");
  (*again)->Lock();
  // The copied real store cannot be opened with the key file as it now is.
  fs::copy_file(store_copy, fs::path(dir) / kStoreFileName, fs::copy_options::overwrite_existing);
  fs::remove(fs::path(dir) / "store.db-wal");
  auto real = Vault::Open(dir, "real passphrase");
  EXPECT_EQ(real.status().code(), Code::kWrongPassphrase);
}

TEST(VaultDuressTest, VaultWithDuressKeyFileHasTheSameSizeAndHeaderAsOneWithout) {
  TempDir tmp;
  auto plain = Vault::Create(tmp.File("plain"), "pass", FastOptions());
  auto duress = Vault::Create(tmp.File("duress"), "pass", FastOptions());
  ASSERT_TRUE(plain.ok() && duress.ok());
  ASSERT_TRUE((*duress)->SetDuressPassphrase("other").ok());
  std::string a = ReadFileBytes(fs::path(tmp.File("plain")) / kKeyFileName);
  std::string b = ReadFileBytes(fs::path(tmp.File("duress")) / kKeyFileName);
  ASSERT_EQ(a.size(), KeyFile::FileSize());
  ASSERT_EQ(b.size(), KeyFile::FileSize());
  // Magic, version, algorithms and cost are identical; the salt and slots are random.
  EXPECT_EQ(a.substr(0, 32), b.substr(0, 32));
}

TEST(VaultDuressTest, ClearedDuressPassphraseNoLongerOpensAnything) {
  TempDir tmp;
  std::string dir = tmp.File("v");
  auto vault = Vault::Create(dir, "real", FastOptions());
  ASSERT_TRUE(vault.ok());
  ASSERT_TRUE((*vault)->SetDuressPassphrase("decoy").ok());
  ASSERT_TRUE((*vault)->ClearDuressPassphrase().ok());
  (*vault)->Lock();
  EXPECT_EQ(Vault::Open(dir, "decoy").status().code(), Code::kWrongPassphrase);
  EXPECT_TRUE(Vault::Open(dir, "real").ok());
}

TEST(VaultWipeTest, WipeNeedsNoPassphraseAndLeavesNothingThatDecrypts) {
  TempDir tmp;
  std::string dir = tmp.File("v");
  {
    auto vault = Vault::Create(dir, "pass", FastOptions());
    ASSERT_TRUE(vault.ok());
    Exec((*vault)->db(), "CREATE TABLE t(x); INSERT INTO t VALUES('testimony')");
  }
  // A hard link keeps the key file's blocks reachable after deletion, as a forensic copy of
  // the disk would; the store is copied as a seizer would.
  fs::create_hard_link(fs::path(dir) / kKeyFileName, tmp.File("key-blocks"));
  fs::copy_file(fs::path(dir) / kStoreFileName, tmp.File("store-copy.db"));
  ASSERT_TRUE(Vault::Wipe(dir).ok());
  EXPECT_FALSE(fs::exists(dir));
  // Reassemble what was left on disk: the overwritten key file and the old store.
  std::string forensic = tmp.File("forensic");
  fs::create_directory(forensic);
  fs::copy_file(tmp.File("key-blocks"), fs::path(forensic) / kKeyFileName);
  fs::copy_file(tmp.File("store-copy.db"), fs::path(forensic) / kStoreFileName);
  EXPECT_EQ(Vault::Open(forensic, "pass").status().code(), Code::kWrongPassphrase);
}

TEST(VaultWipeTest, WipingAMissingVaultSaysSo) {
  TempDir tmp;
  EXPECT_EQ(Vault::Wipe(tmp.File("none")).code(), Code::kNotFound);
}

}  // namespace
}  // namespace estelik::vault
