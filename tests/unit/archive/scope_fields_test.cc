// Circle ops do not repeat their circle id inside the fields they seal (scope_fields.h): the
// bytes shrink, and every reader still sees the full fields.
#include "core/archive/scope_fields.h"

#include <gtest/gtest.h>

#include <string>

#include "core/archive/archive.h"
#include "core/archive/back_door.h"
#include "core/log/op_codec.h"
#include "tests/unit/archive/archive_test_util.h"

namespace estelik::archive {
namespace {

using namespace estelik::archive::testing;  // NOLINT

class ScopeFields : public AliaAndBolat {
 protected:
  // The fields a circle op of Alia's seals, as any member opens them.
  std::vector<pb::TestimonyFields> SealedFields() {
    auto ops = alia_->OpsAfter(circle_, {}, 1000);
    EXPECT_TRUE(ops.ok());
    std::vector<pb::TestimonyFields> out;
    for (const auto& e : *ops) {
      auto body = ArchiveBackDoor::log(*alia_).OpenBody(e);
      EXPECT_TRUE(body.ok()) << body.status().ToString();
      if (body->has_share_into_circle()) out.push_back(body->share_into_circle().fields());
      if (body->has_testimony_edit()) out.push_back(body->testimony_edit().fields());
      if (body->has_testimony_create()) out.push_back(body->testimony_create().fields());
    }
    return out;
  }
};

TEST_F(ScopeFields, CircleOpsSealNoCircleIdAndMembersSeeTheFullFields) {
  auto shared = alia_->AddTestimony(Fields("Shared later", "We stood by the akimat."));
  ASSERT_TRUE(shared.ok());
  ASSERT_TRUE(alia_->Share(shared->id(), circle_).ok());
  ASSERT_TRUE(
      alia_->EditTestimony(shared->id(), Fields("Shared later, corrected", "At noon.")).ok());
  pb::TestimonyFields direct = Fields("Recorded into the circle", "Жаңаөзен, 16 желтоқсан.");
  direct.set_consent_scope(pb::CONSENT_SCOPE_CIRCLE);
  direct.set_circle_id(circle_);
  auto recorded = alia_->AddTestimony(direct);
  ASSERT_TRUE(recorded.ok()) << recorded.status().ToString();

  std::vector<pb::TestimonyFields> sealed = SealedFields();
  ASSERT_EQ(sealed.size(), 3u);  // share, edit, create
  for (const auto& f : sealed) {
    EXPECT_EQ(f.consent_scope(), pb::CONSENT_SCOPE_CIRCLE);
    EXPECT_TRUE(f.circle_id().empty()) << "the op's scope already names the circle";
  }

  auto delivered = Deliver(*alia_, *bolat_, circle_);
  ASSERT_TRUE(delivered.ok()) << delivered.status().ToString();
  for (const std::string& id : {shared->id(), recorded->id()}) {
    auto mine = alia_->GetTestimony(id);
    auto theirs = bolat_->GetTestimony(id);
    ASSERT_TRUE(mine.ok() && theirs.ok());
    EXPECT_EQ(theirs->fields().circle_id(), circle_);
    EXPECT_EQ(theirs->fields().SerializeAsString(), mine->fields().SerializeAsString());
  }
  // Rebuilding from the log restores the same fields on both sides.
  for (Archive* a : {alia_.get(), bolat_.get()}) {
    auto report = a->Rebuild();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->after, report->before);
    EXPECT_EQ(a->GetTestimony(recorded->id())->fields().circle_id(), circle_);
  }
}

TEST_F(ScopeFields, OpsThatStillCarryTheCircleIdReadTheSame) {
  // As written before the rule: the id repeated inside the fields.
  pb::OpBody body;
  auto* create = body.mutable_share_into_circle();
  create->set_testimony_id(std::string(16, '\x07'));
  *create->mutable_fields() = Fields("Old style", "The id is repeated.");
  create->mutable_fields()->set_consent_scope(pb::CONSENT_SCOPE_CIRCLE);
  create->mutable_fields()->set_circle_id(circle_);
  create->set_content_key(std::string(32, '\x01'));
  ASSERT_TRUE(
      ArchiveBackDoor::log(*alia_).Append(body, log::Scope::Circle(circle_), WallClockMs()).ok());
  auto delivered = Deliver(*alia_, *bolat_, circle_);
  ASSERT_TRUE(delivered.ok()) << delivered.status().ToString();
  auto t = bolat_->GetTestimony(std::string(16, '\x07'));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->fields().circle_id(), circle_);
  EXPECT_EQ(t->fields().title(), "Old style");
}

TEST(ScopeFieldsRules, OnlyTheOpsOwnCircleIsOmittedAndOnlyAnEmptyIdIsRestored) {
  const std::string circle(32, 'c'), other(32, 'o');
  pb::OpBody body;
  auto* fields = body.mutable_testimony_edit()->mutable_fields();
  fields->set_consent_scope(pb::CONSENT_SCOPE_CIRCLE);
  fields->set_circle_id(other);
  OmitScopeCircle(body, circle);
  EXPECT_EQ(fields->circle_id(), other) << "another circle's id is kept as written";
  RestoreScopeCircle(body, circle);
  EXPECT_EQ(fields->circle_id(), other);

  fields->set_circle_id(circle);
  OmitScopeCircle(body, circle);
  EXPECT_TRUE(fields->circle_id().empty());
  RestoreScopeCircle(body, "");  // a private op restores nothing
  EXPECT_TRUE(fields->circle_id().empty());
  RestoreScopeCircle(body, circle);
  EXPECT_EQ(fields->circle_id(), circle);

  fields->set_consent_scope(pb::CONSENT_SCOPE_PRIVATE);
  fields->clear_circle_id();
  RestoreScopeCircle(body, circle);
  EXPECT_TRUE(fields->circle_id().empty()) << "private fields never gain a circle";
}

}  // namespace
}  // namespace estelik::archive
