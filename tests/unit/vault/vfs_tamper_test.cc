// Any change to a sealed byte is reported as corruption naming the file and page; SQLite never
// sees unauthenticated data.
#include <gtest/gtest.h>

#include "core/vault/vfs_format.h"
#include "tests/unit/vault/vfs_test_util.h"

namespace estelik::vault::vfstest {
namespace {

constexpr long kPage = 4096;

// Fills `path` with ~40 pages of rows.
void MakeVault(const std::string& path, bool wal) {
  Db db = Open(path, wal);
  ASSERT_NE(db, nullptr);
  MustExec(db.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT)");
  MustExec(db.get(), "BEGIN");
  for (int i = 0; i < 300; ++i) {
    MustExec(db.get(), "INSERT INTO t(body) VALUES (printf('%d-%s', " + std::to_string(i) +
                           ", hex(randomblob(250))))");
  }
  MustExec(db.get(), "COMMIT");
}

// Opens `path`, reads every row and checks integrity. Returns "" if all of it worked, else the
// VFS's message (which must exist whenever SQLite failed).
std::string ReadEverything(const std::string& path, bool wal) {
  ClearLastVfsError();
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, kVfsName);
  Db db(raw);
  if (rc != SQLITE_OK) return LastVfsError().empty() ? "open failed" : LastVfsError();
  Status s = ConfigureConnection(db.get(), wal);
  if (!s.ok()) return s.message();
  std::vector<std::string> rows = Column(db.get(), "SELECT body FROM t ORDER BY id", &rc);
  if (rc != SQLITE_OK) return LastVfsError().empty() ? sqlite3_errmsg(db.get()) : LastVfsError();
  std::string check = One(db.get(), "PRAGMA integrity_check");
  if (check != "ok") return "integrity: " + check;
  if (rows.size() != 300) return "rows: " + std::to_string(rows.size());
  return "";
}

class VfsTamper : public ::testing::TestWithParam<ModeAndCipher> {};

TEST_P(VfsTamper, UntouchedVaultReadsBackCompletely) {
  TestVault v{GetParam().cipher};
  MakeVault(v.path, GetParam().wal);
  EXPECT_EQ(ReadEverything(v.path, GetParam().wal), "");
}

TEST_P(VfsTamper, FlippedBitsInPageDataNonceAndTagNameTheFileAndPage) {
  const bool wal = GetParam().wal;
  struct Case {
    const char* what;
    long offset;
  };
  // Reserve bytes: XChaCha20-Poly1305 nonce (24) | tag (16); AES-256-GCM nonce (12) | tag (16)
  // | zero pad (12, authenticated as associated data).
  const std::vector<Case> cases = GetParam().cipher == PageCipher::kAes256Gcm
                                      ? std::vector<Case>{{"data", 4 * kPage + 1000},
                                                          {"nonce", 4 * kPage + 4056 + 3},
                                                          {"tag", 4 * kPage + 4068 + 15},
                                                          {"pad", 4 * kPage + 4084 + 11}}
                                      : std::vector<Case>{{"data", 4 * kPage + 1000},
                                                          {"nonce", 4 * kPage + 4056 + 3},
                                                          {"tag", 4 * kPage + 4080 + 15}};
  for (const auto& c : cases) {
    TestVault v{GetParam().cipher};
    MakeVault(v.path, wal);
    ASSERT_TRUE(Page1SealedWith(v.path, v.key, GetParam().cipher));
    FlipByte(v.path, c.offset);
    EXPECT_EQ(ReadEverything(v.path, wal), "vault is corrupt or tampered: store.db page 5")
        << c.what;
  }
}

TEST_P(VfsTamper, FlippedBitInPage1HeaderIsCorruptionNotWrongKey) {
  TestVault v{GetParam().cipher};
  MakeVault(v.path, GetParam().wal);
  FlipByte(v.path, 18);
  EXPECT_EQ(ReadEverything(v.path, GetParam().wal),
            "vault is corrupt or tampered: store.db page 1");
}

TEST_P(VfsTamper, PagesCannotBeSwapped) {
  TestVault v{GetParam().cipher};
  MakeVault(v.path, GetParam().wal);
  std::string bytes = estelik::testing::ReadFileBytes(v.path);
  {
    FILE* f = std::fopen(v.path.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, 6 * kPage, SEEK_SET);
    std::fwrite(bytes.data() + 5 * kPage, 1, kPage, f);  // page 6 -> position of page 7
    std::fclose(f);
  }
  EXPECT_EQ(ReadEverything(v.path, GetParam().wal),
            "vault is corrupt or tampered: store.db page 7");
}

TEST_P(VfsTamper, TruncationMidPageIsReportedNotZeroFilled) {
  TestVault v{GetParam().cipher};
  MakeVault(v.path, GetParam().wal);
  std::filesystem::resize_file(v.path, 9 * kPage + 1234);
  EXPECT_EQ(ReadEverything(v.path, GetParam().wal),
            "vault is corrupt or tampered: store.db ends inside page 10 (truncated)");
}

INSTANTIATE_TEST_SUITE_P(JournalModes, VfsTamper, ::testing::ValuesIn(AllModesAndCiphers()),
                         ModeAndCipherName);

class VfsTamperWal : public ::testing::TestWithParam<PageCipher> {};
class VfsTamperJournal : public ::testing::TestWithParam<PageCipher> {};

std::string CipherParamName(const ::testing::TestParamInfo<PageCipher>& info) {
  return CipherName(info.param);
}

// Copies store.db and store.db-wal while three transactions sit in the WAL (a crash snapshot).
struct WalSnapshot {
  TestVault source;
  estelik::testing::TempDir copy_dir;
  std::string copy = copy_dir.File("store.db");
  // The copy's key is attached with the default cipher: opening it recognizes the cipher
  // the source was created with.
  explicit WalSnapshot(PageCipher cipher) : source(cipher) {
    EXPECT_TRUE(AttachKey(copy, source.key).ok());
    MakeVault(source.path, true);
    Db db = Open(source.path, true);
    EXPECT_NE(db, nullptr);
    if (db == nullptr) return;
    for (int i = 0; i < 3; ++i) {
      MustExec(db.get(), "UPDATE t SET body = body || 'x' WHERE id % 3 = " + std::to_string(i));
    }
    CopyFile(source.path, copy);
    CopyFile(source.path + "-wal", copy + "-wal");
  }
  ~WalSnapshot() { DetachKey(copy); }
  std::string Wal() const { return copy + "-wal"; }
};

TEST_P(VfsTamperWal, CrashSnapshotWithAWalRecoversEveryTransaction) {
  WalSnapshot s(GetParam());
  EXPECT_EQ(ReadEverything(s.copy, true), "");
  Db db = Open(s.copy, true);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(One(db.get(), "SELECT count(*) FROM t WHERE body LIKE '%x'"), "300");
}

TEST_P(VfsTamperWal, FlippedBitInWalFrameHeaderOrBodyNamesTheFrame) {
  for (long offset : {72L + 5, 72L + 24 + 700, 72L + 4120 + 4100}) {
    WalSnapshot s(GetParam());
    FlipByte(s.Wal(), offset);
    long frame = (offset - 72) / 4120 + 1;
    EXPECT_EQ(ReadEverything(s.copy, true),
              "vault is corrupt or tampered: store.db-wal frame " + std::to_string(frame))
        << offset;
  }
}

TEST_P(VfsTamperWal, FlippedBitInWalHeaderIsReported) {
  WalSnapshot s(GetParam());
  FlipByte(s.Wal(), 20);
  EXPECT_EQ(ReadEverything(s.copy, true), "vault is corrupt or tampered: store.db-wal header");
}

TEST_P(VfsTamperWal, TornLastFrameLosesOnlyTheUncommittedTail) {
  WalSnapshot s(GetParam());
  auto size = std::filesystem::file_size(s.Wal());
  std::filesystem::resize_file(s.Wal(), size - 1000);  // the last commit frame is torn
  EXPECT_EQ(ReadEverything(s.copy, true), "");
  Db db = Open(s.copy, true);
  ASSERT_NE(db, nullptr);
  // The first two updates are intact; the third (torn) one is gone, as after a crash.
  EXPECT_EQ(One(db.get(), "SELECT count(*) FROM t WHERE body LIKE '%x'"), "200");
}

// A crash snapshot of a DELETE-mode vault in the middle of a transaction larger than the cache:
// the journal is hot and the database already holds some of the new pages.
struct HotJournal {
  TestVault source;
  estelik::testing::TempDir copy_dir;
  std::string copy = copy_dir.File("store.db");
  // The copy's key is attached with the default cipher: opening it recognizes the cipher
  // the source was created with.
  explicit HotJournal(PageCipher cipher) : source(cipher) {
    EXPECT_TRUE(AttachKey(copy, source.key).ok());
    MakeVault(source.path, false);
    Db db = Open(source.path, false);
    EXPECT_NE(db, nullptr);
    if (db == nullptr) return;
    MustExec(db.get(), "PRAGMA cache_size=5");
    MustExec(db.get(), "BEGIN");
    MustExec(db.get(), "UPDATE t SET body = 'new' || body");
    MustExec(db.get(), "INSERT INTO t(body) SELECT body FROM t");
    CopyFile(source.path, copy);
    CopyFile(source.path + "-journal", copy + "-journal");
    MustExec(db.get(), "ROLLBACK");
  }
  ~HotJournal() { DetachKey(copy); }
  std::string Journal() const { return copy + "-journal"; }
};

TEST_P(VfsTamperJournal, HotJournalRollsBackToTheLastCommit) {
  HotJournal h(GetParam());
  EXPECT_EQ(ReadEverything(h.copy, false), "");
  Db db = Open(h.copy, false);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(One(db.get(), "SELECT count(*) FROM t WHERE body LIKE 'new%'"), "0");
}

TEST_P(VfsTamperJournal, FlippedBitInAJournalRecordNamesTheBlock) {
  HotJournal h(GetParam());
  FlipByte(h.Journal(), 4136 + 2000);
  EXPECT_EQ(ReadEverything(h.copy, false),
            "vault is corrupt or tampered: store.db-journal block 1");
}

INSTANTIATE_TEST_SUITE_P(Ciphers, VfsTamperWal, ::testing::ValuesIn(AvailableCiphers()),
                         CipherParamName);
INSTANTIATE_TEST_SUITE_P(Ciphers, VfsTamperJournal, ::testing::ValuesIn(AvailableCiphers()),
                         CipherParamName);

}  // namespace
}  // namespace estelik::vault::vfstest
