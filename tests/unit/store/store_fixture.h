// The common fixture of the store tests (kept out of store_test_util.h, which benchmarks and
// tools include without GoogleTest).
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "core/store/store.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/store/store_test_util.h"

namespace estelik::store::testing {

// A fresh encrypted store.db (OpenTestDb) with a Store open on it, per test.
class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = OpenTestDb(dir_.File("store.db"));
    auto s = Store::Open(db_.get());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  estelik::testing::TempDir dir_;
  DbHandle db_;
  std::unique_ptr<Store> store_;
};

}  // namespace estelik::store::testing
