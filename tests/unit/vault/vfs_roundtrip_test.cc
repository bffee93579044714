// The encrypting VFS behaves like ordinary SQLite for its owner and like noise for everyone
// else.
#include <gtest/gtest.h>

#include "tests/unit/vault/vfs_test_util.h"

namespace estelik::vault::vfstest {
namespace {

class VfsRoundTrip : public ::testing::TestWithParam<ModeAndCipher> {};

TEST_P(VfsRoundTrip, RowsWrittenThroughTheVfsReadBackAfterReopen) {
  const bool wal = GetParam().wal;
  TestVault v{GetParam().cipher};
  {
    Db db = Open(v.path, wal);
    ASSERT_NE(db, nullptr);
    MustExec(db.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT)");
    MustExec(db.get(), "BEGIN");
    for (int i = 0; i < 2000; ++i) {
      MustExec(db.get(), "INSERT INTO t(body) VALUES (printf('row %d %s', " + std::to_string(i) +
                             ", zeroblob(300)))");
    }
    MustExec(db.get(), "COMMIT");
    MustExec(db.get(), "UPDATE t SET body = 'changed' WHERE id % 7 = 0");
    MustExec(db.get(), "DELETE FROM t WHERE id > 1500");
  }
  Db db = Open(v.path, wal);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(One(db.get(), "SELECT count(*) FROM t"), "1500");
  EXPECT_EQ(One(db.get(), "SELECT body FROM t WHERE id = 14"), "changed");
  EXPECT_EQ(One(db.get(), "SELECT substr(body, 1, 8) FROM t WHERE id = 15"), "row 14 ");
  EXPECT_EQ(One(db.get(), "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(One(db.get(), "PRAGMA journal_mode"), wal ? "wal" : "delete");
  // Sealed with the cipher chosen at creation, and only with it.
  const PageCipher other = GetParam().cipher == PageCipher::kAes256Gcm
                               ? PageCipher::kXChaCha20Poly1305
                               : PageCipher::kAes256Gcm;
  EXPECT_TRUE(Page1SealedWith(v.path, v.key, GetParam().cipher));
  EXPECT_FALSE(Page1SealedWith(v.path, v.key, other));
}

TEST_P(VfsRoundTrip, PlainSqliteSeesFileIsNotADatabase) {
  const bool wal = GetParam().wal;
  TestVault v{GetParam().cipher};
  {
    Db db = Open(v.path, wal);
    ASSERT_NE(db, nullptr);
    MustExec(db.get(), "CREATE TABLE t(x); INSERT INTO t VALUES ('hello')");
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(v.path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  Db plain(raw);
  int rc = 0;
  Column(plain.get(), "SELECT * FROM t", &rc);
  EXPECT_EQ(rc, SQLITE_NOTADB) << sqlite3_errmsg(plain.get());
}

INSTANTIATE_TEST_SUITE_P(JournalModes, VfsRoundTrip, ::testing::ValuesIn(AllModesAndCiphers()),
                         ModeAndCipherName);

TEST(Vfs, WrongKeyIsReportedAsWrongKeyNotAsData) {
  TestVault v;
  {
    Db db = Open(v.path, true);
    ASSERT_NE(db, nullptr);
    MustExec(db.get(), "CREATE TABLE t(x); INSERT INTO t VALUES (randomblob(9000))");
  }
  ASSERT_TRUE(AttachKey(v.path, crypto::SecretBytes::Random(32)).ok());
  ClearLastVfsError();
  sqlite3* raw = nullptr;
  // SQLite reads page 1 while opening a WAL database, so the open itself fails.
  int rc = sqlite3_open_v2(v.path.c_str(), &raw, SQLITE_OPEN_READWRITE, kVfsName);
  Db db(raw);
  if (rc == SQLITE_OK) {
    Status s = ConfigureConnection(db.get(), true);
    EXPECT_EQ(s.code(), Code::kCorrupt) << s.ToString();
  } else {
    EXPECT_EQ(rc, SQLITE_NOTADB);
  }
  EXPECT_NE(LastVfsError().find("wrong key or not an Estelik vault: store.db"), std::string::npos)
      << LastVfsError();
}

TEST(Vfs, OpeningWithoutAKeyFailsWithAnExplanation) {
  estelik::testing::TempDir dir;
  std::string path = dir.File("store.db");
  ASSERT_TRUE(RegisterVfs().ok());
  ClearLastVfsError();
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, kVfsName);
  Db db(raw);
  EXPECT_EQ(rc, SQLITE_CANTOPEN);
  EXPECT_NE(LastVfsError().find("no key for"), std::string::npos) << LastVfsError();
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(Vfs, KeyProviderSuppliesTheKeyWhenNoneIsAttached) {
  estelik::testing::TempDir dir;
  std::string path = dir.File("store.db");
  crypto::SecretBytes key = crypto::SecretBytes::Random(32);
  std::string asked;
  SetKeyProvider([&](const std::string& db_path) -> Result<crypto::SecretBytes> {
    asked = db_path;
    return key.Clone();
  });
  {
    Db db = Open(path, true);
    ASSERT_NE(db, nullptr);
    MustExec(db.get(), "CREATE TABLE t(x); INSERT INTO t VALUES (42)");
  }
  SetKeyProvider(nullptr);
  DetachKey(path);
  EXPECT_EQ(asked, std::filesystem::weakly_canonical(path).string());
  ASSERT_TRUE(AttachKey(path, key).ok());
  Db db = Open(path, true);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(One(db.get(), "SELECT x FROM t"), "42");
  DetachKey(path);
}

TEST(Vfs, DatabaseWithoutReserveBytesIsNeverWritten) {
  TestVault v;
  Db db = OpenRaw(v.path);
  ASSERT_NE(db, nullptr);
  ClearLastVfsError();
  // No ConfigureConnection: SQLite would lay out page 1 with no room for nonce and tag.
  int rc = Exec(db.get(), "CREATE TABLE t(x)");
  EXPECT_NE(rc, SQLITE_OK);
  EXPECT_NE(LastVfsError().find("ConfigureConnection"), std::string::npos) << LastVfsError();
  EXPECT_EQ(std::filesystem::file_size(v.path), 0u);
}

TEST(Vfs, ConnectionsAlreadyOpenKeepWorkingAfterDetachKey) {
  TestVault v;
  Db db = Open(v.path, false);
  ASSERT_NE(db, nullptr);
  MustExec(db.get(), "CREATE TABLE t(x)");
  DetachKey(v.path);
  MustExec(db.get(), "INSERT INTO t VALUES (1)");  // opens and deletes a new journal
  EXPECT_EQ(One(db.get(), "SELECT count(*) FROM t"), "1");
}

TEST(Vfs, ConfigureConnectionRefusesADatabaseOfAnotherVfs) {
  estelik::testing::TempDir dir;
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(dir.File("plain.db").c_str(), &raw), SQLITE_OK);
  Db db(raw);
  EXPECT_EQ(ConfigureConnection(db.get(), true).code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace estelik::vault::vfstest
