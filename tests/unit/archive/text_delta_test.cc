// Small edits carry only the changed text: an edit's body travels as a delta against the
// version it replaces (docs/FORMAT.md "Testimony edits and text deltas"), members that receive
// it show the exact new text, a delta that does not fit its base is refused naming the op and
// changes nothing, and a rebuild from the log reproduces the same state.
#include "core/archive/text_delta.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "core/archive/archive.h"
#include "core/archive/back_door.h"
#include "core/bytes.h"
#include "core/log/op_codec.h"
#include "tests/unit/archive/archive_test_util.h"

namespace estelik::archive {
namespace {

using namespace estelik::archive::testing;  // NOLINT

// The resolved body of applying the delta MakeTextDelta makes; checks the round trip.
void ExpectRoundTrip(const std::string& base, const std::string& body) {
  std::optional<pb::TextDelta> delta = MakeTextDelta(base, body);
  ASSERT_TRUE(delta.has_value());
  EXPECT_TRUE(IsValidUtf8(delta->insert()));
  EXPECT_LT(delta->insert().size() + kTextDeltaOverhead, body.size());
  Result<std::string> applied = ApplyTextDelta(base, *delta);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ(*applied, body);
}

TEST(TextDeltaTest, CarriesOnlyTheChangedMiddle) {
  const std::string head = Prose(1500, 1);
  const std::string tail = Prose(1500, 2);
  const std::string base = head + "shots at noon" + tail;
  const std::string body = head + "shots before noon" + tail;
  std::optional<pb::TextDelta> delta = MakeTextDelta(base, body);
  ASSERT_TRUE(delta.has_value());
  EXPECT_LE(delta->insert().size(), 6u);  // "before" for "at", give or take shared letters
  EXPECT_EQ(delta->keep_prefix() + delta->insert().size() + delta->keep_suffix(), body.size());
  ExpectRoundTrip(base, body);
}

TEST(TextDeltaTest, EditsAtTheStartAndTheEndAndOfTheWholeText) {
  const std::string text = Prose(2000, 3);
  ExpectRoundTrip(text, "On 16 December: " + text);
  ExpectRoundTrip(text, text + " The police came later.");
  ExpectRoundTrip(text, text.substr(100));  // a cut
  // Nothing in common, or nothing left: the body travels whole.
  EXPECT_FALSE(MakeTextDelta(text, Prose(2000, 4)).has_value());
  EXPECT_FALSE(MakeTextDelta(text, "").has_value());
  EXPECT_FALSE(MakeTextDelta("", text).has_value());
  // A tiny body is never worth a delta.
  EXPECT_FALSE(MakeTextDelta("short", "shorter").has_value());
}

TEST(TextDeltaTest, NeverSplitsACodePointOfKazakhOrCyrillicText) {
  const std::string pad = "Желтоқсан оқиғасы туралы куәлік. " + Prose(300, 5);
  // ә (D3 99) and ө (D3 A9) share their first byte: the prefix must stop before it.
  {
    const std::string base = pad + "әке" + pad;
    const std::string body = pad + "өке" + pad;
    std::optional<pb::TextDelta> delta = MakeTextDelta(base, body);
    ASSERT_TRUE(delta.has_value());
    EXPECT_EQ(delta->insert(), "ө");
    ExpectRoundTrip(base, body);
  }
  // Ә (D3 98) and И (D0 98) share their last byte: the suffix must start after it.
  {
    const std::string base = pad + "Әлия" + pad;
    const std::string body = pad + "Илия" + pad;
    std::optional<pb::TextDelta> delta = MakeTextDelta(base, body);
    ASSERT_TRUE(delta.has_value());
    EXPECT_EQ(delta->insert(), "И");
    ExpectRoundTrip(base, body);
  }
  // Inserting a multi-byte word next to multi-byte text.
  ExpectRoundTrip(pad + pad, pad + "Жаңаөзен, " + pad);
  // A four-byte character replaced by another with the same first three bytes.
  ExpectRoundTrip(pad + "\xF0\x9F\x98\x80" + pad, pad + "\xF0\x9F\x98\x81" + pad);
}

TEST(TextDeltaTest, ADeltaThatDoesNotFitItsBaseIsRefusedWithTheReason) {
  const std::string base = "Қазақ " + Prose(400, 6);
  pb::TextDelta delta = MakeTextDelta(base, base + " more").value();
  EXPECT_TRUE(ApplyTextDelta(base, delta).ok());

  Result<std::string> other = ApplyTextDelta(base + "x", delta);
  EXPECT_EQ(other.status().code(), Code::kCorrupt);
  EXPECT_NE(other.status().message().find("BLAKE2b-256 differs"), std::string::npos);

  pb::TextDelta too_long = delta;
  too_long.set_keep_suffix(static_cast<uint32_t>(base.size()));
  EXPECT_NE(ApplyTextDelta(base, too_long).status().message().find("bytes of a"),
            std::string::npos);
  pb::TextDelta overflow = delta;  // u32 + u32 must not wrap
  overflow.set_keep_prefix(UINT32_MAX);
  overflow.set_keep_suffix(1);
  EXPECT_EQ(ApplyTextDelta(base, overflow).status().code(), Code::kCorrupt);

  pb::TextDelta split = delta;  // keeps the first byte of the two-byte "Қ"
  split.set_keep_prefix(1);
  split.set_keep_suffix(0);
  split.set_insert("");
  EXPECT_NE(ApplyTextDelta(base, split).status().message().find("not valid UTF-8"),
            std::string::npos);
}

TEST(TextDeltaTest, ValidUtf8IsExactlyTheWellFormedSequences) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("Жаңаөзен \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xD2"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\x9B"));              // a continuation byte first
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
}

class DeltaEdits : public AliaAndBolat {
 protected:
  // A ~3 KB testimony of Alia's, shared with Bolat.
  std::string SharedTestimony() {
    auto t = alia_->AddTestimony(Fields("In the square", Prose(3000, 7)));
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_TRUE(alia_->Share(t->id(), circle_).ok());
    auto delivered = Deliver(*alia_, *bolat_, circle_);
    EXPECT_TRUE(delivered.ok()) << delivered.status().ToString();
    return t->id();
  }

  // Alia's circle ops Bolat does not hold yet.
  std::vector<pb::Envelope> Pending() {
    auto vv = bolat_->Versions(circle_);
    EXPECT_TRUE(vv.ok());
    auto ops = alia_->OpsAfter(circle_, *vv, 1000);
    EXPECT_TRUE(ops.ok());
    return *ops;
  }

  std::string Body(Archive& a, const std::string& id) {
    auto t = a.GetTestimony(id);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? t->fields().body() : "";
  }

  // Alia signs an edit with `delta` (as a buggy or hostile client of hers might) and Bolat
  // must refuse it without changing anything.
  void ExpectRefused(const std::string& id, const pb::TextDelta& delta) {
    auto current = bolat_->GetTestimony(id);
    ASSERT_TRUE(current.ok());
    pb::OpBody forged;
    auto* edit = forged.mutable_testimony_edit();
    edit->set_testimony_id(id);
    *edit->mutable_fields() = current->fields();
    edit->mutable_fields()->clear_body();
    auto base = ArchiveBackDoor::store(*bolat_).VersionOp(id, current->current_version());
    ASSERT_TRUE(base.ok());
    edit->set_base_op(*base);
    *edit->mutable_body_delta() = delta;
    ASSERT_TRUE(ArchiveBackDoor::log(*alia_)
                    .Append(forged, log::Scope::Circle(circle_), WallClockMs())
                    .ok());

    auto hash_before = bolat_->StateHash();
    auto vv_before = bolat_->Versions(circle_);
    auto result = Deliver(*alia_, *bolat_, circle_);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), Code::kCorrupt) << result.status().ToString();
    EXPECT_NE(result.status().message().find(
                  "edit of testimony " + estelik::Hex(estelik::AsBytes(id)) +
                  ": its text delta does not apply to the version it was made from"),
              std::string::npos)
        << result.status().message();
    EXPECT_EQ(*bolat_->StateHash(), *hash_before);
    EXPECT_EQ(*bolat_->Versions(circle_), *vv_before);
    EXPECT_EQ(Body(*bolat_, id), current->fields().body());
    EXPECT_EQ(bolat_->History(id)->versions_size(), 1);
  }
};

TEST_F(DeltaEdits, AppendingASentenceToALongTestimonySendsOnlyTheSentence) {
  const std::string id = SharedTestimony();
  const std::string before = Body(*alia_, id);
  ASSERT_GE(before.size(), 3000u);
  const std::string after = before + " Then the lights went out across the whole square.";
  ASSERT_TRUE(alia_->EditTestimony(id, Fields("In the square", after)).ok());

  std::vector<pb::Envelope> ops = Pending();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_LT(ops[0].ByteSizeLong(), 600u);
  auto opened = ArchiveBackDoor::log(*alia_).OpenBody(ops[0]);
  ASSERT_TRUE(opened.ok());
  ASSERT_TRUE(opened->testimony_edit().has_body_delta());
  EXPECT_TRUE(opened->testimony_edit().fields().body().empty());

  auto report = Deliver(*alia_, *bolat_, circle_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->accepted, 1u);
  EXPECT_EQ(Body(*bolat_, id), after);
  EXPECT_EQ(Body(*alia_, id), after);
  auto history = bolat_->History(id);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->versions_size(), 2);
  EXPECT_EQ(history->versions(0).fields().body(), before);
  EXPECT_EQ(history->versions(1).fields().body(), after);
  EXPECT_EQ(history->versions(1).fields().title(), "In the square");
  EXPECT_EQ(alia_->GetTestimony(id)->fields().SerializeAsString(),
            bolat_->GetTestimony(id)->fields().SerializeAsString());
}

TEST_F(DeltaEdits, EditsInTheMiddleAtTheStartAndToAnEmptyBodyReachMembersExactly) {
  const std::string id = SharedTestimony();
  std::string text = Body(*alia_, id);
  std::vector<std::string> bodies = {
      text.substr(0, 1500) + "Жаңаөзен, 16 желтоқсан. " + text.substr(1500),  // middle
      "Алаңда: " + text,                                                      // start
      "",                                                                     // emptied
      "Written again from nothing.",                                          // from empty
      "Written again from nothing, with more words at its end." + Prose(200, 9),
  };
  for (const std::string& body : bodies) {
    ASSERT_TRUE(alia_->EditTestimony(id, Fields("In the square", body)).ok());
    auto report = Deliver(*alia_, *bolat_, circle_);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(Body(*bolat_, id), body);
  }
  auto history = bolat_->History(id);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->versions_size(), 1 + static_cast<int>(bodies.size()));
  for (size_t i = 0; i < bodies.size(); ++i) {
    EXPECT_EQ(history->versions(static_cast<int>(i + 1)).fields().body(), bodies[i]);
  }
}

TEST_F(DeltaEdits, ManyDeltaEditsInOneBatchRelayedByAnotherMemberGiveTheSameText) {
  auto chen = Archive::Create(tmp_.File("chen"), "chen's passphrase", Fast());
  ASSERT_TRUE(chen.ok());
  ASSERT_TRUE(alia_->AddContact((*chen)->identity().public_key(), "Chen").ok());
  ASSERT_TRUE(alia_->AddCircleMember(circle_, (*chen)->identity().public_key()).ok());
  const std::string id = SharedTestimony();
  std::string body = Body(*alia_, id);
  for (int i = 0; i < 5; ++i) {
    body.insert(body.size() / (i + 2), " [" + std::to_string(i) + "] Қосымша.");
    ASSERT_TRUE(alia_->EditTestimony(id, Fields("In the square", body)).ok());
  }
  ASSERT_EQ(Pending().size(), 5u);
  ASSERT_TRUE(Deliver(*alia_, *bolat_, circle_).ok());
  // Chen never talks to Alia: every op, the share and five deltas, comes from Bolat at once.
  auto report = Deliver(*bolat_, **chen, circle_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(Body(**chen, id), body);
  EXPECT_EQ((*chen)->History(id)->SerializeAsString(), bolat_->History(id)->SerializeAsString());
  EXPECT_EQ(bolat_->History(id)->versions_size(), 6);
}

TEST_F(DeltaEdits, ATestimonyRecordedStraightIntoTheCircleTakesDeltaEditsToo) {
  pb::TestimonyFields fields = Fields("Recorded in the circle", Prose(2500, 11));
  fields.set_consent_scope(pb::CONSENT_SCOPE_CIRCLE);
  fields.set_circle_id(circle_);
  auto t = alia_->AddTestimony(fields);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_TRUE(Deliver(*alia_, *bolat_, circle_).ok());
  pb::TestimonyFields edited = fields;
  edited.set_body(fields.body() + " And one more thing.");
  ASSERT_TRUE(alia_->EditTestimony(t->id(), edited).ok());
  std::vector<pb::Envelope> ops = Pending();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_TRUE(ArchiveBackDoor::log(*alia_).OpenBody(ops[0])->testimony_edit().has_body_delta());
  ASSERT_TRUE(Deliver(*alia_, *bolat_, circle_).ok());
  EXPECT_EQ(Body(*bolat_, t->id()), edited.body());
}

TEST_F(DeltaEdits, ADeltaWhoseBaseHashIsWrongIsRefusedAndChangesNothing) {
  const std::string id = SharedTestimony();
  const std::string base = Body(*bolat_, id);
  pb::TextDelta delta = MakeTextDelta(base, base + " A forged sentence.").value();
  delta.set_base_body_hash(std::string(32, '\x07'));
  ExpectRefused(id, delta);
}

TEST_F(DeltaEdits, ADeltaKeepingMoreThanItsBaseIsRefusedAndChangesNothing) {
  const std::string id = SharedTestimony();
  const std::string base = Body(*bolat_, id);
  pb::TextDelta delta = MakeTextDelta(base, base + " A forged sentence.").value();
  delta.set_keep_prefix(static_cast<uint32_t>(base.size()));
  delta.set_keep_suffix(1);
  ExpectRefused(id, delta);
}

TEST_F(DeltaEdits, ADeltaWhoseResultIsNotUtf8IsRefusedAndChangesNothing) {
  auto t = alia_->AddTestimony(Fields("Қазақша", "Қ" + Prose(1000, 12)));
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(alia_->Share(t->id(), circle_).ok());
  ASSERT_TRUE(Deliver(*alia_, *bolat_, circle_).ok());
  const std::string base = Body(*bolat_, t->id());
  pb::TextDelta delta = MakeTextDelta(base, base + " more").value();
  delta.set_keep_prefix(1);  // half of "Қ"
  delta.set_keep_suffix(0);
  delta.set_insert("");
  ExpectRefused(t->id(), delta);
}

TEST_F(DeltaEdits, RebuildReproducesTheSameStateWithDeltaEdits) {
  // Private delta edits, the share (its private decision is a delta edit too), circle edits.
  auto t = alia_->AddTestimony(Fields("Rebuilt", Prose(3000, 13)));
  ASSERT_TRUE(t.ok());
  std::string body = t->fields().body();
  for (int i = 0; i < 3; ++i) {
    body.insert(body.size() / 2, " private change " + std::to_string(i) + ".");
    ASSERT_TRUE(alia_->EditTestimony(t->id(), Fields("Rebuilt", body)).ok());
  }
  ASSERT_TRUE(alia_->Share(t->id(), circle_).ok());
  for (int i = 0; i < 3; ++i) {
    body = "Жаңаөзен " + std::to_string(i) + ". " + body;
    ASSERT_TRUE(alia_->EditTestimony(t->id(), Fields("Rebuilt", body)).ok());
  }
  ASSERT_TRUE(Deliver(*alia_, *bolat_, circle_).ok());
  ASSERT_EQ(Body(*bolat_, t->id()), body);

  for (Archive* a : {alia_.get(), bolat_.get()}) {
    auto history_before = a->History(t->id());
    ASSERT_TRUE(history_before.ok());
    auto report = a->Rebuild();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->after, report->before);
    EXPECT_EQ(Body(*a, t->id()), body);
    EXPECT_EQ(a->History(t->id())->SerializeAsString(), history_before->SerializeAsString());
  }
  EXPECT_EQ(alia_->History(t->id())->versions_size(), 1 + 3 + 1 + 3);
  EXPECT_EQ(bolat_->History(t->id())->versions_size(), 1 + 3);
}

}  // namespace
}  // namespace estelik::archive
