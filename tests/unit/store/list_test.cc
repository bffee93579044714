#include <gtest/gtest.h>

#include <set>

#include "core/store/store.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/store/store_fixture.h"
#include "tests/unit/store/store_test_util.h"

namespace estelik::store {
namespace {

using namespace estelik::store::testing;  // NOLINT
using estelik::testing::TempDir;

class ListTest : public StoreFixture {
 protected:
  std::vector<std::string> ListIds(const pb::ListFilter& f) {
    std::vector<std::string> ids;
    auto page = store_->List(f, pb::PageRequest());
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& t : page->testimonies()) ids.push_back(t.id());
    return ids;
  }
  void Add(uint8_t n, const std::string& lang, const std::string& tag, const std::string& place,
           const std::string& from, const std::string& to,
           pb::ConsentScope scope = pb::CONSENT_SCOPE_PRIVATE) {
    pb::TestimonyFields f = Fields(std::string("t").append(std::to_string(n)), "b", lang);
    if (!tag.empty()) f.add_tags(tag);
    if (!place.empty()) f.add_places(place);
    f.mutable_event_dates()->set_from(from);
    f.mutable_event_dates()->set_to(to);
    f.set_consent_scope(scope);
    ASSERT_TRUE(store_->CreateTestimony(Testimony(n, f), Key(n)).ok());
  }
};

TEST_F(ListTest, ListsNewestFirst) {
  Add(1, "kk", "", "", "", "");
  Add(2, "kk", "", "", "", "");
  Add(3, "kk", "", "", "", "");
  EXPECT_EQ(ListIds({}), (std::vector<std::string>{Id(3), Id(2), Id(1)}));
}

TEST_F(ListTest, FiltersByTagPlaceLanguageScopeAndCombineWithAnd) {
  Add(1, "kk", "strike", "Жаңаөзен", "", "");
  Add(2, "ru", "strike", "Ақтау", "", "", pb::CONSENT_SCOPE_CIRCLE);
  Add(3, "kk", "arrest", "Ақтау", "", "");
  pb::ListFilter f;
  f.add_tags("strike");
  EXPECT_EQ(ListIds(f), (std::vector<std::string>{Id(2), Id(1)}));
  f.Clear();
  f.add_tags("STRIKE");  // tags match case-insensitively (ASCII)
  EXPECT_EQ(ListIds(f).size(), 2u);
  f.Clear();
  f.add_places("Ақтау");
  EXPECT_EQ(ListIds(f), (std::vector<std::string>{Id(3), Id(2)}));
  f.add_languages("kk");
  EXPECT_EQ(ListIds(f), (std::vector<std::string>{Id(3)}));
  f.Clear();
  f.add_scopes(pb::CONSENT_SCOPE_CIRCLE);
  EXPECT_EQ(ListIds(f), (std::vector<std::string>{Id(2)}));
  f.Clear();
  f.add_scopes(pb::CONSENT_SCOPE_PRIVATE);
  EXPECT_EQ(ListIds(f), (std::vector<std::string>{Id(3), Id(1)}));
  f.Clear();
  f.add_tags("strike");
  f.add_tags("arrest");  // OR within one filter
  EXPECT_EQ(ListIds(f).size(), 3u);
  f.Clear();
  f.add_tags("none");
  EXPECT_TRUE(ListIds(f).empty());
}

TEST_F(ListTest, AnUnsetScopeIsPrivate) {
  Add(1, "kk", "", "", "", "", pb::CONSENT_SCOPE_UNSPECIFIED);
  Add(2, "kk", "", "", "", "", pb::CONSENT_SCOPE_PUBLIC);
  Add(3, "kk", "", "", "", "", pb::CONSENT_SCOPE_PRIVATE);
  pb::ListFilter f;
  f.add_scopes(pb::CONSENT_SCOPE_PRIVATE);
  EXPECT_EQ(ListIds(f), (std::vector<std::string>{Id(3), Id(1)}));
  f.Clear();
  f.add_scopes(pb::CONSENT_SCOPE_PUBLIC);
  EXPECT_EQ(ListIds(f), (std::vector<std::string>{Id(2)}));
}

TEST_F(ListTest, DateRangeFilterMatchesOverlappingEvents) {
  Add(1, "kk", "", "", "2011-12-16", "2011-12-17");
  Add(2, "kk", "", "", "2022-01", "2022-01");  // month precision
  Add(3, "kk", "", "", "", "");                // no date: never matches a date filter
  Add(4, "kk", "", "", "2011", "");            // open-ended from 2011
  pb::ListFilter f;
  f.mutable_event_dates()->set_from("2011-12-17");
  f.mutable_event_dates()->set_to("2011-12-31");
  EXPECT_EQ(ListIds(f), (std::vector<std::string>{Id(4), Id(1)}));
  f.mutable_event_dates()->set_from("2022-01-05");
  f.mutable_event_dates()->set_to("2022-01-05");
  EXPECT_EQ(ListIds(f), (std::vector<std::string>{Id(4), Id(2)}));
  f.mutable_event_dates()->set_from("2000");
  f.mutable_event_dates()->set_to("2010");
  EXPECT_TRUE(ListIds(f).empty());
  f.mutable_event_dates()->set_from("yesterday");
  EXPECT_EQ(store_->List(f, {}).status().code(), Code::kInvalidArgument);
}

TEST_F(ListTest, WithdrawnTestimoniesVanishUnlessAskedFor) {
  Add(1, "kk", "strike", "", "", "");
  Add(2, "kk", "strike", "", "", "");
  ASSERT_TRUE(store_->Withdraw(Id(1), Author(1), Hlc(9000)).ok());
  pb::ListFilter f;
  EXPECT_EQ(ListIds(f), (std::vector<std::string>{Id(2)}));
  f.add_tags("strike");
  EXPECT_EQ(ListIds(f), (std::vector<std::string>{Id(2)}));
  pb::ListFilter all;
  all.set_include_withdrawn(true);
  EXPECT_EQ(ListIds(all).size(), 2u);
}

TEST_F(ListTest, PagingVisitsEveryTestimonyOnceEvenWhenOthersArriveMeanwhile) {
  for (uint8_t n = 1; n <= 25; ++n) Add(n, "kk", "", "", "", "");
  std::vector<std::string> seen;
  pb::PageRequest req;
  req.set_limit(10);
  uint8_t next_new = 100;
  int pages = 0;
  while (true) {
    auto page = store_->List({}, req);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& t : page->testimonies()) seen.push_back(t.id());
    ++pages;
    // Concurrent inserts: newer ones (would sort first) and, via sync, older ones.
    ASSERT_TRUE(
        store_->CreateTestimony(Testimony(next_new, Fields("new", "n"), 50000 + next_new), Key(1))
            .ok());
    ++next_new;
    if (page->next_cursor().empty()) break;
    req.set_cursor(page->next_cursor());
  }
  EXPECT_EQ(pages, 3);
  std::vector<std::string> expected;
  for (uint8_t n = 25; n >= 1; --n) expected.push_back(Id(n));
  EXPECT_EQ(seen, expected);
}

TEST_F(ListTest, MalformedCursorIsRejected) {
  pb::PageRequest req;
  req.set_cursor("garbage");
  EXPECT_EQ(store_->List({}, req).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace estelik::store
