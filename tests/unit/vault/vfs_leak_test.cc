// No plaintext reaches the disk: not in the database, the WAL, the journal or any temp file.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>

#include "tests/unit/vault/vfs_test_util.h"

namespace estelik::vault::vfstest {
namespace {

constexpr char kCanary[] = "ESTELIK-CANARY-q7Zr";

std::string Utf16(const std::string& ascii, bool big_endian) {
  std::string out;
  for (char c : ascii) {
    if (big_endian) out.push_back('\0');
    out.push_back(c);
    if (!big_endian) out.push_back('\0');
  }
  return out;
}

// Every file under `root` that contains a forbidden pattern, with the pattern.
std::vector<std::string> Leaks(const std::filesystem::path& root) {
  const std::vector<std::pair<std::string, std::string>> patterns = {
      {"canary utf-8", kCanary},
      {"canary utf-16le", Utf16(kCanary, false)},
      {"canary utf-16be", Utf16(kCanary, true)},
      {"sqlite magic", "SQLite format 3"},
      // The schema's plaintext. Not just "fts5": 4 bytes occur by chance in megabytes of
      // ciphertext (about once in 200 runs of this test).
      {"fts5 schema", "USING fts5("},
  };
  std::vector<std::string> hits;
  for (const auto& file : estelik::testing::ListFiles(root)) {
    std::string bytes = estelik::testing::ReadFileBytes(file);
    for (const auto& [what, pattern] : patterns) {
      if (bytes.find(pattern) != std::string::npos) hits.push_back(file.string() + ": " + what);
    }
  }
  return hits;
}

// Points TMPDIR and SQLITE_TMPDIR at `dir` for its lifetime.
class ScopedTempEnv {
 public:
  explicit ScopedTempEnv(const std::filesystem::path& dir) {
    for (const char* name : {"TMPDIR", "SQLITE_TMPDIR"}) {
      const char* old = std::getenv(name);
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      setenv(name, dir.c_str(), 1);
    }
  }
  ~ScopedTempEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

class VfsLeak : public ::testing::TestWithParam<ModeAndCipher> {};

TEST_P(VfsLeak, NoCanaryOrSqliteMagicInAnyFileInEitherJournalMode) {
  const bool wal = GetParam().wal;
  estelik::testing::TempDir temp;
  TestVault v{GetParam().cipher};
  ScopedTempEnv env(temp.path());
  auto scan_all = [&](const char* when) {
    for (const auto& hit : Leaks(v.dir.path())) ADD_FAILURE() << when << ": " << hit;
    for (const auto& hit : Leaks(temp.path())) ADD_FAILURE() << when << ": " << hit;
  };
  {
    Db db = Open(v.path, wal);
    ASSERT_NE(db, nullptr);
    sqlite3* d = db.get();
    // A small cache makes SQLite spill: mid-transaction journal syncs, WAL frame rewrites,
    // sorter spill files.
    MustExec(d, "PRAGMA cache_size=20");
    MustExec(d, "CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT, wide TEXT)");
    MustExec(d, "CREATE INDEX t_body ON t(body)");
    MustExec(d, "CREATE VIRTUAL TABLE f USING fts5(body)");
    MustExec(d, "BEGIN");
    for (int i = 0; i < 1500; ++i) {
      std::string n = std::to_string(i);
      MustExec(d, "INSERT INTO t(body, wide) VALUES (printf('%s %d %s', '" + std::string(kCanary) +
                      "', " + n + ", hex(randomblob(300))), '" +
                      Utf16(kCanary, false).substr(0, 0) + "' || char(" + n + " % 50 + 65))");
      MustExec(
          d, "INSERT INTO f(body) VALUES ('testimony " + std::string(kCanary) + " word" + n + "')");
    }
    MustExec(d, "COMMIT");
    // Text stored as UTF-16 too.
    MustExec(d, "CREATE TABLE u(x TEXT)");
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(d, "INSERT INTO u VALUES (?)", -1, &stmt, nullptr), SQLITE_OK);
    std::u16string wide(kCanary, kCanary + sizeof(kCanary) - 1);
    sqlite3_bind_text16(stmt, 1, wide.data(), static_cast<int>(wide.size() * 2), SQLITE_STATIC);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
    // Big sorts that exceed the cache and spill.
    EXPECT_EQ(One(d, "SELECT count(*) FROM (SELECT body FROM t ORDER BY wide, body DESC)"), "1500");
    EXPECT_EQ(One(d, "SELECT count(DISTINCT body || id) FROM t"), "1500");
    EXPECT_EQ(One(d, "SELECT count(*) FROM f WHERE f MATCH 'word77'"), "1");
    // A large transaction that is rolled back.
    MustExec(d, "BEGIN");
    MustExec(d, "UPDATE t SET body = body || ' " + std::string(kCanary) + " again'");
    MustExec(d, "INSERT INTO f(body) SELECT body FROM t");
    scan_all("during a large transaction");
    MustExec(d, "ROLLBACK");
    scan_all("after rollback");
    if (wal) MustExec(d, "PRAGMA wal_checkpoint(PASSIVE)");
    MustExec(d, "UPDATE t SET body = 'x' || body WHERE id % 3 = 0");
    scan_all("with a live WAL or journal");
    if (wal) MustExec(d, "PRAGMA wal_checkpoint(TRUNCATE)");
    EXPECT_EQ(One(d, "PRAGMA integrity_check"), "ok");
  }
  scan_all("after close");
  Db db = Open(v.path, wal);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(One(db.get(), "SELECT count(*) FROM f WHERE f MATCH 'word1499'"), "1");
}

INSTANTIATE_TEST_SUITE_P(JournalModes, VfsLeak, ::testing::ValuesIn(AllModesAndCiphers()),
                         ModeAndCipherName);

}  // namespace
}  // namespace estelik::vault::vfstest
