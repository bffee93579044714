#include "core/store/query.h"

#include <gtest/gtest.h>

#include <random>

#include "core/store/store.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/store/store_test_util.h"

namespace estelik::store {
namespace {

using namespace estelik::store::testing;  // NOLINT

struct Case {
  const char* input;
  const char* expected;  // nullptr: kInvalidArgument
};

TEST(QueryTest, UserTextBecomesAQuotedFts5Expression) {
  const Case cases[] = {
      {"strike", "\"strike\""},
      {"oil strike", "(\"oil\" AND \"strike\")"},
      {"oil AND strike", "(\"oil\" AND \"strike\")"},
      {"oil OR strike", "(\"oil\" OR \"strike\")"},
      {"oil NOT police", "(\"oil\" NOT \"police\")"},
      {"oil -police", "(\"oil\" NOT \"police\")"},
      {"+oil", "\"oil\""},
      {"\"oil workers\"", "\"oil workers\""},
      {"squ*", "\"squ\" *"},
      {"\"oil work\"*", "\"oil work\" *"},
      {"(a OR b) c", "((\"a\" OR \"b\") AND \"c\")"},
      {"and or not", "(\"and\" AND \"or\" AND \"not\")"},  // lower case: plain words
      {"NEAR(a b)", "(\"NEAR\" AND (\"a\" AND \"b\"))"},
      {"Жаңаөзен", "\"Жаңаөзен\""},
      {"2011-12-16", "\"2011-12-16\""},
      // Hostile or broken input is repaired, never passed through as syntax.
      {"\"unbalanced quote", "\"unbalanced quote\""},
      {"say \"hi", "(\"say\" AND \"hi\")"},
      {"a\"\"b", "(\"a\" AND \"b\")"},
      {"AND AND strike", "\"strike\""},
      {"strike AND AND", "\"strike\""},
      {"strike OR", "\"strike\""},
      {"OR strike", "\"strike\""},
      {"NOT NOT strike", nullptr},
      {"strike NOT", "\"strike\""},
      {"*", nullptr},
      {"strike *", "\"strike\""},
      {"-", nullptr},
      {":", nullptr},
      {"title:strike", "(\"title\" AND \"strike\")"},
      {"^strike", "\"strike\""},
      {"((strike", "\"strike\""},
      {"strike))", "\"strike\""},
      {")(", nullptr},
      {"{a b}: c", "(\"a\" AND \"b\" AND \"c\")"},
      {"!@#$%&", nullptr},
      {"strike, oil.", "(\"strike\" AND \"oil.\")"},
      {"", nullptr},
      {"NOT strike", nullptr},
      {"-strike", nullptr},
  };
  for (const Case& c : cases) {
    auto r = BuildMatchExpression(c.input);
    if (c.expected == nullptr) {
      ASSERT_FALSE(r.ok()) << "input: " << c.input << " gave " << r.value();
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << c.input;
      EXPECT_FALSE(r.status().message().empty());
    } else {
      ASSERT_TRUE(r.ok()) << "input: " << c.input << ": " << r.status().ToString();
      EXPECT_EQ(*r, c.expected) << "input: " << c.input;
    }
  }
}

TEST(QueryTest, AbsurdInputIsRefusedClearly) {
  EXPECT_EQ(BuildMatchExpression(std::string(5000, 'a')).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(BuildMatchExpression(std::string(40, '(') + "a").status().code(),
            Code::kInvalidArgument);
  std::string many;
  for (int i = 0; i < 100; ++i) many.append("w").append(std::to_string(i)).append(" ");
  EXPECT_EQ(BuildMatchExpression(many).status().code(), Code::kInvalidArgument);
}

// Every input, however hostile, reaches SQLite as a valid expression: the search either
// succeeds or is refused with kInvalidArgument, never an SQL error.
TEST(QueryTest, NoUserInputReachesSqliteAsASyntaxError) {
  estelik::testing::TempDir dir;
  DbHandle db = OpenTestDb(dir.File("store.db"));
  auto store = Store::Open(db.get());
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(
      (*store)->CreateTestimony(Testimony(1, Fields("strike", "oil workers")), Key(1)).ok());
  const std::string alphabet[] = {"\"",   "(",   ")",      "*",   ":",    "^",  "-",
                                  "+",    "AND", "OR",     "NOT", "NEAR", "{",  "}",
                                  ",",    " ",   "strike", "oil", "'",    "\\", "\x01",
                                  "\xff", "Жаң", "NEAR/2", "a",   ".",    "%",  "_"};
  std::mt19937 rng(20111216);
  int searched = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string q;
    int n = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < n; ++k) {
      q += alphabet[rng() % std::size(alphabet)];
      if (rng() % 2) q += " ";
    }
    pb::SearchQuery sq;
    sq.set_text(q);
    auto r = (*store)->Search(sq);
    if (r.ok()) {
      ++searched;
    } else {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << q << ": " << r.status().ToString();
    }
  }
  EXPECT_GT(searched, 500);
}

}  // namespace
}  // namespace estelik::store
