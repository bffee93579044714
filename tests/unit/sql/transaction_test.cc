#include "core/sql/transaction.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/sql/stmt.h"
#include "tests/support/temp_dir.h"

namespace estelik::sql {
namespace {

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Db = std::unique_ptr<sqlite3, CloseDb>;

class TransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = Open();
    ASSERT_TRUE(Exec(db_.get(), "CREATE TABLE t(v)").ok());
  }
  Db Open() {
    sqlite3* raw = nullptr;
    EXPECT_EQ(sqlite3_open(tmp_.File("t.db").c_str(), &raw), SQLITE_OK);
    return Db(raw);
  }
  void Insert(int v) {
    auto s = Stmt::Prepare(db_.get(), "INSERT INTO t VALUES(?)");
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s->BindInt(1, v).Run().ok());
  }
  int64_t Count() {
    auto s = Stmt::Prepare(db_.get(), "SELECT count(*) FROM t");
    EXPECT_TRUE(s.ok() && *s->Step());
    return s->Int(0);
  }

  estelik::testing::TempDir tmp_;
  Db db_;
};

TEST_F(TransactionTest, CommitKeepsTheChanges) {
  {
    auto tx = Transaction::Begin(db_.get());
    ASSERT_TRUE(tx.ok());
    EXPECT_FALSE(tx->nested());
    Insert(1);
    ASSERT_TRUE(tx->Commit().ok());
  }
  EXPECT_EQ(Count(), 1);
  EXPECT_TRUE(sqlite3_get_autocommit(db_.get()));
}

TEST_F(TransactionTest, WithoutCommitNothingHappened) {
  {
    auto tx = Transaction::Begin(db_.get());
    ASSERT_TRUE(tx.ok());
    Insert(1);
  }
  EXPECT_EQ(Count(), 0);
  EXPECT_TRUE(sqlite3_get_autocommit(db_.get()));
}

TEST_F(TransactionTest, TheOutermostTransactionTakesTheWriteLockWhenItBegins) {
  auto tx = Transaction::Begin(db_.get());
  ASSERT_TRUE(tx.ok());
  Db other = Open();
  auto second = Transaction::Begin(other.get());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kIo);
  EXPECT_NE(second.status().message().find("in use by another process or connection"),
            std::string::npos);
}

TEST_F(TransactionTest, ANestedTransactionRollsBackOnlyItsOwnChanges) {
  auto outer = Transaction::Begin(db_.get());
  ASSERT_TRUE(outer.ok());
  Insert(1);
  {
    auto inner = Transaction::Begin(db_.get());
    ASSERT_TRUE(inner.ok());
    EXPECT_TRUE(inner->nested());
    Insert(2);
    EXPECT_EQ(Count(), 2);
  }
  EXPECT_EQ(Count(), 1);
  EXPECT_FALSE(sqlite3_get_autocommit(db_.get()));  // the outer one is still open
  ASSERT_TRUE(outer->Commit().ok());
  EXPECT_EQ(Count(), 1);
}

TEST_F(TransactionTest, ANestedCommitLastsOnlyAsLongAsTheOuterTransaction) {
  {
    auto outer = Transaction::Begin(db_.get());
    ASSERT_TRUE(outer.ok());
    auto inner = Transaction::Begin(db_.get());
    ASSERT_TRUE(inner.ok());
    Insert(1);
    ASSERT_TRUE(inner->Commit().ok());
    EXPECT_EQ(Count(), 1);
  }  // the outer one rolls back, taking the released savepoint with it
  EXPECT_EQ(Count(), 0);
}

TEST_F(TransactionTest, TransactionsNestSeveralLevelsDeep) {
  auto a = Transaction::Begin(db_.get());
  ASSERT_TRUE(a.ok());
  Insert(1);
  {
    auto b = Transaction::Begin(db_.get());
    ASSERT_TRUE(b.ok());
    Insert(2);
    {
      auto c = Transaction::Begin(db_.get());
      ASSERT_TRUE(c.ok());
      Insert(3);
    }  // c rolls back
    ASSERT_TRUE(b->Commit().ok());
  }
  ASSERT_TRUE(a->Commit().ok());
  EXPECT_EQ(Count(), 2);
}

TEST_F(TransactionTest, AMovedTransactionIsEndedOnceByItsNewOwner) {
  auto tx = Transaction::Begin(db_.get());
  ASSERT_TRUE(tx.ok());
  Insert(1);
  {
    Transaction moved = std::move(*tx);
    ASSERT_TRUE(moved.Commit().ok());
  }
  EXPECT_EQ(Count(), 1);
  EXPECT_TRUE(sqlite3_get_autocommit(db_.get()));
}

}  // namespace
}  // namespace estelik::sql
