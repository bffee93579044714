// Re-key (Archive::Rekey, vault::Vault::Rekey): the vault under a new master key keeps every
// record, attachment, search row, history, identity and sync state; an old vault.key opens
// nothing of it; the duress passphrase keeps working.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "core/archive/back_door.h"
#include "core/bytes.h"
#include "core/vault/vault.h"
#include "tests/unit/archive/archive_test_util.h"

namespace estelik::archive {
namespace {

using testing::AliaAndBolat;
using testing::Deliver;
using testing::DeliverChunks;
using testing::Fields;

namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string ReadAll(Archive& archive, const std::string& id) {
  auto reader = archive.OpenAttachment(id, 0);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) return "";
  EXPECT_TRUE((*reader)->Verify().ok());
  std::string back(1 << 20, '\0');
  size_t total = 0;
  auto n = (*reader)->Read({reinterpret_cast<uint8_t*>(back.data()), back.size()});
  while (n.ok() && *n > 0) {
    total += *n;
    n = (*reader)->Read({reinterpret_cast<uint8_t*>(back.data()) + total, back.size() - total});
  }
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  back.resize(total);
  return back;
}

size_t Hits(Archive& archive, const std::string& text) {
  pb::SearchQuery query;
  query.set_text(text);
  auto page = archive.Search(query);
  EXPECT_TRUE(page.ok()) << page.status().ToString();
  return page.ok() ? static_cast<size_t>(page->hits_size()) : 0;
}

class RekeyTest : public AliaAndBolat {
 protected:
  std::string Dir() { return tmp_.File("alia"); }
  std::string KeyFile() { return (fs::path(Dir()) / vault::kKeyFileName).string(); }

  // Alia's vault with a private testimony (edited, with an attachment) and a shared one Bolat
  // already received.
  void Record() {
    auto t = alia_->AddTestimony(Fields("Checkpoint", "They took the phones at the checkpoint"));
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    private_id_ = t->id();
    ASSERT_TRUE(
        alia_->EditTestimony(private_id_, Fields("Checkpoint", "phones and passports")).ok());
    audio_.resize(150000);
    for (size_t i = 0; i < audio_.size(); ++i) audio_[i] = static_cast<char>(i * 37 % 251);
    auto writer = alia_->BeginAttachment(private_id_, {"tape.m4a", "", {}});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Append(AsBytes(audio_)).ok());
    ASSERT_TRUE((*writer)->Finish().ok());

    pb::TestimonyFields shared = Fields("Square", "Tanks in the square at dawn");
    shared.set_consent_scope(pb::CONSENT_SCOPE_CIRCLE);
    shared.set_circle_id(circle_);
    auto s = alia_->AddTestimony(shared);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    shared_id_ = s->id();
    ASSERT_TRUE(Deliver(*alia_, *bolat_, circle_).ok());
  }

  std::string private_id_;
  std::string shared_id_;
  std::string audio_;
};

TEST_F(RekeyTest, EverythingSurvivesUnderTheNewKeyAndSyncGoesOn) {
  Record();
  const auto identity = alia_->identity().public_key();
  auto state_before = alia_->StateHash();
  auto versions_before = alia_->Versions(circle_);
  ASSERT_TRUE(state_before.ok() && versions_before.ok());
  auto log_key_before = ArchiveBackDoor::vault(*alia_).DeriveKey(kLogKeyId, kLogKeyContext);
  auto page_key_before =
      ArchiveBackDoor::vault(*alia_).DeriveKey(vault::kPageKeyId, vault::kPageKeyContext);
  ASSERT_TRUE(log_key_before.ok() && page_key_before.ok());

  ASSERT_TRUE(Archive::Rekey(alia_, "alia's passphrase", "alia's new passphrase").ok());
  ASSERT_NE(alia_, nullptr);
  // The live archive works at once; then again after a reopen with the new passphrase only.
  EXPECT_EQ(ReadAll(*alia_, private_id_), audio_);
  alia_.reset();
  EXPECT_EQ(Archive::Open(Dir(), "alia's passphrase").status().code(), Code::kWrongPassphrase);
  auto reopened = Archive::Open(Dir(), "alia's new passphrase");
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  alia_ = std::move(reopened).value();

  EXPECT_EQ(alia_->identity().public_key(), identity);
  auto state_after = alia_->StateHash();
  ASSERT_TRUE(state_after.ok());
  EXPECT_EQ(*state_after, *state_before);
  auto versions_after = alia_->Versions(circle_);
  ASSERT_TRUE(versions_after.ok());
  EXPECT_EQ(*versions_after, *versions_before);
  // The private log key is carried (private ops still open); the page key is new.
  auto log_key_after = ArchiveBackDoor::vault(*alia_).DeriveKey(kLogKeyId, kLogKeyContext);
  ASSERT_TRUE(log_key_after.ok());
  EXPECT_TRUE(crypto::ConstantTimeEquals(log_key_after->span(), log_key_before->span()));
  auto rebuilt = alia_->Rebuild();  // replays (opens) every private op
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  EXPECT_EQ(rebuilt->before, rebuilt->after);

  auto t = alia_->GetTestimony(private_id_);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->fields().body(), "phones and passports");
  auto history = alia_->History(private_id_);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->versions_size(), 2);
  EXPECT_EQ(ReadAll(*alia_, private_id_), audio_);
  EXPECT_EQ(Hits(*alia_, "passports"), 1u);
  EXPECT_EQ(Hits(*alia_, "tanks"), 1u);

  // Sync in both directions after the re-key.
  ASSERT_TRUE(alia_->EditTestimony(shared_id_, Fields("Square", "Tanks and trucks")).ok());
  auto to_bolat = Deliver(*alia_, *bolat_, circle_);
  ASSERT_TRUE(to_bolat.ok()) << to_bolat.status().ToString();
  EXPECT_GT(to_bolat->accepted, 0u);
  pb::TestimonyFields his = Fields("Depot", "Trucks at the depot");
  his.set_consent_scope(pb::CONSENT_SCOPE_CIRCLE);
  his.set_circle_id(circle_);
  auto b = bolat_->AddTestimony(his);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto writer = bolat_->BeginAttachment(b->id(), {"photo.jpg", "", {}});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append(AsBytes(std::string(5000, 'p'))).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  auto to_alia = Deliver(*bolat_, *alia_, circle_);
  ASSERT_TRUE(to_alia.ok()) << to_alia.status().ToString();
  EXPECT_GT(to_alia->accepted, 0u);
  DeliverChunks(*bolat_, *alia_, circle_);
  auto edited = bolat_->GetTestimony(shared_id_);
  ASSERT_TRUE(edited.ok());
  EXPECT_EQ(edited->fields().body(), "Tanks and trucks");
  auto received = alia_->GetTestimony(b->id());
  ASSERT_TRUE(received.ok()) << received.status().ToString();
  EXPECT_EQ(received->fields().body(), "Trucks at the depot");
  EXPECT_EQ(ReadAll(*alia_, b->id()), std::string(5000, 'p'));
  EXPECT_EQ(Hits(*alia_, "depot"), 1u);
}

TEST_F(RekeyTest, AnOldKeyFileWithTheOldPassphraseOpensNothingWrittenAfter) {
  Record();
  const std::string old_key = ReadFile(KeyFile());
  // Same passphrase: the case where only the old key file (and the passphrase) was taken.
  ASSERT_TRUE(Archive::Rekey(alia_, "alia's passphrase", "").ok());
  ASSERT_NE(alia_, nullptr);
  auto later = alia_->AddTestimony(Fields("After", "written after the re-key"));
  ASSERT_TRUE(later.ok());
  alia_.reset();
  EXPECT_NE(ReadFile(KeyFile()), old_key);
  EXPECT_FALSE(fs::exists(Dir() + "/" + vault::kRekeyKeyFileName));
  EXPECT_FALSE(fs::exists(Dir() + "/" + vault::kRekeyStoreFileName));

  WriteFile(KeyFile(), old_key);
  auto opened = Archive::Open(Dir(), "alia's passphrase");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kCorrupt) << opened.status().ToString();
  auto page_key = vault::Vault::UnlockPageKey(Dir(), "alia's passphrase");
  ASSERT_TRUE(page_key.ok());  // the old file still opens: its key fits nothing in store.db
}

TEST_F(RekeyTest, TheDuressPassphraseKeepsWorkingAndTheOtherSlotIsUntouched) {
  Record();
  ASSERT_TRUE(alia_->SetDuressPassphrase("alia's duress").ok());
  const std::string before = ReadFile(KeyFile());
  ASSERT_TRUE(Archive::Rekey(alia_, "alia's passphrase", "alia's second passphrase").ok());
  alia_.reset();
  const std::string after = ReadFile(KeyFile());
  ASSERT_EQ(after.size(), before.size());
  size_t same = 0;
  for (size_t i = 0; i < after.size(); ++i) same += after[i] == before[i];
  // The header (salt, cost) and one 72-byte slot are kept; the other slot and checksum change.
  EXPECT_GE(same, after.size() - 72 - 32);
  EXPECT_LT(same, after.size());

  // Re-keying with the duress passphrase as the new one is refused, like passwd.
  auto opened = Archive::Open(Dir(), "alia's second passphrase");
  ASSERT_TRUE(opened.ok());
  alia_ = std::move(opened).value();
  EXPECT_EQ(Archive::Rekey(alia_, "alia's second passphrase", "alia's duress").code(),
            Code::kInvalidArgument);
  ASSERT_NE(alia_, nullptr);
  EXPECT_TRUE(alia_->GetTestimony(private_id_).ok());
  // A wrong current passphrase changes nothing.
  EXPECT_EQ(Archive::Rekey(alia_, "not it", "").code(), Code::kWrongPassphrase);
  ASSERT_NE(alia_, nullptr);
  alia_.reset();
  EXPECT_EQ(ReadFile(KeyFile()), after);

  auto decoy = Archive::Open(Dir(), "alia's duress");
  ASSERT_TRUE(decoy.ok()) << decoy.status().ToString();
  EXPECT_TRUE(ArchiveBackDoor::vault(**decoy).opened_under_duress());
  EXPECT_FALSE((*decoy)->GetTestimony(private_id_).ok());
  decoy->reset();
  EXPECT_EQ(Archive::Open(Dir(), "alia's second passphrase").status().code(),
            Code::kWrongPassphrase);
}

TEST_F(RekeyTest, ASecondRekeyKeepsTheCarriedKey) {
  Record();
  ASSERT_TRUE(Archive::Rekey(alia_, "alia's passphrase", "").ok());
  ASSERT_TRUE(Archive::Rekey(alia_, "alia's passphrase", "third").ok());
  alia_.reset();
  auto opened = Archive::Open(Dir(), "third");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto rebuilt = (*opened)->Rebuild();
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  EXPECT_EQ(rebuilt->before, rebuilt->after);
  EXPECT_EQ(ReadAll(**opened, private_id_), audio_);
}

}  // namespace
}  // namespace estelik::archive
