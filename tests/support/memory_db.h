// An in-memory SQLite database for tests of the SQL layer: opened on construction (a failed open
// fails the test), closed when the handle goes out of scope.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>

namespace estelik::testing {

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Db = std::unique_ptr<sqlite3, CloseDb>;

inline Db OpenMemoryDb() {
  sqlite3* raw = nullptr;
  EXPECT_EQ(sqlite3_open(":memory:", &raw), SQLITE_OK);
  return Db(raw);
}

}  // namespace estelik::testing
