// The Archive as two activists use it: every change is a signed op; a testimony shared into a
// circle reaches another member's vault with its attachment, later edits follow it, and a
// member cannot rewrite someone else's testimony.
#include "core/archive/archive.h"

#include <gtest/gtest.h>

#include "core/archive/back_door.h"
#include "core/bytes.h"
#include "core/log/op_codec.h"
#include "tests/unit/archive/archive_test_util.h"

namespace estelik::archive {
namespace {

using namespace estelik::archive::testing;  // NOLINT

using TwoActivists = AliaAndBolat;

TEST_F(TwoActivists, EveryLocalChangeIsASignedOpInThePrivateLog) {
  auto vv0 = ArchiveBackDoor::log(*alia_).GetVersionVector(log::Scope::Private());
  ASSERT_TRUE(vv0.ok());
  auto t = alia_->AddTestimony(Fields("First", "words"));
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(alia_->EditTestimony(t->id(), Fields("First", "more words")).ok());
  ASSERT_TRUE(alia_->Withdraw(t->id()).ok());
  auto vv1 = ArchiveBackDoor::log(*alia_).GetVersionVector(log::Scope::Private());
  ASSERT_TRUE(vv1.ok());
  std::string me(reinterpret_cast<const char*>(alia_->identity().public_key().data()), 32);
  EXPECT_EQ((*vv1)[me], (*vv0)[me] + 3);
}

TEST_F(TwoActivists, SharedTestimonyArrivesWithItsAttachmentAndLaterEdits) {
  auto t = alia_->AddTestimony(Fields("In the square", "We heard shots at noon"));
  ASSERT_TRUE(t.ok());
  std::string audio(200000, '\0');
  for (size_t i = 0; i < audio.size(); ++i) audio[i] = static_cast<char>(i * 31 % 253);
  auto writer = alia_->BeginAttachment(t->id(), {"interview.m4a", "", {}});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append(estelik::AsBytes(audio)).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  ASSERT_TRUE(alia_->Share(t->id(), circle_).ok());

  auto report = Deliver(*alia_, *bolat_, circle_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_GT(report->accepted, 0u);
  DeliverChunks(*alia_, *bolat_, circle_);

  auto received = bolat_->GetTestimony(t->id());
  ASSERT_TRUE(received.ok()) << received.status().ToString();
  EXPECT_EQ(received->fields().body(), "We heard shots at noon");
  EXPECT_EQ(received->author(), t->author());
  ASSERT_EQ(received->attachments_size(), 1);
  auto reader = bolat_->OpenAttachment(t->id(), 0);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  std::string back(audio.size() + 10, '\0');
  auto n = (*reader)->Read({reinterpret_cast<uint8_t*>(back.data()), back.size()});
  size_t total = 0;
  while (n.ok() && *n > 0) {
    total += *n;
    n = (*reader)->Read({reinterpret_cast<uint8_t*>(back.data()) + total, back.size() - total});
  }
  back.resize(total);
  EXPECT_EQ(back, audio);

  ASSERT_TRUE(alia_->EditTestimony(t->id(), Fields("In the square", "Shots before noon")).ok());
  ASSERT_TRUE(Deliver(*alia_, *bolat_, circle_).ok());
  auto edited = bolat_->GetTestimony(t->id());
  ASSERT_TRUE(edited.ok());
  EXPECT_EQ(edited->fields().body(), "Shots before noon");
  auto history = bolat_->History(t->id());
  ASSERT_TRUE(history.ok());
  EXPECT_GE(history->versions_size(), 2);

  // Delivering the same ops again changes nothing.
  auto again = Deliver(*alia_, *bolat_, circle_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->accepted, 0u);
}

TEST_F(TwoActivists, PrivateTestimoniesNeverEnterACircle) {
  auto t = alia_->AddTestimony(Fields("Private", "only mine"));
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(Deliver(*alia_, *bolat_, circle_).ok());
  EXPECT_EQ(bolat_->GetTestimony(t->id()).status().code(), Code::kNotFound);
}

TEST_F(TwoActivists, AMemberCannotEditSomeoneElsesTestimonyAndNothingChanges) {
  auto t = alia_->AddTestimony(Fields("Alia's", "her words"));
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(alia_->Share(t->id(), circle_).ok());
  ASSERT_TRUE(Deliver(*alia_, *bolat_, circle_).ok());

  // Bolat signs an edit of Alia's testimony into the circle with his own key.
  pb::OpBody forged;
  forged.mutable_testimony_edit()->set_testimony_id(t->id());
  *forged.mutable_testimony_edit()->mutable_fields() = Fields("Alia's", "words put in her mouth");
  auto env =
      ArchiveBackDoor::log(*bolat_).Append(forged, log::Scope::Circle(circle_), WallClockMs());
  ASSERT_TRUE(env.ok()) << env.status().ToString();

  auto hash_before = alia_->StateHash();
  auto vv_before = alia_->Versions(circle_);
  auto result = alia_->ReceiveOps(circle_, {*env});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kPermissionDenied) << result.status().ToString();
  EXPECT_EQ(*alia_->StateHash(), *hash_before);
  EXPECT_EQ(*alia_->Versions(circle_), *vv_before);
  EXPECT_EQ(alia_->GetTestimony(t->id())->fields().body(), "her words");
}

TEST_F(TwoActivists, WithdrawalReachesTheCircleAndDestroysTheCopy) {
  auto t = alia_->AddTestimony(Fields("To withdraw", "soon gone"));
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(alia_->Share(t->id(), circle_).ok());
  ASSERT_TRUE(Deliver(*alia_, *bolat_, circle_).ok());
  ASSERT_TRUE(bolat_->GetTestimony(t->id()).ok());
  ASSERT_TRUE(alia_->Withdraw(t->id()).ok());
  ASSERT_TRUE(Deliver(*alia_, *bolat_, circle_).ok());
  auto copy = bolat_->GetTestimony(t->id());
  ASSERT_TRUE(copy.ok());
  EXPECT_TRUE(copy->withdrawn());
  EXPECT_EQ(copy->fields().body(), "");
  // Each replica's tombstone hashes the versions it held (Bolat never saw Alia's private one).
  EXPECT_EQ(copy->tombstone_hash().size(), 32u);
  EXPECT_TRUE(bolat_->History(t->id())->versions().empty());
}

TEST_F(TwoActivists, SharedCirclesListOnlyCirclesBothAreIn) {
  auto shared = alia_->SharedCircles(bolat_->identity().public_key());
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(*shared, std::vector<std::string>{circle_});
  auto stranger = log::Identity::Generate();
  EXPECT_TRUE(alia_->SharedCircles(stranger.public_key())->empty());
}

}  // namespace
}  // namespace estelik::archive
