// sql::Interrupt, the panic-lock's reach into a running statement, and the one mapping of
// SQLITE_INTERRUPT (kLocked).
#include "core/sql/interrupt.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/sql/sql_status.h"
#include "core/sql/stmt.h"
#include "tests/support/memory_db.h"

namespace estelik::sql {
namespace {

using estelik::testing::Db;
using estelik::testing::OpenMemoryDb;

TEST(InterruptTest, SqliteInterruptMapsToLocked) {
  Status s = FromSqlite(nullptr, SQLITE_INTERRUPT, "store: searching");
  EXPECT_EQ(s.code(), Code::kLocked);
  EXPECT_NE(s.message().find("locked"), std::string::npos) << s.message();
}

TEST(InterruptTest, CheckIsOkUntilRequestedThenLocked) {
  Db db = OpenMemoryDb();
  Interrupt interrupt(db.get());
  EXPECT_FALSE(interrupt.requested());
  EXPECT_TRUE(interrupt.Check("exporting").ok());
  interrupt.Request();
  EXPECT_TRUE(interrupt.requested());
  Status s = interrupt.Check("exporting");
  EXPECT_EQ(s.code(), Code::kLocked);
  EXPECT_NE(s.message().find("exporting"), std::string::npos) << s.message();
}

TEST(InterruptTest, TheRunningStatementStopsAtItsNextRowWithLocked) {
  Db db = OpenMemoryDb();
  Interrupt interrupt(db.get());
  // An endless row source: only the interrupt ends it.
  auto s = Stmt::Prepare(db.get(),
                         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                         "SELECT i FROM n");
  ASSERT_TRUE(s.ok()) << s.status().message();
  for (int i = 0; i < 3; ++i) {
    auto row = s->Step();
    ASSERT_TRUE(row.ok() && *row);
  }
  interrupt.Request();
  auto row = s->Step();
  ASSERT_FALSE(row.ok());
  EXPECT_EQ(row.status().code(), Code::kLocked) << row.status().message();
}

}  // namespace
}  // namespace estelik::sql
