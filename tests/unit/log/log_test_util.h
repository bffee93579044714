// Helpers for the op log tests: a peer is a real SQLite file in a TempDir with an OpLog.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "core/log/op_log.h"
#include "tests/support/temp_dir.h"

namespace estelik::log::testing {

inline std::vector<uint8_t> Seed(uint8_t first) {
  std::vector<uint8_t> s(kSeedSize);
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(first + i);
  return s;
}

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};

class Peer {
 public:
  explicit Peer(uint8_t seed_byte, const std::string& name = "store.db") {
    path_ = dir_.File(name);
    Reopen(seed_byte);
  }
  void Reopen(uint8_t seed_byte) {
    log_.reset();
    db_.reset();
    sqlite3* raw = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
    db_.reset(raw);
    OpLogOptions options;
    options.identity_seed = Seed(seed_byte);
    std::vector<uint8_t> pk(kBodyKeySize, static_cast<uint8_t>(0xA0 + seed_byte));
    auto log = OpLog::Open(db_.get(), crypto::SecretBytes::CopyOf(pk), options);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
  }
  OpLog& log() { return *log_; }
  OpLog* operator->() { return log_.get(); }
  const PublicKey& key() const { return log_->identity().public_key(); }
  sqlite3* db() { return db_.get(); }

 private:
  estelik::testing::TempDir dir_;
  std::string path_;
  std::unique_ptr<sqlite3, DbCloser> db_;
  std::unique_ptr<OpLog> log_;
};

inline pb::OpBody TagBody(const std::string& tag) {
  pb::OpBody body;
  body.mutable_tag_add()->set_testimony_id(std::string(16, '\x07'));
  body.mutable_tag_add()->set_tag(tag);
  return body;
}

inline std::string KeyBytes(const PublicKey& k) {
  return std::string(reinterpret_cast<const char*>(k.data()), k.size());
}

// Counts rows of a log_ table (to show that a rejected op changed nothing).
inline int64_t CountRows(sqlite3* db, const std::string& table) {
  sqlite3_stmt* s = nullptr;
  std::string sql = "SELECT count(*) FROM " + table;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) return -1;
  int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
  sqlite3_finalize(s);
  return n;
}

}  // namespace estelik::log::testing
