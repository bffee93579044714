// Helpers for the store tests. ALL SQLite opening of the store tests happens in OpenTestDb so
// the lead can switch it to the encrypting VFS in one place.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/crypto/secret.h"
#include "core/store/store.h"
#include "proto/record.pb.h"

namespace estelik::store::testing {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;

// Opens (creating if needed) a plain SQLite database file at `path`. Aborts the test binary
// on failure: nothing can be tested without it.
inline DbHandle OpenTestDb(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_close_v2(db);
    std::abort();
  }
  return DbHandle(db);
}

// Deterministic 16-byte id / 32-byte author from a small number.
inline std::string Id(uint8_t n) { return std::string(15, '\x11') + static_cast<char>(n); }
inline std::string Author(uint8_t n) { return std::string(31, '\xa0') + static_cast<char>(n); }
inline crypto::SecretBytes Key(uint8_t n) {
  crypto::SecretBytes k(kContentKeySize);
  for (size_t i = 0; i < k.size(); ++i) k.data()[i] = static_cast<uint8_t>(n + i);
  return k;
}
inline pb::Hlc Hlc(uint64_t wall, uint32_t counter = 0) {
  pb::Hlc h;
  h.set_wall_ms(wall);
  h.set_counter(counter);
  return h;
}
inline pb::TestimonyFields Fields(const std::string& title, const std::string& body,
                                  const std::string& language = "kk") {
  pb::TestimonyFields f;
  f.set_title(title);
  f.set_body(body);
  f.set_language(language);
  f.set_consent_scope(pb::CONSENT_SCOPE_PRIVATE);
  return f;
}
inline NewTestimony Testimony(uint8_t n, pb::TestimonyFields fields, uint64_t created_wall = 0) {
  NewTestimony t;
  t.id = Id(n);
  t.author = Author(1);
  t.created = Hlc(created_wall ? created_wall : 1000 + n);
  t.recorded_unix_ms = 500 + n;
  t.fields = std::move(fields);
  return t;
}

}  // namespace estelik::store::testing
