// Search quality on the labelled evaluation set (tests/data/search_eval): every inflected form
// of a name, in every script, finds every testimony that mentions the name, and nothing else.
#include "tests/support/search_eval.h"

#include <gtest/gtest.h>

#include <map>

#include "core/store/store.h"
#include "tests/unit/store/store_fixture.h"
#include "tests/unit/store/store_test_util.h"

namespace estelik::store {
namespace {

using namespace estelik::store::testing;  // NOLINT
using estelik::testing::EvalScore;
using estelik::testing::SearchEval;

constexpr double kRecallGoal = 0.97;
constexpr double kPrecisionGoal = 0.97;

class SearchEvalTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    std::string error;
    ASSERT_TRUE(estelik::testing::LoadSearchEval(
        estelik::testing::SearchEvalDir(ESTELIK_SOURCE_DIR), &eval_, &error))
        << error;
    ASSERT_GE(eval_.testimonies.size(), 400u);
    ASSERT_GE(eval_.queries.size(), 80u);
    uint64_t wall = 1;
    for (const auto& t : eval_.testimonies) {
      NewTestimony n = Testimony(1, Fields("", t.text, "kk"), wall++);
      n.id = std::string(kTestimonyIdSize - t.id.size(), '\x5e') + t.id;
      ids_[n.id] = t.id;
      auto s = store_->CreateTestimony(n, Key(1));
      ASSERT_TRUE(s.ok()) << t.id << ": " << s.ToString();
    }
  }
  std::vector<std::string> Find(const std::string& text) {
    pb::SearchQuery q;
    q.set_text(text);
    q.mutable_page()->set_limit(500);
    auto page = store_->Search(q);
    EXPECT_TRUE(page.ok()) << text << ": " << page.status().ToString();
    std::vector<std::string> out;
    if (page.ok())
      for (const auto& h : page->hits()) out.push_back(ids_[h.testimony_id()]);
    return out;
  }
  SearchEval eval_;
  std::map<std::string, std::string> ids_;  // store id -> eval id
};

TEST_F(SearchEvalTest, RecallAndPrecisionMeetTheGoal) {
  std::vector<std::string> report;
  const EvalScore score = estelik::testing::ScoreSearchEval(
      eval_, [&](const std::string& q) { return Find(q); }, &report);
  std::string details;
  for (const std::string& line : report) details += line + "\n";
  EXPECT_GE(score.recall(), kRecallGoal) << details;
  EXPECT_GE(score.precision(), kPrecisionGoal) << details;
  std::printf("search eval: %zu queries, recall %.4f, precision %.4f\n%s", eval_.queries.size(),
              score.recall(), score.precision(), details.c_str());
}

}  // namespace
}  // namespace estelik::store
