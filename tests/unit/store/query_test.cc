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
  std::string expected;  // "": nothing to search (Search gives an empty page)
};

// What a looked-for word or phrase becomes: its exact form or any form (query.h).
std::string W(const std::string& w) { return "(\"\x01" + w + "\" OR \"" + w + "\")"; }

TEST(QueryTest, UserTextBecomesAQuotedFts5Expression) {
  const Case cases[] = {
      {"strike", W("strike")},
      {"oil strike", "(" + W("oil") + " AND " + W("strike") + ")"},
      {"oil AND strike", "(" + W("oil") + " AND " + W("strike") + ")"},
      {"oil OR strike", "(" + W("oil") + " OR " + W("strike") + ")"},
      {"oil NOT police", "(" + W("oil") + " NOT \"police\")"},
      {"oil -police", "(" + W("oil") + " NOT \"police\")"},
      {"+oil", W("oil")},
      {"\"oil workers\"", W("oil workers")},
      {"squ*", "\"squ\" *"},
      {"\"oil work\"*", "\"oil work\" *"},
      {"(a OR b) c", "((" + W("a") + " OR " + W("b") + ") AND " + W("c") + ")"},
      {"and or not", "(" + W("and") + " AND " + W("or") + " AND " + W("not") + ")"},
      {"NEAR(a b)", "(" + W("NEAR") + " AND (" + W("a") + " AND " + W("b") + "))"},
      {"Жаңаөзен", W("Жаңаөзен")},
      {"2011-12-16", W("2011-12-16")},
      // Hostile or broken input is repaired, never passed through as syntax.
      {"\"unbalanced quote", W("unbalanced quote")},
      {"say \"hi", "(" + W("say") + " AND " + W("hi") + ")"},
      {"a\"\"b", "(" + W("a") + " AND " + W("b") + ")"},
      {"AND AND strike", W("strike")},
      {"strike AND AND", W("strike")},
      {"strike OR", W("strike")},
      {"OR strike", W("strike")},
      {"NOT NOT strike", ""},
      {"strike NOT", W("strike")},
      {"*", ""},
      {"strike *", W("strike")},
      {"-", ""},
      {":", ""},
      {"title:strike", "(" + W("title") + " AND " + W("strike") + ")"},
      {"^strike", W("strike")},
      {"((strike", W("strike")},
      {"strike))", W("strike")},
      {")(", ""},
      {"{a b}: c", "(" + W("a") + " AND " + W("b") + " AND " + W("c") + ")"},
      {"!@#$%&", ""},
      {"strike, oil.", "(" + W("strike") + " AND " + W("oil.") + ")"},
      {"", ""},
      {"\"", ""},
      {"\"\"", ""},
      {"NOT strike", ""},
      {"-strike", ""},
      // Only operators: the user meant the words.
      {"AND OR NOT", "(" + W("AND") + " AND " + W("OR") + " AND " + W("NOT") + ")"},
      {"OR", W("OR")},
      // Control characters separate words; the tokenizer's exact marker cannot be smuggled in.
      {"\x01strike", W("strike")},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(BuildMatchExpression(c.input), c.expected) << "input: " << c.input;
  }
}

TEST(QueryTest, AbsurdInputIsCutNotRefused) {
  // Over 4096 bytes: cut on a UTF-8 boundary (2-byte letters, the cut falls inside one).
  std::string long_text = "a";
  while (long_text.size() < 5000) long_text += "ж";
  const std::string cut = BuildMatchExpression(long_text);
  ASSERT_FALSE(cut.empty());
  EXPECT_LT(cut.size(), 2 * 4096u + 32);
  EXPECT_EQ(cut.find("\xD0\""), std::string::npos) << "a letter was split";
  // Nested deeper than 16: the extra parentheses are ignored, the word still searched.
  EXPECT_NE(BuildMatchExpression(std::string(40, '(') + "a").find("\"a\""), std::string::npos);
  // More than 64 words: the first 64 are searched.
  std::string many;
  for (int i = 0; i < 100; ++i) many.append("w").append(std::to_string(i)).append(" ");
  const std::string expr = BuildMatchExpression(many);
  EXPECT_NE(expr.find("\"w63\""), std::string::npos);
  EXPECT_EQ(expr.find("\"w64\""), std::string::npos);
}

// Every input, however hostile, reaches SQLite as a valid expression: the search succeeds
// (any text is valid), never an SQL error.
// Search counts each phrase's rows from its candidates only when a row matches exactly when some
// phrase occurs in it (rank.h); AND and NOT, in any spelling, must say otherwise.
TEST(QueryTest, OnlyPhrasesJoinedByOrAreADisjunction) {
  for (const char* text : {"Жаңаөзен", "\"oil workers\"", "Жана*", "strike OR police",
                           "(strike OR police) OR night", "\"AND\"", "NOT"})
    EXPECT_TRUE(IsDisjunction(BuildMatchExpression(text))) << text;
  for (const char* text : {"strike police", "strike AND police", "strike -police",
                           "strike NOT police", "(a OR b) c", "\"x\" AND y*"})
    EXPECT_FALSE(IsDisjunction(BuildMatchExpression(text))) << text;
}

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
    ASSERT_TRUE(r.ok()) << q << ": " << r.status().ToString();
    if (r->hits_size() > 0) ++searched;
  }
  EXPECT_GT(searched, 100);
}

}  // namespace
}  // namespace estelik::store
