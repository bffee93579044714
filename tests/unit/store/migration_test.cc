#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/store/fold.h"
#include "core/store/rank.h"
#include "core/store/schema.h"
#include "core/store/store.h"
#include "core/store/tokenizer.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/store/schema_v1_fixture.h"
#include "tests/unit/store/store_test_util.h"

namespace estelik::store {
namespace {

using namespace estelik::store::testing;             // NOLINT
using namespace estelik::store::testing::v1fixture;  // NOLINT
using estelik::testing::TempDir;

const std::string kFixture = std::string(ESTELIK_SOURCE_DIR) + "/tests/fixtures/store/schema_v1.db";

void Run(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << (err ? err : "?");
    sqlite3_free(err);
  }
}

// The fixture is a plain SQLite file (schema 1 predates the encrypting VFS). It is copied row
// by row, FTS5 shadow tables included, into an encrypted vault, so the migration runs on the
// real encrypted store with exactly the fixture's records and index.
void CopyFixtureIntoVault(sqlite3* vault_db) {
  ASSERT_TRUE(RegisterTokenizer(vault_db).ok());
  std::string plain_vfs = sqlite3_vfs_find(nullptr)->zName;
  Run(vault_db, "ATTACH 'file:" + kFixture + "?vfs=" + plain_vfs + "&mode=ro' AS v1");
  std::vector<std::string> tables;
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(vault_db,
                               "SELECT type, name, sql FROM v1.sqlite_master WHERE sql NOT NULL "
                               "AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
                               -1, &s, nullptr),
            SQLITE_OK);
  std::vector<std::string> creates;
  while (sqlite3_step(s) == SQLITE_ROW) {
    std::string type = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    std::string name = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
    std::string sql = reinterpret_cast<const char*>(sqlite3_column_text(s, 2));
    bool shadow = name.rfind("testimony_fts_", 0) == 0;  // created by CREATE VIRTUAL TABLE
    if (!shadow) creates.push_back(sql);
    if (type == "table" && sql.rfind("CREATE VIRTUAL", 0) != 0) tables.push_back(name);
  }
  sqlite3_finalize(s);
  Run(vault_db, "BEGIN");
  for (const auto& sql : creates) Run(vault_db, sql);
  for (const auto& t : tables)
    Run(vault_db, "DELETE FROM main." + t + "; INSERT INTO main." + t + " SELECT * FROM v1." + t);
  Run(vault_db, "PRAGMA user_version = 1");
  Run(vault_db, "COMMIT");
  Run(vault_db, "DETACH v1");
}

class MigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = OpenTestDb(dir_.File("store.db"));
    CopyFixtureIntoVault(db_.get());
  }
  TempDir dir_;
  DbHandle db_;
};

TEST_F(MigrationTest, FixtureIsAtSchemaVersionOne) {
  auto v = SchemaVersion(db_.get());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 1);
}

TEST_F(MigrationTest, VersionOneVaultUpgradesWithEveryRecordIntact) {
  auto opened = Store::Open(db_.get());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Store& store = **opened;
  EXPECT_EQ(*SchemaVersion(db_.get()), kSchemaVersion);

  auto t1 = store.Get(Id(1));
  ASSERT_TRUE(t1.ok()) << t1.status().ToString();
  EXPECT_EQ(t1->current_version(), 2u);
  EXPECT_EQ(t1->fields().SerializeAsString(), T1V2().SerializeAsString());
  auto h1 = store.History(Id(1));
  ASSERT_EQ(h1->versions_size(), 2);
  EXPECT_EQ(h1->versions(0).fields().SerializeAsString(), T1V1().SerializeAsString());

  auto t3 = store.Get(Id(3));
  ASSERT_TRUE(t3.ok());
  EXPECT_TRUE(t3->withdrawn());
  EXPECT_EQ(t3->tombstone_hash().size(), kHashSize);

  auto t2 = store.Get(Id(2));
  ASSERT_EQ(t2->attachments_size(), 1);
  auto reader = store.OpenAttachment(AttachmentId());
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_TRUE((*reader)->Verify().ok());
  std::vector<uint8_t> all;
  for (uint64_t i = 0; i < (*reader)->info().chunk_count(); ++i) {
    auto c = (*reader)->ReadChunk(i);
    ASSERT_TRUE(c.ok());
    all.insert(all.end(), c->begin(), c->end());
  }
  EXPECT_EQ(all, T2AttachmentData());
}

TEST_F(MigrationTest, UpgradedVaultFiltersOnTheBackfilledColumnsAndSearches) {
  auto opened = Store::Open(db_.get());
  ASSERT_TRUE(opened.ok());
  Store& store = **opened;
  auto ids = [&](const pb::ListFilter& f) {
    std::vector<std::string> out;
    auto page = store.List(f, {});
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& t : page->testimonies()) out.push_back(t.id());
    return out;
  };
  pb::ListFilter f;
  f.add_languages("ru");
  EXPECT_EQ(ids(f), (std::vector<std::string>{Id(2)}));
  f.Clear();
  f.add_scopes(pb::CONSENT_SCOPE_CIRCLE);
  EXPECT_EQ(ids(f), (std::vector<std::string>{Id(1)}));
  f.Clear();
  f.mutable_event_dates()->set_from("2022-01-10");
  EXPECT_EQ(ids(f), (std::vector<std::string>{Id(2)}));
  f.Clear();
  f.add_places("Жаңаөзен");
  EXPECT_EQ(ids(f), (std::vector<std::string>{Id(1)}));

  pb::SearchQuery q;
  q.set_text("Zhanaozen");
  auto hits = store.Search(q);
  ASSERT_TRUE(hits.ok()) << hits.status().ToString();
  ASSERT_EQ(hits->hits_size(), 1);
  EXPECT_EQ(hits->hits(0).testimony_id(), Id(1));
  q.set_text("Aktau");
  EXPECT_EQ(store.Search(q)->hits_size(), 1);
}

TEST_F(MigrationTest, VersionTwoVaultUpgradesRecordingTheFoldVersionItsIndexWasBuiltWith) {
  ASSERT_TRUE(Migrate(db_.get(), 2).ok());
  EXPECT_EQ(*SchemaVersion(db_.get()), 2);
  auto opened = Store::Open(db_.get());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*SchemaVersion(db_.get()), kSchemaVersion);
  EXPECT_EQ(*IndexedFoldVersion(db_.get()), kFoldVersion);
  pb::SearchQuery q;
  q.set_text("Жанаозен");
  auto hits = (*opened)->Search(q);
  ASSERT_TRUE(hits.ok()) << hits.status().ToString();
  ASSERT_EQ(hits->hits_size(), 1);
  EXPECT_EQ(hits->hits(0).testimony_id(), Id(1));
}

// Schema 4 moved the full-text index into sharded tables with prefix indexes: a vault written
// by schema 1, 2 or 3 upgrades with every live record findable by a whole word and by a
// prefix, in title, body and places, and the withdrawn one by nothing.
class MigrationFromVersionTest : public MigrationTest, public ::testing::WithParamInterface<int> {};

TEST_P(MigrationFromVersionTest, EveryRecordIsFindableByWordAndPrefixAfterTheUpgrade) {
  ASSERT_TRUE(Migrate(db_.get(), GetParam()).ok());
  ASSERT_EQ(*SchemaVersion(db_.get()), GetParam());
  auto opened = Store::Open(db_.get());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*SchemaVersion(db_.get()), kSchemaVersion);
  auto found = [&](const std::string& text) {
    pb::SearchQuery q;
    q.set_text(text);
    auto page = (*opened)->Search(q);
    EXPECT_TRUE(page.ok()) << text << ": " << page.status().ToString();
    std::vector<std::string> ids;
    if (page.ok())
      for (const auto& h : page->hits()) ids.push_back(h.testimony_id());
    return ids;
  };
  const std::vector<std::string> t1 = {Id(1)}, t2 = {Id(2)}, none = {};
  for (const char* text :
       {"желтоқсан", "желт*", "же*", "атыс", "ат*", "Роза", "strike", "str*", "Zhanaozen", "Zhan*"})
    EXPECT_EQ(found(text), t1) << text;
  for (const char* text : {"январь", "янв*", "акимата", "аким*", "arrest", "arr*", "Aktau", "Ak*"})
    EXPECT_EQ(found(text), t2) << text;
  for (const char* text : {"withdrawn", "withd*", "wi*"}) EXPECT_EQ(found(text), none) << text;
  // The old single table is gone; every shard is there.
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db_.get(),
                               "SELECT count(*) FROM sqlite_master WHERE name = 'testimony_fts' OR "
                               "(name LIKE 'testimony_fts_s%' AND sql LIKE 'CREATE VIRTUAL%' AND "
                               "sql LIKE '%prefix=''2 3''%')",
                               -1, &s, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(s, 0), kFtsShards);
  sqlite3_finalize(s);
}

INSTANTIATE_TEST_SUITE_P(SchemaVersions, MigrationFromVersionTest, ::testing::Values(1, 2, 3),
                         [](const auto& info) { return "V" + std::to_string(info.param); });

// The strongest "intact" check: the upgraded fixture has the same StateHash as a fresh store
// given the same records through today's API.
TEST_F(MigrationTest, UpgradedVaultHasTheStateHashOfTheSameRecordsWrittenToday) {
  auto upgraded = Store::Open(db_.get());
  ASSERT_TRUE(upgraded.ok());

  TempDir fresh_dir;
  DbHandle fresh_db = OpenTestDb(fresh_dir.File("store.db"));
  auto fresh = Store::Open(fresh_db.get());
  ASSERT_TRUE(fresh.ok());
  Store& s = **fresh;
  ASSERT_TRUE(s.CreateTestimony(Testimony(1, T1V1()), Key(1)).ok());
  ASSERT_TRUE(s.EditTestimony(Id(1), Author(1), Hlc(kT1EditWall), T1V2()).ok());
  ASSERT_TRUE(s.CreateTestimony(Testimony(2, T2()), Key(2)).ok());
  auto w = s.BeginAttachment(T2AttachmentMeta());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append(T2AttachmentData()).ok());
  ASSERT_TRUE((*w)->Finish().ok());
  ASSERT_TRUE(s.CreateTestimony(Testimony(3, T3()), Key(3)).ok());
  ASSERT_TRUE(s.Withdraw(Id(3), Author(1), Hlc(kT3WithdrawWall)).ok());

  EXPECT_EQ(*(*upgraded)->StateHash(), *s.StateHash());
}

// A copy of tests/fixtures/store/<name> (written by tests/tools/store_make_fold_fixture.cc at
// an older fold version) in `dir`, opened without a Store.
DbHandle OpenFixtureCopy(const TempDir& dir, const std::string& name) {
  const std::string path = dir.File("store.db");
  std::filesystem::copy_file(std::string(ESTELIK_SOURCE_DIR) + "/tests/fixtures/store/" + name,
                             path);
  return OpenPlainTestDb(path);
}

// Rows of the index that match `match` in raw FTS5 (no Store).
int RawMatches(sqlite3* db, const std::string& match) {
  int rows = 0;
  for (int k = 0; k < kFtsShards; ++k) {
    sqlite3_stmt* s = nullptr;
    const std::string sql =
        "SELECT count(*) FROM " + FtsShardName(k) + " WHERE " + FtsShardName(k) + " MATCH ?1";
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK);
    sqlite3_bind_text(s, 1, match.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) == SQLITE_ROW) rows += sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
  }
  return rows;
}

std::set<std::string> Found(Store& store, const std::string& text) {
  pb::SearchQuery q;
  q.set_text(text);
  auto page = store.Search(q);
  EXPECT_TRUE(page.ok()) << text << ": " << page.status().ToString();
  std::set<std::string> ids;
  if (page.ok())
    for (const auto& h : page->hits()) ids.insert(h.testimony_id());
  return ids;
}

using S = std::set<std::string>;

// fold_v1.db: fold version 1 (no stems). Opening it after the fold bump rebuilds the index, and
// then inflected names are found by any form, which the old index could not do.
TEST(FoldUpgradeTest, StoreIndexedByFoldVersionOneIsReindexedAndFindsInflectedForms) {
  TempDir dir;
  DbHandle db = OpenFixtureCopy(dir, "fold_v1.db");
  ASSERT_EQ(*IndexedFoldVersion(db.get()), 1);
  ASSERT_TRUE(RegisterTokenizer(db.get()).ok());
  EXPECT_EQ(RawMatches(db.get(), "\"Ақтау\""), 0) << "the version 1 index has no stems";

  auto opened = Store::Open(db.get());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*IndexedFoldVersion(db.get()), kFoldVersion);
  EXPECT_EQ(RawMatches(db.get(), "\"Ақтау\""), 1);
  Store& store = **opened;
  for (const char* q : {"Ақтау", "Aktau", "Aqtau"}) EXPECT_EQ(Found(store, q), S{Id(1)}) << q;
  for (const char* q : {"Жаңаөзен", "Zhanaozen", "Жанаозен"})
    EXPECT_EQ(Found(store, q), S{Id(2)}) << q;
  for (const char* q : {"Есенов", "Yesenova", "Есеновтың"})
    EXPECT_EQ(Found(store, q), (S{Id(2), Id(3)})) << q;
  EXPECT_EQ(Found(store, "Шетпеде"), S{Id(3)});
}

// fold_v2.db: fold version 2 (stems, but -ьев and -yev apart). After the bump to 3 the index is
// rebuilt and every spelling of Васильев meets.
TEST(FoldUpgradeTest, StoreIndexedByFoldVersionTwoIsReindexedAndVasilyevFindsVasilyev) {
  TempDir dir;
  DbHandle db = OpenFixtureCopy(dir, "fold_v2.db");
  ASSERT_EQ(*IndexedFoldVersion(db.get()), 2);
  ASSERT_TRUE(RegisterTokenizer(db.get()).ok());
  EXPECT_EQ(RawMatches(db.get(), "\"Vasilyev\""), 1) << "version 2 indexed Vasiliev apart";

  auto opened = Store::Open(db.get());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*IndexedFoldVersion(db.get()), kFoldVersion);
  Store& store = **opened;
  for (const char* q : {"Vasilyev", "Vasiliev", "Васильев", "Vasil'ev", "Vasilyeva", "Васильеву"})
    EXPECT_EQ(Found(store, q), (S{Id(4), Id(5)})) << q;
  EXPECT_EQ(Found(store, "Aqtau"), S{Id(1)}) << "what version 2 found is still found";
}

}  // namespace
}  // namespace estelik::store
