#include <gtest/gtest.h>

#include <filesystem>

#include "core/store/schema.h"
#include "core/store/store.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/store/schema_v1_fixture.h"
#include "tests/unit/store/store_test_util.h"

namespace estelik::store {
namespace {

using namespace estelik::store::testing;             // NOLINT
using namespace estelik::store::testing::v1fixture;  // NOLINT
using estelik::testing::TempDir;

const std::string kFixture = std::string(ESTELIK_SOURCE_DIR) + "/tests/fixtures/store/schema_v1.db";

class MigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::copy_file(kFixture, dir_.File("store.db"));
    db_ = OpenTestDb(dir_.File("store.db"));
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

}  // namespace
}  // namespace estelik::store
