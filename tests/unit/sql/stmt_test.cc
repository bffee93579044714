#include "core/sql/stmt.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/sql/stmt_cache.h"
#include "tests/support/memory_db.h"

namespace estelik::sql {
namespace {

using estelik::testing::Db;
using estelik::testing::OpenMemoryDb;

// typeof(?1) for a statement whose first parameter `bind` sets.
template <typename BindFn>
std::string TypeOf(sqlite3* db, BindFn bind) {
  auto s = Stmt::Prepare(db, "SELECT typeof(?1), length(?1)");
  EXPECT_TRUE(s.ok()) << s.status().message();
  bind(*s);
  auto row = s->Step();
  EXPECT_TRUE(row.ok() && *row);
  return s->Text(0);
}

TEST(StmtTest, EachBindStoresTheKindItNames) {
  Db db = OpenMemoryDb();
  const std::string bytes("\x00\xff", 2);
  EXPECT_EQ(TypeOf(db.get(), [&](Stmt& s) { s.BindBlob(1, bytes); }), "blob");
  EXPECT_EQ(TypeOf(db.get(), [&](Stmt& s) { s.BindText(1, "text"); }), "text");
  EXPECT_EQ(TypeOf(db.get(), [&](Stmt& s) { s.BindInt(1, 7); }), "integer");
  EXPECT_EQ(TypeOf(db.get(), [&](Stmt& s) { s.BindDouble(1, 0.5); }), "real");
  EXPECT_EQ(TypeOf(db.get(), [&](Stmt& s) { s.BindNull(1); }), "null");
}

TEST(StmtTest, AnEmptyBlobIsAnEmptyBlobNotNull) {
  Db db = OpenMemoryDb();
  EXPECT_EQ(TypeOf(db.get(), [](Stmt& s) { s.BindBlob(1, std::string_view()); }), "blob");
  EXPECT_EQ(TypeOf(db.get(), [](Stmt& s) { s.BindBlob(1, std::span<const uint8_t>()); }), "blob");
  EXPECT_EQ(TypeOf(db.get(), [](Stmt& s) { s.BindText(1, std::string_view()); }), "text");
}

TEST(StmtTest, ColumnsReadBackWhatWasBound) {
  Db db = OpenMemoryDb();
  auto s = Stmt::Prepare(db.get(), "SELECT ?1, ?2, ?3, ?4, ?5");
  ASSERT_TRUE(s.ok());
  const std::string bytes("a\x00z", 3);
  s->BindBlob(1, bytes).BindText(2, "Жаңаөзен").BindInt(3, -5).BindDouble(4, 2.5).BindNull(5);
  auto row = s->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(s->Blob(0), bytes);
  EXPECT_EQ(s->BlobSpan(0).size(), 3u);
  EXPECT_EQ(s->Text(1), "Жаңаөзен");
  EXPECT_EQ(s->Int(2), -5);
  EXPECT_EQ(s->Double(3), 2.5);
  EXPECT_TRUE(s->IsNull(4));
  EXPECT_EQ(s->Text(4), "");
  EXPECT_FALSE(*s->Step());
}

TEST(StmtTest, BadSqlIsAnErrorNamingWhatFailed) {
  Db db = OpenMemoryDb();
  auto s = Stmt::Prepare(db.get(), "SELEKT 1");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kInternal);
  EXPECT_NE(s.status().message().find("preparing a statement"), std::string::npos);
}

TEST(StmtTest, AConstraintViolationIsAlreadyExists) {
  Db db = OpenMemoryDb();
  ASSERT_TRUE(Exec(db.get(), "CREATE TABLE t(k INTEGER PRIMARY KEY)").ok());
  auto s = Stmt::Prepare(db.get(), "INSERT INTO t VALUES(?)");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s->BindInt(1, 1).Run().ok());
  Status again = s->Run();  // Run resets but keeps the binding: the same key again
  EXPECT_EQ(again.code(), Code::kAlreadyExists) << again.message();
}

TEST(StmtTest, ABindSqliteRefusesIsReportedByTheNextStep) {
  Db db = OpenMemoryDb();
  sqlite3_limit(db.get(), SQLITE_LIMIT_LENGTH, 32);  // the SQL text fits; the blob does not
  auto s = Stmt::Prepare(db.get(), "SELECT length(?1)");
  ASSERT_TRUE(s.ok());
  s->BindBlob(1, std::string(64, 'x'));
  auto row = s->Step();
  ASSERT_FALSE(row.ok());
  EXPECT_NE(row.status().message().find("binding parameter 1"), std::string::npos);
  s->Reset();  // clears the refused bind with the others
  s->BindBlob(1, std::string(4, 'x'));
  row = s->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(s->Int(0), 4);
}

TEST(StmtTest, RunStepsPastEveryRow) {
  Db db = OpenMemoryDb();
  ASSERT_TRUE(Exec(db.get(), "CREATE TABLE t(v); INSERT INTO t VALUES(1),(2),(3)").ok());
  auto s = Stmt::Prepare(db.get(), "DELETE FROM t RETURNING v");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s->Run().ok());
  auto count = Stmt::Prepare(db.get(), "SELECT count(*) FROM t");
  ASSERT_TRUE(count.ok() && *count->Step());
  EXPECT_EQ(count->Int(0), 0);
}

TEST(StmtTest, ForEachRowVisitsEveryRowInOrder) {
  Db db = OpenMemoryDb();
  auto s = Stmt::Prepare(db.get(), "SELECT value FROM generate_series(1, 4)");
  if (!s.ok()) {  // generate_series is an optional SQLite extension; a CTE does the same
    s = Stmt::Prepare(db.get(),
                      "WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n "
                      "WHERE value < 4) SELECT value FROM n");
  }
  ASSERT_TRUE(s.ok());
  std::vector<int64_t> seen;
  ASSERT_TRUE(ForEachRow(*s, [&](const Stmt& row) { seen.push_back(row.Int(0)); }).ok());
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3, 4}));
}

TEST(StmtTest, ForEachRowStopsAtTheFirstErrorTheCallbackReturns) {
  Db db = OpenMemoryDb();
  ASSERT_TRUE(Exec(db.get(), "CREATE TABLE t(v); INSERT INTO t VALUES(1),(2),(3)").ok());
  auto s = Stmt::Prepare(db.get(), "SELECT v FROM t ORDER BY v");
  ASSERT_TRUE(s.ok());
  int calls = 0;
  Status st = ForEachRow(*s, [&](const Stmt& row) -> Status {
    ++calls;
    return row.Int(0) == 2 ? Corrupt("row 2 is bad") : Status::Ok();
  });
  EXPECT_EQ(st.code(), Code::kCorrupt);
  EXPECT_EQ(calls, 2);
}

TEST(StmtCacheTest, HandsOutOnePreparedStatementPerSqlLiteralResetEachTime) {
  Db db = OpenMemoryDb();
  StmtCache cache(db.get());
  static constexpr char kSql[] = "SELECT ?1";
  sqlite3_stmt* first = nullptr;
  {
    auto h = cache.Get(kSql);
    ASSERT_TRUE(h.ok());
    first = (**h).get();
    (**h).BindInt(1, 42);
    ASSERT_TRUE(*(**h).Step());  // left mid-row: the handle resets it
  }
  auto h = cache.Get(kSql);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ((**h).get(), first);
  EXPECT_FALSE(sqlite3_stmt_busy(first));
  ASSERT_TRUE(*(**h).Step());
  EXPECT_TRUE((**h).IsNull(0));  // the old binding was cleared
}

TEST(StmtCacheTest, AFailedPrepareIsReportedAndTriedAgainNextTime) {
  Db db = OpenMemoryDb();
  StmtCache cache(db.get());
  static constexpr char kSql[] = "SELECT v FROM later";
  EXPECT_FALSE(cache.Get(kSql).ok());
  ASSERT_TRUE(Exec(db.get(), "CREATE TABLE later(v); INSERT INTO later VALUES(9)").ok());
  auto h = cache.Get(kSql);
  ASSERT_TRUE(h.ok()) << h.status().message();
  ASSERT_TRUE(*(**h).Step());
  EXPECT_EQ((**h).Int(0), 9);
}

}  // namespace
}  // namespace estelik::sql
