#include "core/store/store.h"

#include <gtest/gtest.h>

#include "core/store/schema.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/store/store_test_util.h"

namespace estelik::store {
namespace {

using namespace estelik::store::testing;  // NOLINT
using estelik::testing::TempDir;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = OpenTestDb(dir_.File("store.db"));
    auto s = Store::Open(db_.get());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  TempDir dir_;
  DbHandle db_;
  std::unique_ptr<Store> store_;
};

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

TEST_F(StoreTest, WithdrawnContentIsZeroedInTheDatabaseFile) {
  const std::string marker = "UniqueMarkerWordQuxzorp";
  ASSERT_TRUE(
      store_->CreateTestimony(Testimony(1, Fields(marker + " title", marker + " body")), Key(1))
          .ok());
  ASSERT_TRUE(store_->EditTestimony(Id(1), Author(1), Hlc(2000), Fields(marker, marker)).ok());
  ASSERT_TRUE(store_->Withdraw(Id(1), Author(1), Hlc(3000)).ok());
  store_.reset();
  db_.reset();  // close: the journal is gone and the file is complete
  std::string bytes = estelik::testing::ReadFileBytes(dir_.File("store.db"));
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(marker), std::string::npos);
  std::string key = std::string(reinterpret_cast<const char*>(Key(1).data()), kContentKeySize);
  EXPECT_EQ(bytes.find(key), std::string::npos);
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
