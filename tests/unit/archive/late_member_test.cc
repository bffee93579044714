// A member who cannot read how a testimony came into a circle is not stuck by later ops about
// it. Circle keys are per epoch: a member added after a removal holds only the new epoch's key,
// and one removed and re-added holds the text of the epoch it last read. Ops about a testimony
// such a member does not hold are kept in its log (they are authentic) and skipped; edits the
// author makes across an epoch change carry the whole text, so a re-added member catches up
// (docs/FORMAT.md "Testimony edits and text deltas", "Merge").
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/archive/archive.h"
#include "core/archive/back_door.h"
#include "core/log/op_codec.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/archive/archive_test_util.h"

namespace estelik::archive {
namespace {

using estelik::testing::TempDir;
using namespace estelik::archive::testing;  // NOLINT

// Alia administers a circle; Bolat and Chingiz are in it from the start (epoch 0); Dana and
// Erlan are contacts Alia may add later.
class LateMember : public AliasCircle {
 protected:
  void SetUp() override { SetUpCircle({"alia", "bolat", "chingiz", "dana", "erlan"}); }

  Archive& dana() { return *members_[3]; }
  Archive& erlan() { return *members_[4]; }

  // A ~3 KB testimony of Alia's, recorded privately, then shared into the circle.
  std::string SharedTestimony(const std::string& title) {
    auto t = alia().AddTestimony(Fields(title, Prose(3000, 7)));
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_TRUE(alia().Share(t->id(), circle_).ok());
    return t->id();
  }

  void Sync(Archive& to) {
    auto report = Deliver(alia(), to, circle_);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
  }

  // Alia's newest circle op, opened.
  pb::OpBody NewestCircleBody() {
    auto ops = alia().OpsAfter(circle_, {}, 100000);
    EXPECT_TRUE(ops.ok() && !ops->empty());
    auto body = ArchiveBackDoor::log(alia()).OpenBody(ops->back());
    EXPECT_TRUE(body.ok()) << body.status().ToString();
    return body.ok() ? *body : pb::OpBody();
  }

  std::string Body(Archive& a, const std::string& id) {
    auto t = a.GetTestimony(id);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? t->fields().body() : "";
  }
};

TEST_F(LateMember, AnEditOfATestimonySharedBeforeTheyJoinedDoesNotStopTheirSync) {
  const std::string t = SharedTestimony("Before the removal");
  Sync(bolat());
  ASSERT_TRUE(alia().RemoveCircleMember(circle_, chingiz().identity().public_key()).ok());
  ASSERT_TRUE(alia().AddCircleMember(circle_, dana().identity().public_key()).ok());
  const std::string edited = Body(alia(), t) + " The shooting began at noon.";
  ASSERT_TRUE(alia().EditTestimony(t, Fields("Before the removal", edited)).ok());

  // The share is sealed with the epoch-0 key Dana never got; its edit is in her epoch.
  auto first = Deliver(alia(), dana(), circle_);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(dana().GetTestimony(t).status().code(), Code::kNotFound);

  // What Alia records afterwards reaches her.
  const std::string t2 =
      CircleTestimony(alia(), "After Dana joined", "The square was closed at six.");
  auto second = Deliver(alia(), dana(), circle_);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->accepted, 1u);
  EXPECT_EQ(Body(dana(), t2), "The square was closed at six.");
  EXPECT_EQ(dana().GetTestimony(t).status().code(), Code::kNotFound);

  // Nothing is left over: syncing again is a no-op.
  auto again = Deliver(alia(), dana(), circle_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->accepted, 0u);
  auto vv_alia = alia().Versions(circle_);
  auto vv_dana = dana().Versions(circle_);
  ASSERT_TRUE(vv_alia.ok() && vv_dana.ok());
  EXPECT_EQ(*vv_dana, *vv_alia);  // the skipped edit is in her log, to forward

  // Bolat, there from the start, has both, with the edit.
  Sync(bolat());
  EXPECT_EQ(Body(bolat(), t), edited);
  EXPECT_EQ(Body(bolat(), t2), "The square was closed at six.");
  ExpectRebuildKeepsState(dana());
  ExpectRebuildKeepsState(bolat());
}

TEST_F(LateMember, EveryKindOfOpAboutAnUnreadTestimonyIsSkippedAlikeInAnyBatching) {
  const std::string t = SharedTestimony("Before the removal");
  ASSERT_TRUE(alia().RemoveCircleMember(circle_, chingiz().identity().public_key()).ok());
  ASSERT_TRUE(alia().AddCircleMember(circle_, dana().identity().public_key()).ok());
  ASSERT_TRUE(alia().AddCircleMember(circle_, erlan().identity().public_key()).ok());
  // Erlan syncs after every step, Dana once at the end: both hold the same.
  Sync(erlan());
  const std::string edited = Body(alia(), t) + " Later that day.";
  ASSERT_TRUE(alia().EditTestimony(t, Fields("Before the removal", edited)).ok());
  Sync(erlan());
  ASSERT_TRUE(alia().AddTag(t, "shooting").ok());
  Sync(erlan());
  ASSERT_TRUE(alia().Annotate(t, "Confirmed by two witnesses.").ok());
  Sync(erlan());
  {
    auto writer = alia().BeginAttachment(t, NewAttachment{"photo.jpg", "", {}});
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    const std::string bytes = Prose(5000, 11);
    ASSERT_TRUE(
        (*writer)->Append({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}).ok());
    ASSERT_TRUE((*writer)->Finish().ok());
  }
  Sync(erlan());
  const std::string t2 = CircleTestimony(alia(), "After they joined", "The lights went out.");
  Sync(erlan());
  ASSERT_TRUE(alia().Withdraw(t).ok());
  Sync(erlan());
  Sync(dana());

  for (Archive* late : {&dana(), &erlan()}) {
    EXPECT_EQ(late->GetTestimony(t).status().code(), Code::kNotFound);
    EXPECT_EQ(Body(*late, t2), "The lights went out.");
    auto again = Deliver(alia(), *late, circle_);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(again->accepted, 0u);
    ExpectRebuildKeepsState(*late);
  }
  auto dana_hash = dana().StateHash();
  auto erlan_hash = erlan().StateHash();
  ASSERT_TRUE(dana_hash.ok() && erlan_hash.ok());
  EXPECT_EQ(*dana_hash, *erlan_hash);
}

TEST_F(LateMember, AnOpAboutAnUnknownTestimonyFromAnAuthorWhoseOpsWeAllReadIsStillRefused) {
  // Bolat posts only in epoch 1, which Dana reads entirely: an edit of his naming a testimony
  // nobody holds is not explained by an unreadable op, and Dana refuses it as before.
  ASSERT_TRUE(alia().RemoveCircleMember(circle_, chingiz().identity().public_key()).ok());
  ASSERT_TRUE(alia().AddCircleMember(circle_, dana().identity().public_key()).ok());
  Sync(bolat());
  pb::OpBody forged;
  forged.mutable_testimony_edit()->set_testimony_id(std::string(16, '\x42'));
  *forged.mutable_testimony_edit()->mutable_fields() = Fields("Invented", "Never shared.");
  ASSERT_TRUE(ArchiveBackDoor::log(bolat())
                  .Append(forged, log::Scope::Circle(circle_), WallClockMs())
                  .ok());
  Sync(dana());

  auto hash_before = dana().StateHash();
  auto vv_before = dana().Versions(circle_);
  auto result = Deliver(bolat(), dana(), circle_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kNotFound) << result.status().ToString();
  EXPECT_EQ(*dana().StateHash(), *hash_before);
  EXPECT_EQ(*dana().Versions(circle_), *vv_before);
}

TEST_F(LateMember, AReaddedMemberGetsTheWholeCurrentTextWithTheFirstEditAcrossEpochs) {
  const std::string t = SharedTestimony("Across epochs");
  Sync(bolat());
  const std::string v1 = Body(alia(), t);

  // Bolat is removed (epoch 1); two edits he cannot read, the second a delta (its base is
  // the first, of the same epoch).
  ASSERT_TRUE(alia().RemoveCircleMember(circle_, bolat().identity().public_key()).ok());
  ASSERT_TRUE(alia().EditTestimony(t, Fields("Across epochs", v1 + " Written while")).ok());
  const std::string v2 = v1 + " Written while Bolat was out of the circle.";
  ASSERT_TRUE(alia().EditTestimony(t, Fields("Across epochs", v2)).ok());
  ASSERT_TRUE(NewestCircleBody().testimony_edit().has_body_delta());
  Sync(bolat());
  EXPECT_EQ(Body(bolat(), t), v1);

  // Chingiz is removed too (epoch 2), then Bolat is re-added: he holds epoch 2's key only.
  // The next edit's base is of epoch 1: it carries the whole text.
  ASSERT_TRUE(alia().RemoveCircleMember(circle_, chingiz().identity().public_key()).ok());
  ASSERT_TRUE(alia().AddCircleMember(circle_, bolat().identity().public_key()).ok());
  const std::string v3 = v2 + " And after he came back.";
  ASSERT_TRUE(alia().EditTestimony(t, Fields("Across epochs", v3)).ok());
  pb::OpBody across = NewestCircleBody();
  ASSERT_TRUE(across.has_testimony_edit());
  EXPECT_FALSE(across.testimony_edit().has_body_delta());
  EXPECT_EQ(across.testimony_edit().fields().body(), v3);
  auto caught_up = Deliver(alia(), bolat(), circle_);
  ASSERT_TRUE(caught_up.ok()) << caught_up.status().ToString();
  EXPECT_EQ(Body(bolat(), t), v3);

  // Back within one epoch, edits are deltas again, and Bolat follows them.
  const std::string v4 = v3 + " One more line.";
  ASSERT_TRUE(alia().EditTestimony(t, Fields("Across epochs", v4)).ok());
  pb::OpBody within = NewestCircleBody();
  ASSERT_TRUE(within.testimony_edit().has_body_delta());
  EXPECT_TRUE(within.testimony_edit().fields().body().empty());
  auto ops = ArchiveBackDoor::log(alia()).OpsAfter(*bolat().Versions(circle_),
                                                   log::Scope::Circle(circle_), 100);
  ASSERT_TRUE(ops.ok());
  ASSERT_EQ(ops->size(), 1u);
  EXPECT_LT(ops->front().ByteSizeLong(), 600u);
  Sync(bolat());
  EXPECT_EQ(Body(bolat(), t), v4);
  EXPECT_EQ(alia().GetTestimony(t)->fields().SerializeAsString(),
            bolat().GetTestimony(t)->fields().SerializeAsString());
  ExpectRebuildKeepsState(bolat());
  ExpectRebuildKeepsState(alia());
}

TEST_F(LateMember, AnEditWhoseBaseIsOfAnEarlierEpochCarriesTheWholeText) {
  // No edit in the epoch Bolat missed: the base is the epoch-0 share, which he holds, but the
  // rule looks only at epochs, so the edit after the removal still travels whole.
  const std::string t = SharedTestimony("One removal");
  ASSERT_TRUE(alia().RemoveCircleMember(circle_, chingiz().identity().public_key()).ok());
  const std::string v2 = Body(alia(), t) + " Added after Chingiz left.";
  ASSERT_TRUE(alia().EditTestimony(t, Fields("One removal", v2)).ok());
  EXPECT_FALSE(NewestCircleBody().testimony_edit().has_body_delta());
  Sync(bolat());
  EXPECT_EQ(Body(bolat(), t), v2);
}

// Removed and re-added within one epoch: the ops of that epoch he stored and forwarded while
// out become readable with the key the re-add grants, and apply before the batch's own ops
// (Archive::ReceiveOps), so the next delta edit fits his copy and a rebuild agrees.
TEST_F(LateMember, AMemberReaddedInTheSameEpochReadsWhatHeHeldUnread) {
  const std::string t = SharedTestimony("Same epoch");
  Sync(bolat());
  ASSERT_TRUE(alia().RemoveCircleMember(circle_, bolat().identity().public_key()).ok());
  const std::string v2 = Body(alia(), t) + " While he was out.";
  ASSERT_TRUE(alia().EditTestimony(t, Fields("Same epoch", v2)).ok());
  Sync(bolat());  // held, unread
  ASSERT_TRUE(alia().AddCircleMember(circle_, bolat().identity().public_key()).ok());
  const std::string v3 = v2 + " After he came back.";
  ASSERT_TRUE(alia().EditTestimony(t, Fields("Same epoch", v3)).ok());
  auto report = Deliver(alia(), bolat(), circle_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(Body(bolat(), t), v3);
  ExpectRebuildKeepsState(bolat());
}

}  // namespace
}  // namespace estelik::archive
