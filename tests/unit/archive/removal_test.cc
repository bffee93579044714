// A removed member cannot write (docs/FORMAT.md "Acceptance rules", "Merge"). The admin's
// removal fixes the member's cut; every op of theirs past it, sealed in an earlier epoch, is
// void on every replica: kept in the log (their chain stays whole and is forwarded), never
// applied, and undone where it was applied before the removal arrived. Each test plays the
// hostile member the way it really attacks: it ignores the removal and goes on posting with
// the key it kept, and a remaining member who has not heard of the removal relays its ops.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/archive/archive.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/archive/archive_test_util.h"

namespace estelik::archive {
namespace {

using estelik::testing::TempDir;
using namespace estelik::archive::testing;  // NOLINT

// Alia administers a circle; Bolat and Chingiz are members from the start.
class Removal : public AliasCircle {
 protected:
  void SetUp() override {
    SetUpCircle({"alia", "bolat", "chingiz"});
    if (HasFatalFailure()) return;
    Sync(alia(), bolat());
    Sync(alia(), chingiz());
    alias_ = CircleTestimony(alia(), "Alia's account", "The square was closed at six.");
    Sync(alia(), bolat());
    Sync(alia(), chingiz());
  }

  Archive::ReceiveReport Sync(Archive& from, Archive& to) {
    auto report = Deliver(from, to, circle_);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : Archive::ReceiveReport{};
  }

  std::vector<std::string> Tags(Archive& a, const std::string& id) {
    auto t = a.GetTestimony(id);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? std::vector<std::string>(t->tags().begin(), t->tags().end())
                  : std::vector<std::string>{};
  }

  std::array<uint8_t, 32> StateHash(Archive& a) {
    auto h = a.StateHash();
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? *h : std::array<uint8_t, 32>{};
  }

  // Chingiz, removed but not told, writes what the attacker wrote: a tag on Alia's
  // testimony and a new testimony of his own recorded straight into the circle.
  std::string ChingizWritesAfterHisRemoval() {
    EXPECT_TRUE(chingiz().AddTag(alias_, "staged").ok());
    return CircleTestimony(chingiz(), "Chingiz's late account", "Nothing happened at noon.");
  }

  std::string alias_;  // Alia's shared testimony
};

TEST_F(Removal, LateOpsRelayedByAMemberWhoHadNotHeardAreUndoneWhenTheRemovalArrives) {
  // Before the removal, Chingiz's testimony is the circle's like anyone's.
  const std::string before = CircleTestimony(chingiz(), "Chingiz's first account", "Shots.");
  Sync(chingiz(), alia());
  ASSERT_TRUE(alia().RemoveCircleMember(circle_, chingiz().identity().public_key()).ok());
  const std::string late = ChingizWritesAfterHisRemoval();

  // Bolat has not heard of the removal: he takes Chingiz's late ops and shows them.
  Sync(chingiz(), bolat());
  ASSERT_TRUE(bolat().GetTestimony(late).ok());
  EXPECT_EQ(Tags(bolat(), alias_), std::vector<std::string>{"staged"});
  // Bolat, meanwhile, tags Alia's testimony in the old epoch: a remaining member's concurrent
  // op, which stays.
  ASSERT_TRUE(bolat().AddTag(alias_, "confirmed").ok());

  // The removal reaches him: what Chingiz wrote after it is undone, the rest kept.
  Archive::ReceiveReport report = Sync(alia(), bolat());
  EXPECT_TRUE(report.undone);
  EXPECT_EQ(bolat().GetTestimony(late).status().code(), Code::kNotFound);
  EXPECT_TRUE(bolat().GetTestimony(before).ok());
  EXPECT_EQ(Tags(bolat(), alias_), std::vector<std::string>{"confirmed"});

  // Bolat relays everything to Alia, who fixed the cut: she never shows the late ops, and
  // keeps Bolat's concurrent tag. Both end in the same state, also after a rebuild.
  Sync(bolat(), alia());
  EXPECT_EQ(alia().GetTestimony(late).status().code(), Code::kNotFound);
  EXPECT_EQ(Tags(alia(), alias_), std::vector<std::string>{"confirmed"});
  EXPECT_EQ(StateHash(alia()), StateHash(bolat()));
  EXPECT_EQ(*alia().Versions(circle_), *bolat().Versions(circle_));
  ExpectRebuildKeepsState(alia());
  ExpectRebuildKeepsState(bolat());
  EXPECT_EQ(bolat().GetTestimony(late).status().code(), Code::kNotFound);
}

TEST_F(Removal, TheSameStateWhateverOrderTheRemovalAndTheLateOpsArriveIn) {
  ASSERT_TRUE(alia().RemoveCircleMember(circle_, chingiz().identity().public_key()).ok());
  const std::string late = ChingizWritesAfterHisRemoval();
  // Bolat: late ops first, then the removal. A fresh replica, Dana: removal first.
  auto dana_made = Archive::Create(tmp_.File("dana"), "dana's passphrase", Fast());
  ASSERT_TRUE(dana_made.ok());
  Archive& dana = **dana_made;
  ASSERT_TRUE(alia().AddContact(dana.identity().public_key(), "Dana").ok());
  ASSERT_TRUE(alia().AddCircleMember(circle_, dana.identity().public_key()).ok());
  Sync(chingiz(), bolat());
  Sync(alia(), bolat());
  Sync(alia(), dana);
  Archive::ReceiveReport to_dana = Sync(bolat(), dana);  // forwards Chingiz's late ops
  EXPECT_FALSE(to_dana.undone);                          // nothing of them was ever applied
  for (Archive* a : {&alia(), &bolat(), &dana}) {
    Sync(bolat(), *a);
    EXPECT_EQ(a->GetTestimony(late).status().code(), Code::kNotFound);
  }
  // Dana joined after the removal and reads none of epoch 0; the others hold Alia's testimony
  // without Chingiz's tag.
  EXPECT_TRUE(Tags(alia(), alias_).empty());
  EXPECT_TRUE(Tags(bolat(), alias_).empty());
  EXPECT_EQ(StateHash(bolat()), StateHash(alia()));
  ExpectRebuildKeepsState(dana);
}

TEST_F(Removal, ARemovedMembersOpInANewerEpochWithoutReaddIsRefused) {
  // Without the new epoch's key Chingiz cannot seal there at all; the log refuses posting.
  ASSERT_TRUE(alia().RemoveCircleMember(circle_, chingiz().identity().public_key()).ok());
  Sync(alia(), chingiz());  // he learns the new epoch exists
  EXPECT_EQ(chingiz().AddTag(alias_, "still here").code(), Code::kPermissionDenied);
}

TEST_F(Removal, AReaddedMemberWritesAgainWhileItsLateOpsStayVoidEverywhere) {
  ASSERT_TRUE(alia().RemoveCircleMember(circle_, chingiz().identity().public_key()).ok());
  const std::string late = ChingizWritesAfterHisRemoval();
  Sync(chingiz(), alia());
  Sync(alia(), bolat());
  ASSERT_TRUE(alia().AddCircleMember(circle_, chingiz().identity().public_key()).ok());
  // Re-added, Chingiz reads the removal he held: his own late ops are undone on his device too.
  Archive::ReceiveReport back = Sync(alia(), chingiz());
  EXPECT_TRUE(back.undone);
  EXPECT_TRUE(Tags(chingiz(), alias_).empty());
  // What he writes now counts everywhere.
  const std::string fresh = CircleTestimony(chingiz(), "After the re-add", "We came back.");
  ASSERT_FALSE(fresh.empty());
  ASSERT_TRUE(chingiz().AddTag(alias_, "witnessed").ok());
  for (Archive* a : {&alia(), &bolat()}) {
    Sync(chingiz(), *a);
    auto t = a->GetTestimony(fresh);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->fields().body(), "We came back.");
    EXPECT_EQ(Tags(*a, alias_), std::vector<std::string>{"witnessed"});
    EXPECT_EQ(a->GetTestimony(late).status().code(), Code::kNotFound);
  }
  EXPECT_EQ(StateHash(alia()), StateHash(bolat()));
  ExpectRebuildKeepsState(alia());
  ExpectRebuildKeepsState(bolat());
  ExpectRebuildKeepsState(chingiz());
}

}  // namespace
}  // namespace estelik::archive
