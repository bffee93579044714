// The "estelik" FTS5 tokenizer on a real SQLite FTS5 table: a search in any script finds the
// testimonies written in the others, and snippets show what the author wrote.
#include "core/store/tokenizer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "core/store/fold.h"
#include "tests/support/temp_dir.h"

namespace estelik::store {

// Readable failure messages for token lists.
void PrintTo(const SearchToken& t, std::ostream* os) {
  *os << "{\"" << t.key << "\", " << t.start << ", " << t.end << ", \"" << t.stem << "\"}";
}

namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

Db Open(const std::string& path = ":memory:") {
  sqlite3* raw = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  return Db(raw);
}

int Exec(sqlite3* db, const std::string& sql) {
  return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
}

Stmt Prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  return Stmt(raw);
}

// A database with the tokenizer registered and an FTS5 table docs(body).
class TokenizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = Open();
    ASSERT_TRUE(RegisterTokenizer(db_.get()).ok());
    ASSERT_EQ(Exec(db_.get(), "CREATE VIRTUAL TABLE docs USING fts5(body, tokenize='estelik')"),
              SQLITE_OK)
        << sqlite3_errmsg(db_.get());
  }

  int64_t Insert(std::string_view body) {
    Stmt s = Prepare(db_.get(), "INSERT INTO docs(body) VALUES (?1)");
    sqlite3_bind_blob(s.get(), 1, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(s.get()), SQLITE_DONE) << sqlite3_errmsg(db_.get());
    return sqlite3_last_insert_rowid(db_.get());
  }

  // Rowids matching an FTS5 query; `ok` is false if SQLite rejected the query.
  std::set<int64_t> Match(const std::string& query, bool* ok = nullptr) {
    Stmt s = Prepare(db_.get(), "SELECT rowid FROM docs WHERE docs MATCH ?1");
    sqlite3_bind_text(s.get(), 1, query.c_str(), -1, SQLITE_TRANSIENT);
    std::set<int64_t> rows;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW)
      rows.insert(sqlite3_column_int64(s.get(), 0));
    if (ok != nullptr) *ok = rc == SQLITE_DONE;
    return rows;
  }

  std::string Snippet(const std::string& query) {
    Stmt s = Prepare(db_.get(),
                     "SELECT snippet(docs, 0, '[', ']', '...', 6) FROM docs WHERE docs MATCH ?1");
    sqlite3_bind_text(s.get(), 1, query.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return "<no row>";
    return reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
  }

  Db db_;
};

TEST(TokenizerRegistrationTest, TablesUsingTheTokenizerNeedItRegistered) {
  Db without = Open();
  EXPECT_NE(Exec(without.get(), "CREATE VIRTUAL TABLE t USING fts5(x, tokenize='estelik')"),
            SQLITE_OK);
  Db with = Open();
  ASSERT_TRUE(RegisterTokenizer(with.get()).ok());
  EXPECT_EQ(Exec(with.get(), std::string("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='") +
                                 kTokenizerName + "')"),
            SQLITE_OK);
}

TEST(TokenizerRegistrationTest, UnknownTokenizerOptionsAreRejected) {
  Db db = Open();
  ASSERT_TRUE(RegisterTokenizer(db.get()).ok());
  EXPECT_NE(Exec(db.get(), "CREATE VIRTUAL TABLE t USING fts5(x, tokenize='estelik ascii')"),
            SQLITE_OK);
}

TEST(TokenizerRegistrationTest, NullConnectionIsAnError) {
  EXPECT_EQ(RegisterTokenizer(nullptr).code(), Code::kInvalidArgument);
}

TEST_F(TokenizerTest, EverySpellingFindsAllTestimoniesOfItsGroup) {
  const std::vector<std::vector<std::string>> groups = {
      {"Жаңаөзен", "Жанаозен", "Zhanaozen", "Janaozen", "Jañaözen"},
      {"Ақтау", "Актау", "Aktau", "Aqtau"},
      {"Маңғыстау", "Мангистау", "Mangystau", "Mañğystau"},
      {"Қазақстан", "Казахстан", "Kazakhstan", "Qazaqstan"},
      {"Теңіз", "Тенгиз", "Teñiz", "Tengiz"},
      {"Қаражанбас", "Каражанбас", "Karazhanbas"},
  };
  std::vector<std::set<int64_t>> expected(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    for (const std::string& spelling : groups[g]) {
      expected[g].insert(Insert("Мен сол жылы " + spelling + ", then home."));
    }
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    for (const std::string& spelling : groups[g]) {
      EXPECT_EQ(Match(spelling), expected[g]) << spelling;
      EXPECT_EQ(Match("\"" + spelling + "\""), expected[g]) << spelling;
    }
  }
}

TEST_F(TokenizerTest, PhraseQueriesMatchAcrossScriptsAndKeepWordOrder) {
  const int64_t en = Insert("We stood on the square in Zhanaozen until noon.");
  const int64_t kk = Insert("Біз Жаңаөзен алаңында тұрдық.");
  Insert("Zhanaozen: the square was empty in.");
  EXPECT_EQ(Match("\"square in Janaozen\""), (std::set<int64_t>{en}));
  EXPECT_EQ(Match("\"Jañaözen alañynda\""), (std::set<int64_t>{kk}));
  EXPECT_EQ(Match("\"Janaozen square in\""), (std::set<int64_t>{}));
}

TEST_F(TokenizerTest, PrefixQueriesMatchTheFoldedPrefixInEveryScript) {
  const int64_t kk = Insert("Жаңаөзен қаласы");
  const int64_t ru = Insert("в Жанаозене было холодно");  // inflected: found by its stem
  const int64_t en = Insert("Zhanaozen square");
  const int64_t kkl = Insert("Jañaözen alañy");
  Insert("Жанат and Zhanna");
  const std::set<int64_t> all = {kk, ru, en, kkl};
  EXPECT_EQ(Match("Жанаоз*"), all);
  EXPECT_EQ(Match("Zhanaoz*"), all);
  EXPECT_EQ(Match("Jañaö*"), all);
  EXPECT_EQ(Match("Жанаозен"), all);

  const int64_t tengiz = Insert("работал на Тенгизе");
  const int64_t teniz = Insert("Teñizde jūmys ıstedı");
  EXPECT_EQ(Match("Тенг*"), (std::set<int64_t>{tengiz, teniz}));
  EXPECT_EQ(Match("Teng*"), (std::set<int64_t>{tengiz, teniz}));
}

TEST_F(TokenizerTest, SnippetHighlightsWhatTheAuthorWrote) {
  Insert("Мамырдың аяғынан желтоқсанға дейін мен Жаңаөзен алаңына күнде дерлік бардым.");
  EXPECT_NE(Snippet("Zhanaozen").find("[Жаңаөзен]"), std::string::npos) << Snippet("Zhanaozen");
  Insert("2011 jyly mamyrda Aqtau mañyndağy jūmysşylar aştyq jariialady.");
  EXPECT_NE(Snippet("Ақтау").find("[Aqtau]"), std::string::npos) << Snippet("Ақтау");
  EXPECT_NE(Snippet("Aqta*").find("[Aqtau]"), std::string::npos);
}

TEST_F(TokenizerTest, InvalidUtf8NeverCrashesAndTheValidWordsStaySearchable) {
  const int64_t id = Insert("Ak\xFF\xFEtau \xD0 Жаңа\xE2\x82өзен \xF0\x9F Atyrau \xC0\xAF end");
  EXPECT_EQ(Match("Atyrau"), (std::set<int64_t>{id}));
  EXPECT_EQ(Match("end"), (std::set<int64_t>{id}));
  // Deterministic junk: every row inserts and every query runs without incident.
  uint64_t x = 0x243F6A8885A308D3ull;
  for (int row = 0; row < 200; ++row) {
    std::string junk;
    for (int i = 0; i < 64; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      junk += static_cast<char>(x & 0xFF);
    }
    Insert(junk);
    bool ok = false;
    std::string quoted = "\"";
    for (char c : junk.substr(0, 16)) {
      if (c != '"' && c != '\0') quoted += c;
    }
    Match(quoted + "\"", &ok);
    EXPECT_TRUE(ok) << sqlite3_errmsg(db_.get());
  }
  EXPECT_EQ(Match("Atyrau"), (std::set<int64_t>{id}));
}

TEST_F(TokenizerTest, HugeDocumentsAreIndexedToTheEnd) {
  std::string body;
  for (int i = 0; i < 200000; ++i) body += "площадь ";
  body += std::string(100000, 'x');  // one enormous token
  body += " Karazhanbas";
  const int64_t id = Insert(body);
  EXPECT_EQ(Match("Қаражанбас"), (std::set<int64_t>{id}));
}

TEST_F(TokenizerTest, IndexSurvivesReopeningTheDatabaseFile) {
  estelik::testing::TempDir dir;
  const std::string path = dir.File("search.db");
  {
    Db db = Open(path);
    ASSERT_TRUE(RegisterTokenizer(db.get()).ok());
    ASSERT_EQ(Exec(db.get(),
                   "CREATE VIRTUAL TABLE t USING fts5(body, tokenize='estelik');"
                   "INSERT INTO t VALUES ('Mañğystau oblysy')"),
              SQLITE_OK);
  }
  Db db = Open(path);
  ASSERT_TRUE(RegisterTokenizer(db.get()).ok());
  Stmt s = Prepare(db.get(), "SELECT count(*) FROM t WHERE t MATCH 'Мангистау'");
  ASSERT_EQ(sqlite3_step(s.get()), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(s.get(), 0), 1);
}

TEST(TokenizeForSearchTest, TokensCarryFoldedKeysAndOriginalByteOffsets) {
  const std::vector<SearchToken> tokens = TokenizeForSearch("Жаңаөзен, Aqtau—2011!");
  const std::vector<SearchToken> expected = {
      {"janaozen", 0, 16, ""}, {"aktau", 18, 23, ""}, {"2011", 26, 30, ""}};
  EXPECT_EQ(tokens, expected);
}

TEST(TokenizeForSearchTest, ApostrophesJoinLettersButNeverStartOrEndAWord) {
  const std::vector<SearchToken> tokens = TokenizeForSearch("'quoted' don't Jan’aozen ’ s'");
  const std::vector<SearchToken> expected = {
      {"kuoted", 1, 7, ""}, {"dont", 9, 14, ""}, {"janaozen", 15, 26, ""}, {"s", 31, 32, ""}};
  EXPECT_EQ(tokens, expected);
}

TEST(TokenizeForSearchTest, PunctuationSymbolsAndEmojiSeparateWords) {
  const std::vector<SearchToken> tokens = TokenizeForSearch(
      "a«b»c\xC2\xA0"
      "d\xE2\x80\x94"
      "e\xF0\x9F\x98\x80"
      "f");
  ASSERT_EQ(tokens.size(), 6u);
  EXPECT_EQ(tokens[5].key, "f");
}

TEST(TokenizeForSearchTest, SoftHyphenAndCombiningMarksStayInsideTheWord) {
  const std::vector<SearchToken> tokens = TokenizeForSearch("Жаңа\xC2\xADөзен Ақта\xCC\x81у");
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].key, "janaozen");
  EXPECT_EQ(tokens[1].key, "aktau");
}

}  // namespace
}  // namespace estelik::store
