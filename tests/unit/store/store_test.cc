#include "core/store/store.h"

#include <gtest/gtest.h>

#include "core/store/fold.h"
#include "core/store/rank.h"
#include "core/store/schema.h"
#include "core/store/tokenizer.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/store/store_fixture.h"
#include "tests/unit/store/store_test_util.h"

namespace estelik::store {
namespace {

using namespace estelik::store::testing;  // NOLINT
using estelik::testing::TempDir;

using StoreTest = StoreFixture;

TEST_F(StoreTest, NewVaultIsAtTheCurrentSchemaVersion) {
  auto v = SchemaVersion(db_.get());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, kSchemaVersion);
}

TEST_F(StoreTest, CreatedTestimonyReadsBackWithEveryField) {
  pb::TestimonyFields f = Fields("Жаңаөзен 2011", "Біз алаңда тұрдық.");
  f.add_tags("strike");
  f.add_places("Жаңаөзен");
  f.add_people("Rozа");
  f.mutable_event_dates()->set_from("2011-12-16");
  f.mutable_event_dates()->set_to("2011-12-17");
  (*f.mutable_capture_metadata())["device"] = "phone";
  ASSERT_TRUE(store_->CreateTestimony(Testimony(1, f), Key(1)).ok());
  auto t = store_->Get(Id(1));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->id(), Id(1));
  EXPECT_EQ(t->author(), Author(1));
  EXPECT_EQ(t->current_version(), 1u);
  EXPECT_EQ(t->recorded_unix_ms(), 501u);
  EXPECT_FALSE(t->withdrawn());
  EXPECT_EQ(t->fields().SerializeAsString(), f.SerializeAsString());
}

TEST_F(StoreTest, DuplicateIdIsRejected) {
  ASSERT_TRUE(store_->CreateTestimony(Testimony(1, Fields("a", "b")), Key(1)).ok());
  EXPECT_EQ(store_->CreateTestimony(Testimony(1, Fields("c", "d")), Key(1)).code(),
            Code::kAlreadyExists);
  EXPECT_EQ(store_->Get(Id(1))->fields().title(), "a");
}

TEST_F(StoreTest, MalformedInputIsRejectedWithoutChangingState) {
  auto before = store_->StateHash();
  NewTestimony bad = Testimony(1, Fields("t", "b"));
  bad.id = "short";
  EXPECT_EQ(store_->CreateTestimony(bad, Key(1)).code(), Code::kInvalidArgument);
  bad = Testimony(1, Fields("t", "b"));
  bad.fields.mutable_event_dates()->set_from("16.12.2011");
  EXPECT_EQ(store_->CreateTestimony(bad, Key(1)).code(), Code::kInvalidArgument);
  bad = Testimony(1, Fields("t", "b"));
  bad.fields.set_title(std::string("\xff\xfe", 2));
  EXPECT_EQ(store_->CreateTestimony(bad, Key(1)).code(), Code::kInvalidArgument);
  bad = Testimony(1, Fields("t", "b"));
  bad.fields.mutable_event_dates()->set_from("2012");
  bad.fields.mutable_event_dates()->set_to("2011");
  EXPECT_EQ(store_->CreateTestimony(bad, Key(1)).code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->CreateTestimony(Testimony(1, Fields("t", "b")), crypto::SecretBytes(3)).code(),
            Code::kInvalidArgument);
  bad = Testimony(1, Fields("t", std::string(kMaxFieldsBytes + 1, 'x')));
  EXPECT_EQ(store_->CreateTestimony(bad, Key(1)).code(), Code::kLimitExceeded);
  EXPECT_EQ(store_->Get(Id(1)).status().code(), Code::kNotFound);
  EXPECT_EQ(*store_->StateHash(), *before);
}

TEST_F(StoreTest, EditKeepsTheOriginalAndEveryVersionInHistory) {
  ASSERT_TRUE(
      store_->CreateTestimony(Testimony(1, Fields("v1 title", "what I said first")), Key(1)).ok());
  auto v2 = store_->EditTestimony(Id(1), Author(1), Hlc(2000), Fields("v2 title", "a correction"));
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ(*v2, 2u);
  auto v3 = store_->EditTestimony(Id(1), Author(1), Hlc(3000), Fields("v3 title", "more detail"));
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(*v3, 3u);

  auto t = store_->Get(Id(1));
  EXPECT_EQ(t->current_version(), 3u);
  EXPECT_EQ(t->fields().body(), "more detail");
  EXPECT_EQ(t->updated().wall_ms(), 3000u);

  auto h = store_->History(Id(1));
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->versions_size(), 3);
  EXPECT_EQ(h->versions(0).version(), 1u);
  EXPECT_EQ(h->versions(0).fields().body(), "what I said first");
  EXPECT_EQ(h->versions(1).fields().body(), "a correction");
  EXPECT_EQ(h->versions(2).fields().body(), "more detail");
  EXPECT_EQ(h->versions(1).hlc().wall_ms(), 2000u);
  for (const auto& v : h->versions()) EXPECT_EQ(v.content_hash().size(), kHashSize);
  EXPECT_NE(h->versions(0).content_hash(), h->versions(1).content_hash());
}

TEST_F(StoreTest, OnlyTheAuthorMayEditOrWithdraw) {
  ASSERT_TRUE(store_->CreateTestimony(Testimony(1, Fields("t", "b")), Key(1)).ok());
  EXPECT_EQ(store_->EditTestimony(Id(1), Author(9), Hlc(2000), Fields("x", "y")).status().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(store_->Withdraw(Id(1), Author(9), Hlc(2000)).code(), Code::kPermissionDenied);
  EXPECT_EQ(store_->History(Id(1))->versions_size(), 1);
  EXPECT_FALSE(store_->Get(Id(1))->withdrawn());
}

TEST_F(StoreTest, EditingAnUnknownTestimonyIsNotFound) {
  EXPECT_EQ(store_->EditTestimony(Id(7), Author(1), Hlc(1), Fields("x", "y")).status().code(),
            Code::kNotFound);
  EXPECT_EQ(store_->History(Id(7)).status().code(), Code::kNotFound);
}

TEST_F(StoreTest, WithdrawalLeavesOnlyATombstone) {
  ASSERT_TRUE(
      store_->CreateTestimony(Testimony(1, Fields("secret title", "secret body")), Key(1)).ok());
  ASSERT_TRUE(store_->EditTestimony(Id(1), Author(1), Hlc(2000), Fields("t2", "b2")).ok());
  ASSERT_TRUE(store_->Withdraw(Id(1), Author(1), Hlc(3000)).ok());
  auto t = store_->Get(Id(1));
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->withdrawn());
  EXPECT_EQ(t->tombstone_hash().size(), kHashSize);
  EXPECT_FALSE(t->has_fields());
  EXPECT_EQ(store_->History(Id(1))->versions_size(), 0);
  EXPECT_EQ(store_->EditTestimony(Id(1), Author(1), Hlc(4000), Fields("x", "y")).status().code(),
            Code::kNotFound);
  // Idempotent, and the id stays taken.
  EXPECT_TRUE(store_->Withdraw(Id(1), Author(1), Hlc(5000)).ok());
  EXPECT_EQ(store_->CreateTestimony(Testimony(1, Fields("again", "b")), Key(1)).code(),
            Code::kAlreadyExists);
}

// The honest check on an encrypted vault: decrypt every page of the closed file with the page
// key and look for the words in the plaintext pages, free pages and slack included (a SELECT
// would only show what SQL still links to).
TEST_F(StoreTest, WithdrawnContentIsZeroedInTheDecryptedDatabaseFile) {
  const std::string marker = "UniqueMarkerWordQuxzorp";
  ASSERT_TRUE(
      store_->CreateTestimony(Testimony(1, Fields(marker + " title", marker + " body")), Key(1))
          .ok());
  ASSERT_TRUE(store_->EditTestimony(Id(1), Author(1), Hlc(2000), Fields(marker, marker)).ok());
  ASSERT_TRUE(store_->CreateTestimony(Testimony(2, Fields("other", "kept words")), Key(2)).ok());
  auto reopen = [&] {
    store_.reset();
    db_.reset();  // close: the WAL is checkpointed into store.db and deleted
    std::string plain = DecryptedPages(dir_.File("store.db"));
    db_ = OpenTestDb(dir_.File("store.db"));
    store_ = std::move(Store::Open(db_.get())).value();
    return plain;
  };
  const std::string key =
      std::string(reinterpret_cast<const char*>(Key(1).data()), kContentKeySize);
  std::string before = reopen();
  ASSERT_FALSE(before.empty()) << "pages did not decrypt";
  ASSERT_NE(before.find(marker), std::string::npos) << "the check must be able to see the words";
  ASSERT_NE(before.find(key), std::string::npos);
  // The full-text index holds the folded key, not the spelling: look for that too.
  const std::string folded = TokenizeForSearch(marker).at(0).key;
  ASSERT_NE(folded, marker);
  ASSERT_NE(before.find(folded), std::string::npos) << "the index must be visible to the check";

  ASSERT_TRUE(store_->Withdraw(Id(1), Author(1), Hlc(3000)).ok());
  std::string after = reopen();
  ASSERT_FALSE(after.empty()) << "pages did not decrypt";
  EXPECT_EQ(after.find(marker), std::string::npos);
  EXPECT_EQ(after.find(folded), std::string::npos) << "a word stayed in the search index";
  EXPECT_EQ(after.find(key), std::string::npos);
  EXPECT_NE(after.find("kept words"), std::string::npos);
  auto check = store_->Search([] {
    pb::SearchQuery q;
    q.set_text("kept");
    return q;
  }());
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->hits_size(), 1);
}

// On plain SQLite in WAL mode (no locking_mode=EXCLUSIVE, so the WAL stays on disk between
// transactions): the WAL holds the words after they are written, and neither the WAL nor
// store.db holds them after withdrawal.
TEST(StoreWalTest, WithdrawalLeavesTheTextInNeitherTheDatabaseFileNorTheWal) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  DbHandle db = OpenPlainTestDb(path, /*wal=*/true);
  auto store = Store::Open(db.get());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const std::string marker = "WalMarkerWordZyxtrop";
  ASSERT_TRUE(
      (*store)->CreateTestimony(Testimony(1, Fields(marker, marker + " body")), Key(1)).ok());
  ASSERT_TRUE((*store)->CreateTestimony(Testimony(2, Fields("other", "kept")), Key(2)).ok());
  std::string wal = estelik::testing::ReadFileBytes(path + "-wal");
  ASSERT_NE(wal.find(marker), std::string::npos) << "the check must be able to see the words";

  ASSERT_TRUE((*store)->Withdraw(Id(1), Author(1), Hlc(3000)).ok());
  // Read while the connection is still open (closing would checkpoint and delete the WAL).
  wal = estelik::testing::ReadFileBytes(path + "-wal");
  EXPECT_EQ(wal.size(), 0u) << "the WAL is truncated";
  EXPECT_EQ(wal.find(marker), std::string::npos);
  EXPECT_EQ(estelik::testing::ReadFileBytes(path).find(marker), std::string::npos);
}

TEST(StoreWalTest, WithdrawalInsideABatchPurgesTheWalWhenTheBatchCommits) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  DbHandle db = OpenPlainTestDb(path, /*wal=*/true);
  auto store = Store::Open(db.get());
  ASSERT_TRUE(store.ok());
  const std::string marker = "BatchMarkerWordQwopty";
  ASSERT_TRUE((*store)->CreateTestimony(Testimony(1, Fields(marker, "body")), Key(1)).ok());
  {
    auto batch = (*store)->BeginBatch();
    ASSERT_TRUE(batch.ok());
    ASSERT_TRUE((*store)->CreateTestimony(Testimony(2, Fields("other", "kept")), Key(2)).ok());
    ASSERT_TRUE((*store)->Withdraw(Id(1), Author(1), Hlc(3000)).ok());
    EXPECT_NE(estelik::testing::ReadFileBytes(path + "-wal").find(marker), std::string::npos)
        << "not yet: the batch is open";
    ASSERT_TRUE(batch->Commit().ok());
  }
  EXPECT_EQ(estelik::testing::ReadFileBytes(path + "-wal").size(), 0u);
  EXPECT_EQ(estelik::testing::ReadFileBytes(path).find(marker), std::string::npos);
}

TEST_F(StoreTest, ABatchCommitsItsMutationsTogetherAndADroppedBatchChangesNothing) {
  {
    auto batch = store_->BeginBatch();
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    EXPECT_EQ(store_->BeginBatch().status().code(), Code::kInvalidArgument) << "one at a time";
    ASSERT_TRUE(store_->CreateTestimony(Testimony(1, Fields("one", "1")), Key(1)).ok());
    // A failing mutation inside the batch rolls back only itself.
    EXPECT_EQ(store_->CreateTestimony(Testimony(1, Fields("dup", "d")), Key(1)).code(),
              Code::kAlreadyExists);
    ASSERT_TRUE(store_->CreateTestimony(Testimony(2, Fields("two", "2")), Key(2)).ok());
    ASSERT_TRUE(batch->Commit().ok());
    EXPECT_FALSE(batch->Commit().ok()) << "a batch commits once";
  }
  EXPECT_EQ(store_->Get(Id(1))->fields().title(), "one");
  EXPECT_EQ(store_->Get(Id(2))->fields().title(), "two");
  {
    auto batch = store_->BeginBatch();
    ASSERT_TRUE(batch.ok());
    ASSERT_TRUE(store_->CreateTestimony(Testimony(3, Fields("three", "3")), Key(3)).ok());
  }  // dropped without Commit
  EXPECT_EQ(store_->Get(Id(3)).status().code(), Code::kNotFound);
  ASSERT_TRUE(store_->CreateTestimony(Testimony(3, Fields("three", "3")), Key(3)).ok());
}

// Stands in for an index built by an older build with other folding rules: the stock unicode61
// tokenizer registered under the name "estelik" on a connection the Store never opened.
void RebuildIndexWithoutFolding(const std::string& path, int recorded_fold_version) {
  DbHandle db = OpenTestDb(path);
  auto api = GetFts5Api(db.get());
  ASSERT_TRUE(api.ok());
  void* user = nullptr;
  fts5_tokenizer unicode61{};
  ASSERT_EQ((*api)->xFindTokenizer(*api, "unicode61", &user, &unicode61), SQLITE_OK);
  ASSERT_EQ((*api)->xCreateTokenizer(*api, kTokenizerName, user, &unicode61, nullptr), SQLITE_OK);
  std::string sql;
  for (int k = 0; k < kFtsShards; ++k)
    sql += "INSERT INTO " + FtsShardName(k) + "(" + FtsShardName(k) + ") VALUES('rebuild');";
  sql += "UPDATE store_meta SET value = " + std::to_string(recorded_fold_version) +
         " WHERE key = 'fold_version';";
  ASSERT_EQ(sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db.get());
}

TEST_F(StoreTest, AnIndexBuiltWithOlderFoldingRulesIsRebuiltOnOpen) {
  ASSERT_TRUE(store_->CreateTestimony(Testimony(1, Fields("Жаңаөзен", "алаң")), Key(1)).ok());
  store_.reset();
  db_.reset();
  auto hits = [&](const char* text) {
    db_ = OpenTestDb(dir_.File("store.db"));
    store_ = std::move(Store::Open(db_.get())).value();
    pb::SearchQuery q;
    q.set_text(text);
    auto page = store_->Search(q);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    int n = page.ok() ? page->hits_size() : -1;
    store_.reset();
    db_.reset();
    return n;
  };
  // Control: the stale index, recorded as current, is not rebuilt and cannot fold.
  RebuildIndexWithoutFolding(dir_.File("store.db"), kFoldVersion);
  EXPECT_EQ(hits("Zhanaozen"), 0);
  // Recorded as built with older rules: Open rebuilds it and records the current version.
  RebuildIndexWithoutFolding(dir_.File("store.db"), kFoldVersion - 1);
  EXPECT_EQ(hits("Zhanaozen"), 1);
  db_ = OpenTestDb(dir_.File("store.db"));
  EXPECT_EQ(*IndexedFoldVersion(db_.get()), kFoldVersion);
}

TEST_F(StoreTest, SameMutationsInSameOrderGiveEqualStateHashes) {
  TempDir other_dir;
  DbHandle other_db = OpenTestDb(other_dir.File("store.db"));
  auto other = Store::Open(other_db.get());
  ASSERT_TRUE(other.ok());
  auto apply = [](Store& s) {
    pb::TestimonyFields f = Fields("Ақтау", "body");
    f.add_tags("b");
    f.add_tags("a");
    (*f.mutable_capture_metadata())["z"] = "1";
    (*f.mutable_capture_metadata())["a"] = "2";
    ASSERT_TRUE(s.CreateTestimony(Testimony(1, f), Key(1)).ok());
    ASSERT_TRUE(s.CreateTestimony(Testimony(2, Fields("two", "2")), Key(2)).ok());
    ASSERT_TRUE(s.EditTestimony(Id(1), Author(1), Hlc(5000, 3), Fields("edit", "e")).ok());
    ASSERT_TRUE(s.Withdraw(Id(2), Author(1), Hlc(6000)).ok());
  };
  apply(*store_);
  apply(**other);
  auto a = store_->StateHash();
  auto b = (*other)->StateHash();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  // And a different history gives a different hash.
  ASSERT_TRUE((*other)->EditTestimony(Id(1), Author(1), Hlc(7000), Fields("x", "y")).ok());
  EXPECT_NE(*store_->StateHash(), *(*other)->StateHash());
}

TEST_F(StoreTest, StateHashDependsOnContent) {
  auto empty = store_->StateHash();
  ASSERT_TRUE(store_->CreateTestimony(Testimony(1, Fields("t", "b")), Key(1)).ok());
  EXPECT_NE(*store_->StateHash(), *empty);
}

TEST_F(StoreTest, ANewerSchemaIsRefusedWithAClearMessage) {
  store_.reset();
  ASSERT_EQ(sqlite3_exec(db_.get(), "PRAGMA user_version = 99", nullptr, nullptr, nullptr),
            SQLITE_OK);
  auto s = Store::Open(db_.get());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kUnsupported);
  EXPECT_NE(s.status().message().find("update the app"), std::string::npos);
}

}  // namespace
}  // namespace estelik::store
