// Helpers shared by the encrypting-VFS tests: open a real SQLite database through the VFS in
// a TempDir, run SQL, flip bytes in files.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/crypto/secret.h"
#include "core/vault/vfs.h"
#include "core/vault/vfs_format.h"
#include "tests/support/temp_dir.h"

namespace estelik::vault::vfstest {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

// Opens `path` through the estelik VFS (key must be attached). Null on failure.
inline Db OpenRaw(const std::string& path, int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) {
  EXPECT_TRUE(RegisterVfs().ok());
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, kVfsName);
  Db db(raw);
  if (rc != SQLITE_OK) {
    ADD_FAILURE() << "sqlite3_open_v2(" << path << "): " << sqlite3_errstr(rc) << " / "
                  << LastVfsError();
    return nullptr;
  }
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

// Opens and configures; fails the test on error.
inline Db Open(const std::string& path, bool wal) {
  Db db = OpenRaw(path);
  if (db == nullptr) {
    ADD_FAILURE() << "cannot open " << path;
    return nullptr;
  }
  Status s = ConfigureConnection(db.get(), wal);
  if (!s.ok()) {
    ADD_FAILURE() << "ConfigureConnection: " << s.ToString();
    return nullptr;
  }
  return db;
}

// Runs `sql`; returns the SQLite result code.
inline int Exec(sqlite3* db, const std::string& sql) {
  return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
}

inline void MustExec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  ASSERT_EQ(rc, SQLITE_OK) << sql << ": " << (error ? error : "") << " / " << LastVfsError();
  sqlite3_free(error);
}

// Every row of the first column of `sql` as text; `rc` receives the final step's code.
inline std::vector<std::string> Column(sqlite3* db, const std::string& sql, int* rc = nullptr) {
  std::vector<std::string> rows;
  sqlite3_stmt* stmt = nullptr;
  int r = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  if (r == SQLITE_OK) {
    while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      rows.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
    }
    if (r == SQLITE_DONE) r = SQLITE_OK;
  }
  sqlite3_finalize(stmt);
  if (rc != nullptr) *rc = r;
  return rows;
}

inline std::string One(sqlite3* db, const std::string& sql) {
  int rc = 0;
  std::vector<std::string> rows = Column(db, sql, &rc);
  EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << sqlite3_errmsg(db) << " / " << LastVfsError();
  return rows.empty() ? std::string() : rows[0];
}

// XORs the byte at `offset` of `path` with `mask`.
inline void FlipByte(const std::string& path, long offset, unsigned char mask = 0x01) {
  FILE* f = std::fopen(path.c_str(), "r+b");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(std::fseek(f, offset, SEEK_SET), 0);
  int c = std::fgetc(f);
  ASSERT_NE(c, EOF) << path << " has no byte " << offset;
  ASSERT_EQ(std::fseek(f, offset, SEEK_SET), 0);
  std::fputc(c ^ mask, f);
  std::fclose(f);
}

inline void CopyFile(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

// A vault-like folder with a random page key attached to its store.db; a database created
// there is sealed with `cipher`.
struct TestVault {
  estelik::testing::TempDir dir;
  std::string path = dir.File("store.db");
  crypto::SecretBytes key = crypto::SecretBytes::Random(32);
  PageCipher cipher;
  explicit TestVault(PageCipher c = PageCipher::kXChaCha20Poly1305) : cipher(c) {
    EXPECT_TRUE(AttachKey(path, key, cipher).ok());
  }
  ~TestVault() { DetachKey(path); }
};

inline const char* CipherName(PageCipher cipher) {
  return cipher == PageCipher::kAes256Gcm ? "Aes256Gcm" : "XChaCha20Poly1305";
}

// The ciphers this machine can run: XChaCha20-Poly1305 always, AES-256-GCM with AES-NI.
inline std::vector<PageCipher> AvailableCiphers() {
  std::vector<PageCipher> ciphers{PageCipher::kXChaCha20Poly1305};
  crypto::EnsureSodium();
  if (PreferredPageCipher() == PageCipher::kAes256Gcm) {
    ciphers.push_back(PageCipher::kAes256Gcm);
  }
  return ciphers;
}

// Parameter of the suites that run in both journal modes under every available cipher.
struct ModeAndCipher {
  bool wal;
  PageCipher cipher;
};

inline std::vector<ModeAndCipher> AllModesAndCiphers() {
  std::vector<ModeAndCipher> all;
  for (PageCipher cipher : AvailableCiphers()) {
    all.push_back({true, cipher});
    all.push_back({false, cipher});
  }
  return all;
}

inline std::string ModeAndCipherName(const ::testing::TestParamInfo<ModeAndCipher>& info) {
  return std::string(info.param.wal ? "Wal" : "Delete") + CipherName(info.param.cipher);
}

// True if page 1 of the database at `path` opens with `key` under `cipher` (and so was sealed
// with it: the cipher id is in the associated data).
inline bool Page1SealedWith(const std::string& path, const crypto::SecretBytes& key,
                            PageCipher cipher) {
  std::string bytes = estelik::testing::ReadFileBytes(path);
  if (bytes.size() < vfs_format::kPageBytes) return false;
  auto unit = vfs_format::UnitKey::Create(key, cipher);
  if (!unit.ok()) return false;
  std::vector<uint8_t> plain(vfs_format::kPageContent);
  return vfs_format::OpenUnit(*unit, vfs_format::FileKind::kMain, 1,
                              reinterpret_cast<const uint8_t*>(bytes.data()),
                              vfs_format::kPageContent, plain.data());
}

}  // namespace estelik::vault::vfstest
