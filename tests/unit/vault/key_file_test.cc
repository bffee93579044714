#include "core/vault/key_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cctype>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/vault/key_file_testing.h"
#include "tests/support/temp_dir.h"

namespace estelik::vault {
namespace {

using estelik::testing::ListFiles;
using estelik::testing::ReadFileBytes;
using estelik::testing::TempDir;

// Offsets from docs/FORMAT.md ("vault.key").
constexpr size_t kHeaderSize = 48;
constexpr size_t kSlotSize = 72;
constexpr size_t kChecksumOffset = 192;
size_t SlotOffset(int slot) { return kHeaderSize + static_cast<size_t>(slot) * kSlotSize; }

std::string Slot(const std::string& file, int slot) {
  return file.substr(SlotOffset(slot), kSlotSize);
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void FlipByte(const std::string& path, size_t offset, uint8_t mask = 0x01) {
  std::string bytes = ReadFileBytes(path);
  ASSERT_LT(offset, bytes.size());
  bytes[offset] = static_cast<char>(bytes[offset] ^ mask);
  WriteBytes(path, bytes);
}

std::vector<uint8_t> KeyBytes(const crypto::SecretBytes& key) {
  return {key.span().begin(), key.span().end()};
}

std::string Hex(const uint8_t* data, size_t size) { return estelik::Hex({data, size}); }
std::string Hex(const std::string& bytes) { return estelik::Hex(bytes); }

// The hex digits of a fixture file; '#' starts a comment, whitespace is ignored.
std::string ReadHexFixture(const std::string& name) {
  std::ifstream in(std::string(ESTELIK_SOURCE_DIR) + "/tests/fixtures/keyfile/" + name);
  EXPECT_TRUE(in.good()) << "missing fixture " << name;
  std::string hex, line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    for (char c : line) {
      if (!std::isspace(static_cast<unsigned char>(c))) hex += c;
    }
  }
  return hex;
}

std::string FromHex(const std::string& hex) {
  std::string out;
  EXPECT_TRUE(ParseHex(hex, &out)) << hex;
  return out;
}

struct timespec ModificationTime(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mtim;
}

ino_t Inode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_ino;
}

class KeyFileTest : public ::testing::Test {
 protected:
  UnlockedKey CreateKeyFile(const std::string& path, std::string_view passphrase) {
    Result<UnlockedKey> created = KeyFile::Create(path, passphrase, MinimalKdfParams());
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return std::move(created).value();
  }

  TempDir dir_;
  std::string path_ = dir_.File("vault.key");
};

TEST_F(KeyFileTest, CreateThenUnlockReturnsTheSameMasterKey) {
  UnlockedKey created = CreateKeyFile(path_, "correct horse");
  ASSERT_EQ(created.master_key.size(), kMasterKeySize);
  EXPECT_EQ(std::filesystem::file_size(path_), KeyFile::FileSize());

  Result<UnlockedKey> unlocked = KeyFile::Unlock(path_, "correct horse");
  ASSERT_TRUE(unlocked.ok()) << unlocked.status().ToString();
  EXPECT_EQ(KeyBytes(unlocked->master_key), KeyBytes(created.master_key));
  EXPECT_EQ(unlocked->slot, created.slot);
}

TEST_F(KeyFileTest, KeyFileOpensFromAFreshCopyOfItsBytes) {
  UnlockedKey created = CreateKeyFile(path_, "correct horse");
  // Everything needed to unlock is in the file: a byte copy elsewhere opens the same key.
  const std::string copy = dir_.File("moved.key");
  WriteBytes(copy, ReadFileBytes(path_));
  Result<UnlockedKey> unlocked = KeyFile::Unlock(copy, "correct horse");
  ASSERT_TRUE(unlocked.ok()) << unlocked.status().ToString();
  EXPECT_EQ(KeyBytes(unlocked->master_key), KeyBytes(created.master_key));
}

TEST_F(KeyFileTest, EveryKeyFileGetsADifferentMasterKeyAndSalt) {
  UnlockedKey a = CreateKeyFile(dir_.File("a.key"), "same passphrase");
  UnlockedKey b = CreateKeyFile(dir_.File("b.key"), "same passphrase");
  EXPECT_NE(KeyBytes(a.master_key), KeyBytes(b.master_key));
  EXPECT_NE(ReadFileBytes(dir_.File("a.key")).substr(32, 16),
            ReadFileBytes(dir_.File("b.key")).substr(32, 16));
}

TEST_F(KeyFileTest, TheUsedSlotIsChosenAtRandom) {
  bool seen[2] = {false, false};
  for (int i = 0; i < 40 && !(seen[0] && seen[1]); ++i) {
    seen[CreateKeyFile(dir_.File(std::to_string(i) + ".key"), "pass").slot] = true;
  }
  EXPECT_TRUE(seen[0] && seen[1]);  // fails by chance with probability 2^-39
}

TEST_F(KeyFileTest, CreateRefusesToOverwriteAnExistingFile) {
  WriteBytes(path_, "precious");
  Result<UnlockedKey> created = KeyFile::Create(path_, "pass", MinimalKdfParams());
  EXPECT_EQ(created.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(ReadFileBytes(path_), "precious");
}

TEST_F(KeyFileTest, CreateRejectsAnEmptyPassphraseAndAbsurdCosts) {
  EXPECT_EQ(KeyFile::Create(path_, "", MinimalKdfParams()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(KeyFile::Create(path_, "pass", KdfParams{}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(KeyFile::Create(path_, "pass", KdfParams{1, uint64_t{1} << 40}).status().code(),
            Code::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(KeyFileTest, UnlockOfAMissingFileIsNotFound) {
  Result<UnlockedKey> unlocked = KeyFile::Unlock(path_, "pass");
  EXPECT_EQ(unlocked.status().code(), Code::kNotFound);
  EXPECT_NE(unlocked.status().message().find(path_), std::string::npos);
}

TEST_F(KeyFileTest, WrongPassphraseIsRejectedWithoutTouchingTheVault) {
  CreateKeyFile(path_, "correct horse");
  const std::string before = ReadFileBytes(path_);
  const struct timespec mtime_before = ModificationTime(path_);

  Result<UnlockedKey> unlocked = KeyFile::Unlock(path_, "correct horsf");
  EXPECT_EQ(unlocked.status().code(), Code::kWrongPassphrase);
  EXPECT_EQ(unlocked.status().message(), "wrong passphrase");
  EXPECT_EQ(KeyFile::ChangePassphrase(path_, "wrong", "new").code(), Code::kWrongPassphrase);

  EXPECT_EQ(ReadFileBytes(path_), before);
  const struct timespec mtime_after = ModificationTime(path_);
  EXPECT_EQ(mtime_after.tv_sec, mtime_before.tv_sec);
  EXPECT_EQ(mtime_after.tv_nsec, mtime_before.tv_nsec);
  EXPECT_EQ(ListFiles(dir_.path()).size(), 1u);  // no temporary file left behind
}

TEST_F(KeyFileTest, ASecondPassphraseOpensTheOtherSlotWithItsOwnKey) {
  UnlockedKey real = CreateKeyFile(path_, "real passphrase");
  const int other = 1 - real.slot;
  crypto::SecretBytes decoy = crypto::SecretBytes::Random(kMasterKeySize);
  ASSERT_TRUE(KeyFile::WriteSlot(path_, other, decoy, "duress passphrase").ok());

  Result<UnlockedKey> duress = KeyFile::Unlock(path_, "duress passphrase");
  ASSERT_TRUE(duress.ok()) << duress.status().ToString();
  EXPECT_EQ(duress->slot, other);
  EXPECT_EQ(KeyBytes(duress->master_key), KeyBytes(decoy));
  Result<UnlockedKey> again = KeyFile::Unlock(path_, "real passphrase");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->slot, real.slot);
  EXPECT_EQ(KeyBytes(again->master_key), KeyBytes(real.master_key));
}

TEST_F(KeyFileTest, WriteSlotRefusesAPassphraseThatAlreadyOpensTheOtherSlot) {
  UnlockedKey real = CreateKeyFile(path_, "real passphrase");
  const std::string before = ReadFileBytes(path_);
  crypto::SecretBytes decoy = crypto::SecretBytes::Random(kMasterKeySize);
  EXPECT_EQ(KeyFile::WriteSlot(path_, 1 - real.slot, decoy, "real passphrase").code(),
            Code::kInvalidArgument);
  EXPECT_EQ(KeyFile::WriteSlot(path_, 2, decoy, "other").code(), Code::kInvalidArgument);
  EXPECT_EQ(ReadFileBytes(path_), before);
}

TEST_F(KeyFileTest, AnUnusedSlotLooksLikeAUsedOne) {
  // Two key files: A has one passphrase, B also a duress passphrase in its other slot.
  const std::string a_path = dir_.File("a.key"), b_path = dir_.File("b.key");
  UnlockedKey a = CreateKeyFile(a_path, "real");
  UnlockedKey b = CreateKeyFile(b_path, "real");
  ASSERT_TRUE(
      KeyFile::WriteSlot(b_path, 1 - b.slot, crypto::SecretBytes::Random(32), "duress").ok());
  const std::string a_bytes = ReadFileBytes(a_path), b_bytes = ReadFileBytes(b_path);

  ASSERT_EQ(a_bytes.size(), b_bytes.size());
  EXPECT_EQ(a_bytes.substr(0, 32), b_bytes.substr(0, 32));  // magic, version, ids, cost
  const std::string zeros(kSlotSize, '\0');
  for (int slot : {0, 1}) {
    EXPECT_NE(Slot(a_bytes, slot), zeros);
    EXPECT_NE(Slot(b_bytes, slot), zeros);
    EXPECT_NE(Slot(a_bytes, slot), Slot(b_bytes, slot));
  }
  // Which slot is used is random in both files, so position tells nothing either.
  EXPECT_EQ(KeyFile::Unlock(a_path, "duress").status().code(), Code::kWrongPassphrase);
  EXPECT_TRUE(KeyFile::Unlock(b_path, "duress").ok());
  (void)a;
}

TEST_F(KeyFileTest, ChangePassphraseRewritesOnlyItsSlot) {
  UnlockedKey created = CreateKeyFile(path_, "old passphrase");
  ASSERT_TRUE(
      KeyFile::WriteSlot(path_, 1 - created.slot, crypto::SecretBytes::Random(32), "duress").ok());
  const std::string before = ReadFileBytes(path_);

  ASSERT_TRUE(KeyFile::ChangePassphrase(path_, "old passphrase", "new passphrase").ok());
  const std::string after = ReadFileBytes(path_);

  EXPECT_EQ(KeyFile::Unlock(path_, "old passphrase").status().code(), Code::kWrongPassphrase);
  Result<UnlockedKey> unlocked = KeyFile::Unlock(path_, "new passphrase");
  ASSERT_TRUE(unlocked.ok()) << unlocked.status().ToString();
  EXPECT_EQ(KeyBytes(unlocked->master_key), KeyBytes(created.master_key));
  EXPECT_EQ(unlocked->slot, created.slot);
  EXPECT_TRUE(KeyFile::Unlock(path_, "duress").ok());

  ASSERT_EQ(after.size(), before.size());
  EXPECT_EQ(after.substr(0, kHeaderSize), before.substr(0, kHeaderSize));  // salt and cost kept
  EXPECT_EQ(Slot(after, 1 - created.slot), Slot(before, 1 - created.slot));
  EXPECT_NE(Slot(after, created.slot), Slot(before, created.slot));
  EXPECT_EQ(ListFiles(dir_.path()).size(), 1u);  // vault.key.tmp was renamed, not left behind
}

TEST_F(KeyFileTest, ChangePassphraseRefusesThePassphraseOfTheOtherSlot) {
  UnlockedKey created = CreateKeyFile(path_, "real");
  ASSERT_TRUE(
      KeyFile::WriteSlot(path_, 1 - created.slot, crypto::SecretBytes::Random(32), "duress").ok());
  const std::string before = ReadFileBytes(path_);
  EXPECT_EQ(KeyFile::ChangePassphrase(path_, "real", "duress").code(), Code::kInvalidArgument);
  EXPECT_EQ(KeyFile::ChangePassphrase(path_, "real", "").code(), Code::kInvalidArgument);
  EXPECT_EQ(ReadFileBytes(path_), before);
}

TEST_F(KeyFileTest, DestroyAllShredsTheKeyFileContentInPlace) {
  UnlockedKey created = CreateKeyFile(path_, "real");
  ASSERT_TRUE(
      KeyFile::WriteSlot(path_, 1 - created.slot, crypto::SecretBytes::Random(32), "duress").ok());
  const std::string copy = dir_.File("copy-before-wipe.key");
  const std::string before = ReadFileBytes(path_);
  WriteBytes(copy, before);
  const ino_t inode_before = Inode(path_);

  ASSERT_TRUE(KeyFile::DestroyAll(path_).ok());

  const std::string after = ReadFileBytes(path_);
  ASSERT_EQ(after.size(), before.size());
  EXPECT_EQ(after.substr(0, kHeaderSize), before.substr(0, kHeaderSize));
  EXPECT_NE(Slot(after, 0), Slot(before, 0));
  EXPECT_NE(Slot(after, 1), Slot(before, 1));
  EXPECT_EQ(Inode(path_), inode_before);  // overwritten in place, not replaced
  EXPECT_EQ(KeyFile::Unlock(path_, "real").status().code(), Code::kWrongPassphrase);
  EXPECT_EQ(KeyFile::Unlock(path_, "duress").status().code(), Code::kWrongPassphrase);
  // The copy taken before still opens: what was destroyed is the file's content.
  EXPECT_TRUE(KeyFile::Unlock(copy, "real").ok());
  EXPECT_TRUE(KeyFile::Unlock(copy, "duress").ok());
}

TEST_F(KeyFileTest, DestroyAllShredsEvenADamagedFile) {
  WriteBytes(path_, std::string(100, 'A'));
  ASSERT_TRUE(KeyFile::DestroyAll(path_).ok());
  const std::string after = ReadFileBytes(path_);
  EXPECT_EQ(after.size(), 100u);
  EXPECT_NE(after, std::string(100, 'A'));
  EXPECT_EQ(KeyFile::DestroyAll(dir_.File("missing.key")).code(), Code::kNotFound);
}

TEST_F(KeyFileTest, DestroySlotRemovesOnePassphraseAndKeepsTheOther) {
  UnlockedKey created = CreateKeyFile(path_, "real");
  ASSERT_TRUE(
      KeyFile::WriteSlot(path_, 1 - created.slot, crypto::SecretBytes::Random(32), "duress").ok());
  const std::string before = ReadFileBytes(path_);

  ASSERT_TRUE(KeyFile::DestroySlot(path_, created.slot).ok());

  const std::string after = ReadFileBytes(path_);
  EXPECT_EQ(KeyFile::Unlock(path_, "real").status().code(), Code::kWrongPassphrase);
  EXPECT_TRUE(KeyFile::Unlock(path_, "duress").ok());
  EXPECT_EQ(Slot(after, 1 - created.slot), Slot(before, 1 - created.slot));
  EXPECT_NE(Slot(after, created.slot), Slot(before, created.slot));
}

TEST_F(KeyFileTest, TruncatedOrOverlongFileIsReportedCorrupt) {
  CreateKeyFile(path_, "pass");
  const std::string good = ReadFileBytes(path_);
  for (size_t size : {size_t{0}, size_t{7}, size_t{48}, good.size() - 1}) {
    WriteBytes(path_, good.substr(0, size));
    Result<UnlockedKey> unlocked = KeyFile::Unlock(path_, "pass");
    EXPECT_EQ(unlocked.status().code(), Code::kCorrupt) << size;
    EXPECT_NE(unlocked.status().message().find("damaged"), std::string::npos)
        << unlocked.status().message();
  }
  WriteBytes(path_, good + "x");
  EXPECT_EQ(KeyFile::Unlock(path_, "pass").status().code(), Code::kCorrupt);
}

TEST_F(KeyFileTest, AnyFlippedHeaderByteIsReportedAsDamageNotAsAWrongPassphrase) {
  CreateKeyFile(path_, "pass");
  const std::string good = ReadFileBytes(path_);
  for (size_t offset = 0; offset < kHeaderSize; ++offset) {
    WriteBytes(path_, good);
    FlipByte(path_, offset);
    Result<UnlockedKey> unlocked = KeyFile::Unlock(path_, "pass");
    ASSERT_FALSE(unlocked.ok()) << offset;
    EXPECT_TRUE(unlocked.status().code() == Code::kCorrupt ||
                unlocked.status().code() == Code::kUnsupported)
        << offset << ": " << unlocked.status().ToString();
  }
}

TEST_F(KeyFileTest, ANewerFormatVersionIsUnsupportedNotCorrupt) {
  CreateKeyFile(path_, "pass");
  FlipByte(path_, 7, 0x03);  // version 1 -> 2
  Result<UnlockedKey> unlocked = KeyFile::Unlock(path_, "pass");
  EXPECT_EQ(unlocked.status().code(), Code::kUnsupported) << unlocked.status().ToString();
}

TEST_F(KeyFileTest, AHugeStoredCostIsRejectedBeforeRunningTheKdf) {
  CreateKeyFile(path_, "pass");
  FlipByte(path_, 24 + 7, 0x80);  // memlimit += 2^63 bytes
  Result<UnlockedKey> unlocked = KeyFile::Unlock(path_, "pass");
  EXPECT_EQ(unlocked.status().code(), Code::kCorrupt);
  EXPECT_NE(unlocked.status().message().find("memlimit"), std::string::npos);
}

TEST_F(KeyFileTest, AFlippedByteInTheUsedSlotIsReportedCorrupt) {
  UnlockedKey created = CreateKeyFile(path_, "pass");
  FlipByte(path_, SlotOffset(created.slot) + 30);
  Result<UnlockedKey> unlocked = KeyFile::Unlock(path_, "pass");
  EXPECT_EQ(unlocked.status().code(), Code::kCorrupt) << unlocked.status().ToString();
  EXPECT_NE(unlocked.status().message().find("damaged or tampered"), std::string::npos);
}

TEST_F(KeyFileTest, DamageOutsideTheUsedSlotDoesNotLockTheOwnerOut) {
  UnlockedKey created = CreateKeyFile(path_, "pass");
  FlipByte(path_, SlotOffset(1 - created.slot) + 5);
  FlipByte(path_, kChecksumOffset + 3);
  Result<UnlockedKey> unlocked = KeyFile::Unlock(path_, "pass");
  ASSERT_TRUE(unlocked.ok()) << unlocked.status().ToString();
  EXPECT_EQ(KeyBytes(unlocked->master_key), KeyBytes(created.master_key));
}

TEST_F(KeyFileTest, ASlotMovedToTheOtherPositionDoesNotOpen) {
  UnlockedKey created = CreateKeyFile(path_, "pass");
  std::string bytes = ReadFileBytes(path_);
  std::string used = Slot(bytes, created.slot);
  bytes.replace(SlotOffset(1 - created.slot), kSlotSize, used);  // both slots now equal
  bytes.replace(SlotOffset(created.slot), kSlotSize, std::string(kSlotSize, '\x55'));
  WriteBytes(path_, bytes);
  EXPECT_FALSE(KeyFile::Unlock(path_, "pass").ok());
}

// Fixed inputs -> exact bytes. If this fails, the vault.key format changed: bump the version,
// keep reading version 1, update docs/FORMAT.md and only then the fixture.
class ScriptedRandom {
 public:
  explicit ScriptedRandom(std::vector<std::vector<uint8_t>> draws)
      : draws_(draws.begin(), draws.end()) {}
  void operator()(std::span<uint8_t> out) {
    ASSERT_FALSE(draws_.empty()) << "unexpected extra draw of " << out.size() << " bytes";
    ASSERT_EQ(draws_.front().size(), out.size());
    std::copy(draws_.front().begin(), draws_.front().end(), out.begin());
    draws_.pop_front();
  }
  bool exhausted() const { return draws_.empty(); }

 private:
  std::deque<std::vector<uint8_t>> draws_;
};

std::vector<uint8_t> Counting(uint8_t first, size_t size) {
  std::vector<uint8_t> v(size);
  for (size_t i = 0; i < size; ++i) v[i] = static_cast<uint8_t>(first + i);
  return v;
}

TEST_F(KeyFileTest, FixedInputsGiveTheCheckedInKeyFileBytes) {
  auto random = std::make_shared<ScriptedRandom>(std::vector<std::vector<uint8_t>>{
      Counting(0x00, 16),  // salt
      Counting(0x20, 32),  // master key
      {0x01},              // slot choice: slot 1
      Counting(0x40, 24),  // nonce of slot 1
      Counting(0x80, 72),  // filler of slot 0
  });
  Result<UnlockedKey> created =
      internal::CreateWithRandomSource(path_, "correct horse battery staple", KdfParams{1, 8192},
                                       [random](std::span<uint8_t> out) { (*random)(out); });
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(random->exhausted());
  EXPECT_EQ(created->slot, 1);
  EXPECT_EQ(KeyBytes(created->master_key), Counting(0x20, 32));

  EXPECT_EQ(Hex(ReadFileBytes(path_)), ReadHexFixture("v1_minimal.hex"));
}

TEST_F(KeyFileTest, TheCheckedInVersion1KeyFileStillOpens) {
  WriteBytes(path_, FromHex(ReadHexFixture("v1_minimal.hex")));
  Result<UnlockedKey> unlocked = KeyFile::Unlock(path_, "correct horse battery staple");
  ASSERT_TRUE(unlocked.ok()) << unlocked.status().ToString();
  EXPECT_EQ(unlocked->slot, 1);
  EXPECT_EQ(KeyBytes(unlocked->master_key), Counting(0x20, 32));
}

TEST(DeriveSubkeyTest, FixedMasterKeyGivesTheKnownSubkeys) {
  crypto::SecretBytes master = crypto::SecretBytes::CopyOf(Counting(0x00, 32));
  crypto::SecretBytes page = DeriveSubkey(master, 1, "estlpage");
  ASSERT_EQ(page.size(), 32u);
  // Re-computed independently as BLAKE2b-256(key=master, salt=id LE, person=context) by
  // tests/fixtures/keyfile/verify_v1.py.
  EXPECT_EQ(Hex(page.data(), page.size()),
            "d8f50d0118d726e3b8c09acae32b8de01fb6ec459efee44893406ff76fd4a5bb");
  crypto::SecretBytes page2 = DeriveSubkey(master, 2, "estlpage");
  EXPECT_NE(KeyBytes(page2), KeyBytes(page));
  crypto::SecretBytes other = DeriveSubkey(master, 1, "estlattc");
  EXPECT_NE(KeyBytes(other), KeyBytes(page));
}

}  // namespace
}  // namespace estelik::vault
