// The sealed-unit format is pinned: fixed key and nonce give fixed bytes, and a vault written
// by format version 1 opens in every later version.
#include "core/vault/vfs_format.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <fstream>

#include "core/bytes.h"
#include "core/vault/vfs_testing.h"
#include "tests/unit/vault/vfs_test_util.h"

namespace estelik::vault::vfstest {
namespace {

using vfs_format::FileKind;

const std::string kFixtureDir = std::string(ESTELIK_SOURCE_DIR) + "/tests/fixtures/vfs";

std::string Hex(const uint8_t* bytes, size_t n) { return estelik::Hex({bytes, n}); }

crypto::SecretBytes FixedKey() {
  crypto::SecretBytes key(32);
  for (size_t i = 0; i < 32; ++i) key.data()[i] = static_cast<uint8_t>(i);
  return key;
}

void FixedNonce(uint8_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(0x40 + i);
}

struct FixedNonceScope {
  FixedNonceScope() { testing::SetNonceSourceForTesting(FixedNonce); }
  ~FixedNonceScope() { testing::SetNonceSourceForTesting(nullptr); }
};

TEST(VfsFormat, AssociatedDataIsMagicKindAndIndex) {
  uint8_t ad[vfs_format::kAdSize];
  vfs_format::MakeAd(FileKind::kWal, 0x0102030405060708ull, ad);
  EXPECT_EQ(Hex(ad, sizeof ad),
            "6573746c766673310200000000000000"
            "0807060504030201");
}

TEST(VfsFormat, SealingAKnownPageWithAFixedNonceGivesPinnedBytes) {
  FixedNonceScope fixed;
  crypto::SecretBytes key = FixedKey();
  std::vector<uint8_t> page(vfs_format::kPageBytes);
  for (size_t i = 0; i < page.size(); ++i) page[i] = static_cast<uint8_t>(i % 251);
  std::vector<uint8_t> sealed(vfs_format::kPageBytes);
  vfs_format::SealUnit(key, FileKind::kMain, 7, page.data(), vfs_format::kPageContent,
                       sealed.data());
  uint8_t digest[32];
  crypto_generichash(digest, sizeof digest, sealed.data(), sealed.size(), nullptr, 0);
  // Layout: ciphertext (4056) | nonce (24) | tag (16). The expected values were cross-checked
  // with an independent implementation (HChaCha20 + ChaCha20-Poly1305 of Python's
  // `cryptography`), AD = "estlvfs1" 01 00*7 07 00*7.
  EXPECT_EQ(Hex(sealed.data() + 4056, 24), "404142434445464748494a4b4c4d4e4f5051525354555657");
  EXPECT_EQ(Hex(sealed.data(), 16), "d4380773d4e57f1187fd8db5a3916b9d");
  EXPECT_EQ(Hex(sealed.data() + 4080, 16), "24040f4058990bef3c4458f5078f0005");
  EXPECT_EQ(Hex(digest, 32), "238db4c1f646663b213a23294fd72384558c88b0e461d59b1bda7b07173f5ef5");
  std::vector<uint8_t> opened(vfs_format::kPageContent);
  ASSERT_TRUE(vfs_format::OpenUnit(key, FileKind::kMain, 7, sealed.data(), vfs_format::kPageContent,
                                   opened.data()));
  EXPECT_TRUE(std::equal(opened.begin(), opened.end(), page.begin()));
  // The same bytes at another position or in another file do not open.
  EXPECT_FALSE(vfs_format::OpenUnit(key, FileKind::kMain, 8, sealed.data(),
                                    vfs_format::kPageContent, opened.data()));
  EXPECT_FALSE(vfs_format::OpenUnit(key, FileKind::kWal, 7, sealed.data(), vfs_format::kPageContent,
                                    opened.data()));
}

// Rollback-journal units (docs/FORMAT.md "Pages", file kind 4): 512 bytes of journal sealed
// into 552, seven units per 4096-byte block so that no unit straddles a page of the file.
TEST(VfsFormat, SealingAJournalUnitWithAFixedNonceGivesPinnedBytes) {
  FixedNonceScope fixed;
  crypto::SecretBytes key = FixedKey();
  std::vector<uint8_t> unit(vfs_format::kJournalUnit);
  for (size_t i = 0; i < unit.size(); ++i) unit[i] = static_cast<uint8_t>(i % 251);
  std::vector<uint8_t> sealed(vfs_format::kJournalUnitPhysical);
  vfs_format::SealUnit(key, FileKind::kJournalV2, 9, unit.data(), unit.size(), sealed.data());
  uint8_t ad[vfs_format::kAdSize];
  vfs_format::MakeAd(FileKind::kJournalV2, 9, ad);
  EXPECT_EQ(Hex(ad, sizeof ad),
            "6573746c766673310400000000000000"
            "0900000000000000");
  uint8_t digest[32];
  crypto_generichash(digest, sizeof digest, sealed.data(), sealed.size(), nullptr, 0);
  EXPECT_EQ(Hex(sealed.data() + 512, 24), "404142434445464748494a4b4c4d4e4f5051525354555657");
  EXPECT_EQ(Hex(digest, 32), "31db9271ac86aa4c7084d200c76cb1797092ca7ec78f273eec70e2ef0f4c5e0b");
  std::vector<uint8_t> opened(vfs_format::kJournalUnit);
  ASSERT_TRUE(vfs_format::OpenUnit(key, FileKind::kJournalV2, 9, sealed.data(), unit.size(),
                                   opened.data()));
  EXPECT_EQ(opened, unit);
  // A unit of the old 4 KiB-block layout (kind 3) never opens as kind 4, and vice versa.
  EXPECT_FALSE(
      vfs_format::OpenUnit(key, FileKind::kJournal, 9, sealed.data(), unit.size(), opened.data()));
  // Unit j lives at (j / 7) * 4096 + (j % 7) * 552.
  EXPECT_EQ(vfs_format::kJournalUnitPhysical, 552u);
  EXPECT_EQ(vfs_format::kJournalUnitsPerBlock, 7u);
}

TEST(VfsFormat, AssociatedDataCarriesTheCipherId) {
  uint8_t ad[vfs_format::kAdSize];
  vfs_format::MakeAd(PageCipher::kAes256Gcm, FileKind::kMain, 7, ad);
  EXPECT_EQ(Hex(ad, sizeof ad),
            "6573746c766673310101000000000000"
            "0700000000000000");
}

TEST(VfsFormat, AesGcmSealingAKnownPageWithAFixedNonceGivesPinnedBytes) {
  if (PreferredPageCipher() != PageCipher::kAes256Gcm) {
    GTEST_SKIP() << "this CPU has no AES-NI/PCLMUL: AES-256-GCM pages are not available here";
  }
  FixedNonceScope fixed;
  auto key = vfs_format::UnitKey::Create(FixedKey(), PageCipher::kAes256Gcm);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  std::vector<uint8_t> page(vfs_format::kPageBytes);
  for (size_t i = 0; i < page.size(); ++i) page[i] = static_cast<uint8_t>(i % 251);
  std::vector<uint8_t> sealed(vfs_format::kPageBytes, 0xee);
  vfs_format::SealUnit(*key, FileKind::kMain, 7, page.data(), vfs_format::kPageContent,
                       sealed.data());
  uint8_t digest[32];
  crypto_generichash(digest, sizeof digest, sealed.data(), sealed.size(), nullptr, 0);
  // Layout: ciphertext (4056) | nonce (12) | tag (16) | zero (12). Cross-checked with Python's
  // `cryptography` (OpenSSL AES-GCM), AD = "estlvfs1" 01 01 00*6 07 00*7 00*12 (36 bytes).
  EXPECT_EQ(Hex(sealed.data() + 4056, 12), "404142434445464748494a4b");
  EXPECT_EQ(Hex(sealed.data(), 16), "e2b8ac2022398104c5cd1d3d97691d54");
  EXPECT_EQ(Hex(sealed.data() + 4068, 16), "12806c0e5ea296e2f902ed61891be8a6");
  EXPECT_EQ(Hex(sealed.data() + 4084, 12), "000000000000000000000000");
  EXPECT_EQ(Hex(digest, 32), "c423a41104d03ad9c15ab026cc6e167c27372afffa46964a7e592bd1c09faf58");
  std::vector<uint8_t> opened(vfs_format::kPageContent);
  ASSERT_TRUE(vfs_format::OpenUnit(*key, FileKind::kMain, 7, sealed.data(),
                                   vfs_format::kPageContent, opened.data()));
  EXPECT_TRUE(std::equal(opened.begin(), opened.end(), page.begin()));
  EXPECT_FALSE(vfs_format::OpenUnit(*key, FileKind::kMain, 8, sealed.data(),
                                    vfs_format::kPageContent, opened.data()));
  EXPECT_FALSE(vfs_format::OpenUnit(*key, FileKind::kJournal, 7, sealed.data(),
                                    vfs_format::kPageContent, opened.data()));
}

TEST(VfsFormat, AUnitNeverOpensUnderTheOtherCipher) {
  if (PreferredPageCipher() != PageCipher::kAes256Gcm) {
    GTEST_SKIP() << "this CPU has no AES-NI/PCLMUL: only XChaCha20-Poly1305 exists here";
  }
  auto aes = vfs_format::UnitKey::Create(FixedKey(), PageCipher::kAes256Gcm);
  auto xchacha = vfs_format::UnitKey::Create(FixedKey(), PageCipher::kXChaCha20Poly1305);
  ASSERT_TRUE(aes.ok() && xchacha.ok());
  std::vector<uint8_t> page(vfs_format::kPageContent, 0x5a);
  std::vector<uint8_t> a(vfs_format::kPageBytes), x(vfs_format::kPageBytes);
  std::vector<uint8_t> opened(vfs_format::kPageContent);
  vfs_format::SealUnit(*aes, FileKind::kMain, 1, page.data(), page.size(), a.data());
  vfs_format::SealUnit(*xchacha, FileKind::kMain, 1, page.data(), page.size(), x.data());
  EXPECT_TRUE(vfs_format::OpenUnit(*aes, FileKind::kMain, 1, a.data(), page.size(), opened.data()));
  EXPECT_FALSE(
      vfs_format::OpenUnit(*xchacha, FileKind::kMain, 1, a.data(), page.size(), opened.data()));
  EXPECT_TRUE(
      vfs_format::OpenUnit(*xchacha, FileKind::kMain, 1, x.data(), page.size(), opened.data()));
  EXPECT_FALSE(
      vfs_format::OpenUnit(*aes, FileKind::kMain, 1, x.data(), page.size(), opened.data()));
}

TEST(VfsFormat, AnExistingVaultKeepsTheCipherItWasCreatedWith) {
  if (PreferredPageCipher() != PageCipher::kAes256Gcm) {
    GTEST_SKIP() << "this CPU has no AES-NI/PCLMUL: only XChaCha20-Poly1305 exists here";
  }
  for (PageCipher created : {PageCipher::kAes256Gcm, PageCipher::kXChaCha20Poly1305}) {
    const PageCipher other =
        created == PageCipher::kAes256Gcm ? PageCipher::kXChaCha20Poly1305 : PageCipher::kAes256Gcm;
    estelik::testing::TempDir dir;
    std::string path = dir.File("store.db");
    crypto::SecretBytes key = crypto::SecretBytes::Random(32);
    ASSERT_TRUE(AttachKey(path, key, created).ok());
    {
      Db db = Open(path, true);
      ASSERT_NE(db, nullptr);
      MustExec(db.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT)");
      MustExec(db.get(), "INSERT INTO t(body) VALUES ('before')");
    }
    // Reopened with the other cipher attached (another machine, another default).
    ASSERT_TRUE(AttachKey(path, key, other).ok());
    {
      Db db = Open(path, true);
      ASSERT_NE(db, nullptr);
      MustExec(db.get(), "INSERT INTO t(body) SELECT body || '+' FROM t");
      EXPECT_EQ(One(db.get(), "SELECT count(*) FROM t"), "2");
      EXPECT_EQ(One(db.get(), "PRAGMA integrity_check"), "ok");
    }
    DetachKey(path);
    EXPECT_TRUE(Page1SealedWith(path, key, created)) << CipherName(created);
    EXPECT_FALSE(Page1SealedWith(path, key, other)) << CipherName(created);
  }
}

TEST(VfsFormat, EveryWriteUsesAFreshNonce) {
  crypto::SecretBytes key = FixedKey();
  std::vector<uint8_t> page(vfs_format::kPageContent, 0x5a);
  std::vector<uint8_t> a(vfs_format::kPageBytes), b(vfs_format::kPageBytes);
  vfs_format::SealUnit(key, FileKind::kMain, 1, page.data(), page.size(), a.data());
  vfs_format::SealUnit(key, FileKind::kMain, 1, page.data(), page.size(), b.data());
  EXPECT_NE(Hex(a.data() + 4056, 24), Hex(b.data() + 4056, 24));
  EXPECT_NE(Hex(a.data(), 64), Hex(b.data(), 64));
}

const char* kFixtureRows[] = {"first testimony", "zweites Zeugnis", "üçüncü tanıklık"};

TEST(VfsFormat, FixtureVaultOfFormatVersion1StillOpens) {
  std::ifstream key_file(kFixtureDir + "/store.db.key.hex");
  std::string key_hex;
  key_file >> key_hex;
  ASSERT_EQ(key_hex.size(), 64u) << "missing " << kFixtureDir << "/store.db.key.hex";
  crypto::SecretBytes key(32);
  ASSERT_EQ(
      sodium_hex2bin(key.data(), 32, key_hex.data(), key_hex.size(), nullptr, nullptr, nullptr), 0);
  estelik::testing::TempDir dir;
  std::string path = dir.File("store.db");
  CopyFile(kFixtureDir + "/store.db", path);
  ASSERT_TRUE(AttachKey(path, key).ok());
  {
    Db db = Open(path, false);
    ASSERT_NE(db, nullptr);
    std::vector<std::string> rows = Column(db.get(), "SELECT body FROM t ORDER BY id");
    ASSERT_EQ(rows.size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(rows[i], kFixtureRows[i]);
    EXPECT_EQ(One(db.get(), "SELECT count(*) FROM f WHERE f MATCH 'testimony'"), "1");
    EXPECT_EQ(One(db.get(), "PRAGMA integrity_check"), "ok");
  }
  DetachKey(path);
}

// Run once with --gtest_also_run_disabled_tests to (re)create the fixture; never in CI.
TEST(VfsFormat, DISABLED_WriteFixtureVault) {
  crypto::SecretBytes key = crypto::SecretBytes::Random(32);
  std::filesystem::create_directories(kFixtureDir);
  std::string path = kFixtureDir + "/store.db";
  std::filesystem::remove(path);
  ASSERT_TRUE(AttachKey(path, key).ok());
  {
    Db db = Open(path, false);
    ASSERT_NE(db, nullptr);
    MustExec(db.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT)");
    MustExec(db.get(), "CREATE VIRTUAL TABLE f USING fts5(body)");
    for (const char* row : kFixtureRows) {
      MustExec(db.get(), std::string("INSERT INTO t(body) VALUES ('") + row + "')");
      MustExec(db.get(), std::string("INSERT INTO f(body) VALUES ('") + row + "')");
    }
  }
  DetachKey(path);
  std::ofstream(kFixtureDir + "/store.db.key.hex") << Hex(key.data(), 32) << "\n";
}

}  // namespace
}  // namespace estelik::vault::vfstest
