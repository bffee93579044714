#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/store/query.h"
#include "core/store/store.h"
#include "core/store/tokenizer.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/store/store_fixture.h"
#include "tests/unit/store/store_test_util.h"

namespace estelik::store {
namespace {

using namespace estelik::store::testing;  // NOLINT
using estelik::testing::TempDir;

class SearchTest : public StoreFixture {
 protected:
  void Add(uint8_t n, const std::string& title, const std::string& body,
           const std::string& lang = "kk", const std::string& tag = "") {
    pb::TestimonyFields f = Fields(title, body, lang);
    if (!tag.empty()) f.add_tags(tag);
    auto s = store_->CreateTestimony(Testimony(n, f), Key(n));
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  Result<pb::SearchPage> Find(const std::string& text, pb::ListFilter filter = {}) {
    pb::SearchQuery q;
    q.set_text(text);
    *q.mutable_filter() = filter;
    return store_->Search(q);
  }
  std::vector<std::string> Ids(const std::string& text, pb::ListFilter filter = {}) {
    auto r = Find(text, filter);
    EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
    std::vector<std::string> ids;
    if (r.ok())
      for (const auto& h : r->hits()) ids.push_back(h.testimony_id());
    return ids;
  }
};

TEST_F(SearchTest, TitleMatchesRankAboveBodyMatches) {
  Add(1, "Market day", "We spoke about the strike at length, the strike went on.");
  Add(2, "The strike", "We went to the market.");
  EXPECT_EQ(Ids("strike"), (std::vector<std::string>{Id(2), Id(1)}));
}

// The index is split into shards (so a withdrawal rewrites only one); scores must still be
// bm25 over the whole index, exactly what one FTS5 table holding every row would give.
TEST_F(SearchTest, RanksAreBm25OverTheWholeIndexWhicheverShardATestimonyIsIn) {
  const char* words[] = {"strike", "square", "Zhanaozen", "oil", "police", "night"};
  DbHandle one = OpenPlainTestDb(":memory:");
  ASSERT_TRUE(RegisterTokenizer(one.get()).ok());
  ASSERT_EQ(sqlite3_exec(one.get(),
                         "CREATE VIRTUAL TABLE f USING fts5(title, body, extra, "
                         "tokenize='estelik')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  for (uint8_t n = 1; n <= 40; ++n) {
    std::string title = words[n % 6], body;
    for (int i = 0; i < n % 7 + 1; ++i) body += std::string(words[(n * (i + 3)) % 6]) + " talk ";
    Add(n, title, body);
    sqlite3_stmt* ins = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(one.get(),
                                 "INSERT INTO f(rowid, title, body, extra) "
                                 "VALUES(?1, ?2, ?3, '')",
                                 -1, &ins, nullptr),
              SQLITE_OK);
    sqlite3_bind_int(ins, 1, n);  // the store's seq: testimonies are created in order
    sqlite3_bind_text(ins, 2, title.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 3, body.c_str(), -1, SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(ins), SQLITE_DONE);
    sqlite3_finalize(ins);
  }
  for (const char* text : {"strike", "police OR night", "Жанаозен square", "\"oil talk\"", "po*"}) {
    const std::string match = BuildMatchExpression(text);
    ASSERT_FALSE(match.empty());
    std::map<std::string, double> expected;
    sqlite3_stmt* q = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(one.get(),
                                 "SELECT rowid, bm25(f, 10.0, 1.0, 4.0) FROM f WHERE f MATCH ?1",
                                 -1, &q, nullptr),
              SQLITE_OK);
    sqlite3_bind_text(q, 1, match.c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(q) == SQLITE_ROW)
      expected[Id(static_cast<uint8_t>(sqlite3_column_int(q, 0)))] = sqlite3_column_double(q, 1);
    sqlite3_finalize(q);
    ASSERT_GT(expected.size(), 3u) << text;

    pb::SearchQuery sq;
    sq.set_text(text);
    sq.mutable_page()->set_limit(100);
    auto page = store_->Search(sq);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    ASSERT_EQ(static_cast<size_t>(page->hits_size()), expected.size()) << text;
    for (const auto& h : page->hits())
      EXPECT_NEAR(h.rank(), expected[h.testimony_id()], 1e-9) << text;
  }
}

// When only the matches above the cut are ranked, a word's statistics are those of that recent
// window (rank.h): the ranks equal bm25() of one FTS5 table holding exactly the window's rows.
// Every testimony has the same length, so the index-wide average length is the window's too.
TEST_F(SearchTest, WithACutRanksAreBm25OverTheRecentWindow) {
  store_.reset();
  StoreOptions options;
  options.max_ranked_candidates = 10;
  store_ = std::move(Store::Open(db_.get(), options)).value();
  DbHandle window = OpenPlainTestDb(":memory:");
  ASSERT_TRUE(RegisterTokenizer(window.get()).ok());
  ASSERT_EQ(sqlite3_exec(window.get(),
                         "CREATE VIRTUAL TABLE f USING fts5(title, body, extra, "
                         "tokenize='estelik')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  for (uint8_t n = 1; n <= 30; ++n) {
    std::string body;  // ten words: some exact forms, some inflected, some other words
    for (int i = 0; i < 10; ++i)
      body += i < n % 3 ? "Ақтау " : i < n % 3 + n % 4 + 1 ? "Ақтауға " : "хабар ";
    Add(n, "title", body);
    if (n <= 20) continue;  // the cut: only the 10 most recent matches are ranked
    sqlite3_stmt* ins = nullptr;
    ASSERT_EQ(
        sqlite3_prepare_v2(window.get(),
                           "INSERT INTO f(rowid, title, body, extra) VALUES(?1, 'title', ?2, '')",
                           -1, &ins, nullptr),
        SQLITE_OK);
    sqlite3_bind_int(ins, 1, n);
    sqlite3_bind_text(ins, 2, body.c_str(), -1, SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(ins), SQLITE_DONE);
    sqlite3_finalize(ins);
  }
  const std::string match = BuildMatchExpression("Ақтау");
  std::map<std::string, double> expected;
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(window.get(),
                               "SELECT rowid, bm25(f, 10.0, 1.0, 4.0) FROM f WHERE f MATCH ?1", -1,
                               &q, nullptr),
            SQLITE_OK);
  sqlite3_bind_text(q, 1, match.c_str(), -1, SQLITE_TRANSIENT);
  while (sqlite3_step(q) == SQLITE_ROW)
    expected[Id(static_cast<uint8_t>(sqlite3_column_int(q, 0)))] = sqlite3_column_double(q, 1);
  sqlite3_finalize(q);
  ASSERT_EQ(expected.size(), 10u);

  pb::SearchQuery sq;
  sq.set_text("Ақтау");
  sq.mutable_page()->set_limit(100);
  auto page = store_->Search(sq);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_TRUE(page->ranked_recent_only());
  ASSERT_EQ(page->hits_size(), 10);
  for (const auto& h : page->hits()) EXPECT_NEAR(h.rank(), expected.at(h.testimony_id()), 1e-9);
  // Exact forms first: the best hit holds "Ақтау" itself.
  EXPECT_NE(page->hits(0).body_snippet().find("\x02Ақтау\x03 "), std::string::npos)
      << page->hits(0).body_snippet();
}

TEST_F(SearchTest, PhrasePrefixAndBooleanOperatorsWork) {
  Add(1, "one", "the oil workers gathered in the square");
  Add(2, "two", "workers of the oil field");
  Add(3, "three", "the police arrived at the square");
  EXPECT_EQ(Ids("\"oil workers\""), (std::vector<std::string>{Id(1)}));
  EXPECT_EQ(Ids("squ*").size(), 2u);
  EXPECT_EQ(Ids("oil AND square"), (std::vector<std::string>{Id(1)}));
  EXPECT_EQ(Ids("oil square"), (std::vector<std::string>{Id(1)}));
  EXPECT_EQ(Ids("field OR police").size(), 2u);
  EXPECT_EQ(Ids("square NOT police"), (std::vector<std::string>{Id(1)}));
  EXPECT_EQ(Ids("square -police"), (std::vector<std::string>{Id(1)}));
  EXPECT_EQ(Ids("(field OR police) AND the").size(), 2u);
}

TEST_F(SearchTest, SnippetsHighlightTheOriginalText) {
  Add(1, "Жаңаөзен, 16 желтоқсан", "Біз Жаңаөзен алаңында тұрдық, содан кейін атыс басталды.");
  auto r = Find("Zhanaozen");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->hits_size(), 1);
  const auto& h = r->hits(0);
  EXPECT_EQ(h.title(), "Жаңаөзен, 16 желтоқсан");
  EXPECT_NE(h.title_snippet().find("\x02Жаңаөзен\x03"), std::string::npos) << h.title_snippet();
  EXPECT_NE(h.body_snippet().find("Біз \x02Жаңаөзен\x03 алаңында"), std::string::npos)
      << h.body_snippet();
  EXPECT_EQ(h.language(), "kk");
  EXPECT_EQ(r->highlight_open(), "\x02");
  EXPECT_EQ(r->highlight_close(), "\x03");
}

TEST_F(SearchTest, AnySpellingOfAPlaceFindsAllFour) {
  Add(1, "a", "Мы были в Жаңаөзен в декабре");
  Add(2, "b", "Мы были в Жанаозен в декабре", "ru");
  Add(3, "c", "We were in Zhanaozen in December", "en");
  Add(4, "d", "Biz Jañaözen qalasynda boldyq", "kk-Latn");
  Add(5, "e", "Ақтау туралы", "kk");
  for (const char* q : {"Жаңаөзен", "Жанаозен", "Zhanaozen", "Jañaözen"}) {
    auto ids = Ids(q);
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<std::string>{Id(1), Id(2), Id(3), Id(4)})) << q;
  }
}

TEST_F(SearchTest, FiltersCombineWithSearch) {
  Add(1, "strike", "x", "kk", "oil");
  Add(2, "strike", "x", "ru", "oil");
  Add(3, "strike", "x", "ru", "rally");
  pb::ListFilter f;
  f.add_languages("ru");
  auto ids = Ids("strike", f);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{Id(2), Id(3)}));
  f.add_tags("oil");
  EXPECT_EQ(Ids("strike", f), (std::vector<std::string>{Id(2)}));
}

TEST_F(SearchTest, WithdrawnTestimoniesVanishFromSearch) {
  Add(1, "strike", "first");
  Add(2, "strike", "second");
  ASSERT_TRUE(store_->Withdraw(Id(1), Author(1), Hlc(9000)).ok());
  EXPECT_EQ(Ids("strike"), (std::vector<std::string>{Id(2)}));
  EXPECT_TRUE(Ids("first").empty());
}

TEST_F(SearchTest, EditsReplaceTheSearchableText) {
  Add(1, "draft", "the old wording");
  ASSERT_TRUE(
      store_->EditTestimony(Id(1), Author(1), Hlc(5000), Fields("final", "new wording")).ok());
  EXPECT_TRUE(Ids("old").empty());
  EXPECT_EQ(Ids("new"), (std::vector<std::string>{Id(1)}));
}

TEST_F(SearchTest, PagingReturnsEveryHitOnce) {
  for (uint8_t n = 1; n <= 12; ++n)
    Add(n, std::string("strike ").append(std::to_string(n)), std::string(n, 'x') + " strike");
  std::set<std::string> seen;
  pb::SearchQuery q;
  q.set_text("strike");
  q.mutable_page()->set_limit(5);
  int pages = 0;
  while (true) {
    auto r = store_->Search(q);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const auto& h : r->hits()) EXPECT_TRUE(seen.insert(h.testimony_id()).second);
    ++pages;
    if (r->next_cursor().empty()) break;
    q.mutable_page()->set_cursor(r->next_cursor());
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 12u);
}

// Bounded cost: with a cap of 5, a word in 8 testimonies ranks only the 5 most recently
// stored, says so, and pages through exactly those; a selective query ranks all its matches.
TEST_F(SearchTest, AWordInMoreTestimoniesThanTheCapRanksTheMostRecentAndSaysSo) {
  store_.reset();
  StoreOptions options;
  options.max_ranked_candidates = 5;
  store_ = std::move(Store::Open(db_.get(), options)).value();
  for (uint8_t n = 1; n <= 8; ++n) {
    // Older testimonies mention the word more often: bm25 alone would rank them first.
    std::string body;
    for (int k = 0; k < 9 - n; ++k) body += "strike ";
    Add(n, "title", body + (n <= 2 ? "rare" : ""), "en");
  }
  pb::SearchQuery q;
  q.set_text("strike");
  q.mutable_page()->set_limit(3);
  std::set<std::string> seen;
  auto page = store_->Search(q);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_TRUE(page->ranked_recent_only());
  ASSERT_EQ(page->hits_size(), 3);
  EXPECT_EQ(page->hits(0).testimony_id(), Id(4)) << "best of the 5 most recent (4..8)";
  for (const auto& h : page->hits()) seen.insert(h.testimony_id());
  ASSERT_FALSE(page->next_cursor().empty());
  Add(9, "title", "strike strike strike strike strike strike strike strike strike", "en");
  q.mutable_page()->set_cursor(page->next_cursor());
  page = store_->Search(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->hits_size(), 2) << "later pages keep the first page's candidates";
  for (const auto& h : page->hits()) seen.insert(h.testimony_id());
  EXPECT_TRUE(page->next_cursor().empty());
  EXPECT_EQ(seen, (std::set<std::string>{Id(4), Id(5), Id(6), Id(7), Id(8)}));

  auto selective = Ids("strike rare");
  EXPECT_EQ(std::set<std::string>(selective.begin(), selective.end()),
            (std::set<std::string>{Id(1), Id(2)}))
      << "older than the cap, but the query is selective";
  EXPECT_FALSE(Find("strike rare")->ranked_recent_only());
  // The cap counts matches that pass the filters: a filter reaches older testimonies.
  Add(10, "title", "strike", "kk");
  pb::ListFilter kk;
  kk.add_languages("kk");
  EXPECT_EQ(Ids("strike", kk), (std::vector<std::string>{Id(10)}));
}

// Issue #13: a name is found whatever case ending it carries, in any of the four scripts.
TEST_F(SearchTest, InflectedNamesFindEachOtherAcrossScripts) {
  Add(1, "", "Біз Ақтауға хабар жібердік", "kk");
  Add(2, "", "Жаңаөзенде атыс болды", "kk");
  Add(3, "", "В Жанаозене стреляли", "ru");
  Add(4, "", "Задержали Есенова", "ru");
  Add(5, "", "Есеновтың қызы келді", "kk");
  Add(6, "", "Yesenov was detained", "en");
  Add(7, "", "Қаражанбаста қара көлік тұрды", "kk");
  using V = std::vector<std::string>;
  for (const char* q : {"Ақтау", "Aktau", "Aqtau", "Актау", "Ақтауда"})
    EXPECT_EQ(Ids(q), V{Id(1)}) << q;
  for (const char* q : {"Жаңаөзен", "Zhanaozen", "Жанаозен", "Jañaözen", "Жаңаөзеннің"}) {
    auto ids = Ids(q);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), (std::set<std::string>{Id(2), Id(3)}))
        << q;
  }
  for (const char* q : {"Есенов", "Есенова", "Есеновой", "Yesenov", "Yesenova", "Есеновтың"}) {
    auto ids = Ids(q);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()),
              (std::set<std::string>{Id(4), Id(5), Id(6)}))
        << q;
  }
  EXPECT_EQ(Ids("қара"), V{Id(7)});  // the word, not Қаражанбас's stem
  EXPECT_EQ(Ids("Қаражанбас"), V{Id(7)});
  EXPECT_TRUE(Ids("ақ").empty()) << "ақ is not the stem of Ақтау";
  EXPECT_TRUE(Ids("жол").empty());
}

// The exact form outranks a form that shares only the stem, even when the stem-only
// testimony repeats the word in a shorter text (which alone would win on bm25).
TEST_F(SearchTest, ExactFormRanksAboveInflectedForms) {
  Add(1, "", "Ақтауға, Ақтауға, Ақтауға барамыз");
  Add(2, "", "Біз көп жыл бойы Ақтау қаласында тұрдық, кейін ауылға көштік");
  Add(3, "", "Ақтаудан келдік");
  auto ids = Ids("Ақтау");
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], Id(2));
  ids = Ids("Aqtauğa");
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], Id(1));
}

TEST_F(SearchTest, PhrasesAndPrefixesWorkAcrossInflection) {
  Add(1, "", "Жаңаөзеннің алаңында мыңдаған адам тұрды");
  Add(2, "", "Жаңаөзенде атыс болды, ал алаңда ешкім қалмады");
  using V = std::vector<std::string>;
  EXPECT_EQ(Ids("\"Жаңаөзен алаңы\""), V{Id(1)});
  EXPECT_EQ(Ids("\"Jañaözen alañy\""), V{Id(1)});
  EXPECT_EQ(Ids("\"Zhanaozen ala\"*"), V{Id(1)});
  EXPECT_EQ(Ids("Жаңаөзен -алаңы"), V{}) << "excluding a word excludes every form of it";
  EXPECT_EQ(Ids("Жаңаөзен").size(), 2u);
}

TEST_F(SearchTest, SnippetsHighlightTheInflectedWordAsWritten) {
  Add(1, "Ақтауға хат", "Біз Ақтауға хабар жібердік.");
  auto page = Find("Aktau");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->hits_size(), 1);
  const std::string open = kHighlightOpen, close = kHighlightClose;
  EXPECT_NE(page->hits(0).body_snippet().find(open + "Ақтауға" + close), std::string::npos)
      << page->hits(0).body_snippet();
  EXPECT_NE(page->hits(0).title_snippet().find(open + "Ақтауға" + close), std::string::npos)
      << page->hits(0).title_snippet();
}

TEST_F(SearchTest, AnyTextIsValidNothingToLookForGivesAnEmptyPage) {
  Add(1, "strike", "x");
  for (const char* q :
       {"", "   ", "NOT strike", "-strike", "***", "*", "-", "\"", "\"\"", ")(", "!@#$%"}) {
    auto r = Find(q);
    ASSERT_TRUE(r.ok()) << q << ": " << r.status().ToString();
    EXPECT_EQ(r->hits_size(), 0) << q;
    EXPECT_EQ(r->highlight_open(), kHighlightOpen) << q;
  }
  // Operators alone are searched as the words they are.
  Add(2, "and or not", "words");
  EXPECT_EQ(Ids("AND OR NOT"), (std::vector<std::string>{Id(2)}));
  // Too long, too many words, too deep: cut, still a search.
  std::string repeated;
  while (repeated.size() < 6000) repeated += "strike ";
  EXPECT_EQ(Ids(repeated), (std::vector<std::string>{Id(1)}));
  EXPECT_EQ(Ids(std::string(40, '(') + "strike"), (std::vector<std::string>{Id(1)}));
}

}  // namespace
}  // namespace estelik::store
