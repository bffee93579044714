// Search snippets are computed from the stored text (core/store/snippet.h) instead of FTS5's
// snippet(), which re-runs the query against the index for every hit. They must be what
// snippet() gives: these tests compare both on generated testimonies and on hand-picked cases.
#include "core/store/snippet.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

#include "core/store/query.h"
#include "core/store/tokenizer.h"
#include "tests/support/corpus.h"
#include "tests/unit/store/store_test_util.h"

namespace estelik::store {
namespace {

using namespace estelik::store::testing;  // NOLINT

class SnippetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = OpenPlainTestDb(":memory:");
    ASSERT_TRUE(RegisterTokenizer(db_.get()).ok());
    ASSERT_EQ(Exec("CREATE VIRTUAL TABLE f USING fts5(title, body, tokenize='estelik')"),
              SQLITE_OK);
  }
  int Exec(const std::string& sql) {
    return sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr);
  }
  void Insert(int64_t rowid, const std::string& title, const std::string& body) {
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_.get(), "INSERT INTO f(rowid, title, body) VALUES(?1,?2,?3)",
                                 -1, &s, nullptr),
              SQLITE_OK);
    sqlite3_bind_int64(s, 1, rowid);
    sqlite3_bind_text(s, 2, title.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, body.c_str(), -1, SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
  }
  // For every row `text` matches: FTS5's snippet() of title (12 tokens) and body (24 tokens)
  // against SnippetQuery's. Returns the number of rows compared.
  int Compare(const std::string& text) {
    const std::string match = BuildMatchExpression(text);
    EXPECT_FALSE(match.empty()) << text;
    const SnippetQuery query(match);
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_.get(),
                                 "SELECT title, body, snippet(f, 0, '\x02', '\x03', '…', 12), "
                                 "snippet(f, 1, '\x02', '\x03', '…', 24) FROM f WHERE f MATCH ?1",
                                 -1, &s, nullptr),
              SQLITE_OK);
    sqlite3_bind_text(s, 1, match.c_str(), -1, SQLITE_TRANSIENT);
    int rows = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
      auto col = [&](int i) {
        return std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, i)));
      };
      EXPECT_EQ(query.Snippet(col(0), 12, "\x02", "\x03", "…"), col(2)) << text;
      EXPECT_EQ(query.Snippet(col(1), 24, "\x02", "\x03", "…"), col(3)) << text;
      ++rows;
    }
    sqlite3_finalize(s);
    return rows;
  }
  DbHandle db_;
};

TEST_F(SnippetTest, SameAsFts5SnippetOnGeneratedTestimonies) {
  const auto corpus = estelik::testing::GenerateCorpus(7, 300);
  for (size_t i = 0; i < corpus.size(); ++i)
    Insert(static_cast<int64_t>(i + 1), corpus[i].title, corpus[i].body);
  int rows = 0;
  for (const char* text :
       {"Zhanaozen", "Жаңаөзенде", "Жанаозен алаңы", "\"oil workers\"", "Aqtau OR Актау", "police",
        "Жана*", "strike -police", "Sadykov", "Садыковой", "Roza", "Ақтауға хабар", "Мангистау",
        "Kazakhstan's", "Шетпе", "ereuil*", "square NOT night", "the"})
    rows += Compare(text);
  EXPECT_GT(rows, 1000);  // enough windows of every kind were compared
}

TEST_F(SnippetTest, SameAsFts5SnippetAtSentencesShortColumnsAndEdges) {
  Insert(1, "Жаңаөзен", "Біз Жаңаөзеннің алаңында тұрдық.");
  Insert(2, "", "...");
  Insert(3, "A long title: with a sentence. Then Zhanaozen again and again and again here",
         std::string(60, 'x') +
             " one two. Three four: Zhanaozen five six seven eight nine ten "
             "eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty "
             "Zhanaozen twenty-one. Zhanaozen");
  Insert(4, "oil oil oil", "oil workers oil workers the oil workers gathered");
  for (const char* text : {"Жаңаөзен", "Zhanaozen", "\"oil workers\"", "oil", "x*"}) Compare(text);
}

}  // namespace
}  // namespace estelik::store
