// A damaged store.db page is reported as what it is, whichever public call reads it: kCorrupt
// "vault is corrupt or tampered: store.db page N" (docs/FORMAT.md "Pages"), never "disk I/O
// error". Each test damages the pages of one table on disk, the way a flipped bit or a
// tamperer would, reopens the vault with the right passphrase and calls what reads them:
// Store (search, get), OpLog (ops), Archive (list, rebuild). A store.db whose first pages are
// damaged is reported as damaged, not as a wrong passphrase, since vault.key opened.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <set>
#include <string>

#include "core/archive/archive.h"
#include "core/archive/back_door.h"
#include "tests/support/damage.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/archive/archive_test_util.h"

namespace estelik::archive {
namespace {

using estelik::testing::DamagedPageNamed;
using estelik::testing::FlipPages;
using estelik::testing::TempDir;
using namespace estelik::archive::testing;  // NOLINT

constexpr char kPassphrase[] = "a passphrase that is right";

class DamagedPage : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.File("vault");
    auto a = Archive::Create(dir_, kPassphrase, Fast());
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    archive_ = std::move(a).value();
    for (int i = 0; i < 120; ++i) {
      auto t = archive_->AddTestimony(
          Fields("note " + std::to_string(i), "A note about the square. " + Prose(1500, i)));
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      ids_.push_back(t->id());
    }
  }

  // The leaf pages of every table or index whose name matches the LIKE `pattern`.
  std::set<uint32_t> PagesOf(const std::string& pattern) {
    std::set<uint32_t> pages;
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(ArchiveBackDoor::vault(*archive_).db(),
                                 "SELECT pageno FROM dbstat WHERE name LIKE ?1 AND "
                                 "pagetype = 'leaf'",
                                 -1, &s, nullptr),
              SQLITE_OK);
    sqlite3_bind_text(s, 1, pattern.c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(s) == SQLITE_ROW) pages.insert(sqlite3_column_int(s, 0));
    sqlite3_finalize(s);
    EXPECT_FALSE(pages.empty()) << "no leaf pages of " << pattern;
    return pages;
  }

  // Closes the vault, damages `pages` of store.db, opens it again with the right passphrase.
  // Opening may itself read a damaged page; then its status is returned in `*open_status`.
  void DamageAndReopen(const std::set<uint32_t>& pages, Status* open_status) {
    archive_.reset();
    ASSERT_EQ(FlipPages(dir_ + "/store.db", pages), "");
    auto reopened = Archive::Open(dir_, kPassphrase);
    *open_status = reopened.status();
    if (reopened.ok()) archive_ = std::move(reopened).value();
  }

  // `status` is kCorrupt and names exactly one of the damaged pages.
  static void ExpectNamesADamagedPage(const Status& status, const std::set<uint32_t>& pages) {
    EXPECT_EQ(status.code(), Code::kCorrupt) << status.ToString();
    EXPECT_EQ(status.message().rfind("vault is corrupt or tampered: store.db page ", 0), 0u)
        << status.ToString();
    EXPECT_EQ(pages.count(DamagedPageNamed(status.message())), 1u) << status.ToString();
  }

  TempDir tmp_;
  std::string dir_;
  std::unique_ptr<Archive> archive_;
  std::vector<std::string> ids_;
};

TEST_F(DamagedPage, SearchReadingADamagedIndexPageSaysWhichPage) {
  const std::set<uint32_t> pages = PagesOf("testimony_fts%_data");
  Status opened;
  ASSERT_NO_FATAL_FAILURE(DamageAndReopen(pages, &opened));
  ASSERT_TRUE(opened.ok()) << opened.ToString();
  pb::SearchQuery q;
  q.set_text("note");
  auto found = archive_->Search(q);
  ASSERT_FALSE(found.ok());
  ExpectNamesADamagedPage(found.status(), pages);
  // The same through the store itself.
  auto direct = ArchiveBackDoor::store(*archive_).Search(q);
  ASSERT_FALSE(direct.ok());
  ExpectNamesADamagedPage(direct.status(), pages);
}

TEST_F(DamagedPage, ReadingADamagedTestimonyAndRebuildingSayWhichPage) {
  const std::set<uint32_t> pages = PagesOf("versions");
  Status opened;
  ASSERT_NO_FATAL_FAILURE(DamageAndReopen(pages, &opened));
  ASSERT_TRUE(opened.ok()) << opened.ToString();
  size_t damaged = 0;
  for (const auto& id : ids_) {
    auto t = archive_->GetTestimony(id);
    if (t.ok()) continue;
    ExpectNamesADamagedPage(t.status(), pages);
    ++damaged;
  }
  EXPECT_GT(damaged, 0u) << "no testimony read a damaged page";
  auto rebuilt = archive_->Rebuild();
  ASSERT_FALSE(rebuilt.ok());
  ExpectNamesADamagedPage(rebuilt.status(), pages);
}

TEST_F(DamagedPage, TheOpLogReadingADamagedPageSaysWhichPage) {
  const std::set<uint32_t> pages = PagesOf("log_ops");
  Status opened;
  ASSERT_NO_FATAL_FAILURE(DamageAndReopen(pages, &opened));
  if (!opened.ok()) {  // opening already read the op log
    ExpectNamesADamagedPage(opened, pages);
    return;
  }
  auto ops = ArchiveBackDoor::log(*archive_).OpsAfter({}, log::Scope::Private(), SIZE_MAX);
  Status st = ops.status();
  if (st.ok())
    st = ArchiveBackDoor::log(*archive_).ForEachOp(
        [](const log::OpLog::StoredOp&) { return Status::Ok(); });
  ASSERT_FALSE(st.ok());
  ExpectNamesADamagedPage(st, pages);
}

TEST_F(DamagedPage, DamagedFirstPagesAreDamageNotAWrongPassphrase) {
  Status opened;
  ASSERT_NO_FATAL_FAILURE(DamageAndReopen({1, 2}, &opened));
  EXPECT_EQ(opened.code(), Code::kCorrupt) << opened.ToString();
  EXPECT_EQ(opened.message().rfind("vault is corrupt or tampered: store.db page 1", 0), 0u)
      << opened.ToString();
  // A wrong passphrase is still told apart: vault.key decides it, before store.db is read.
  auto wrong = Archive::Open(dir_, "not the passphrase");
  EXPECT_EQ(wrong.status().code(), Code::kWrongPassphrase) << wrong.status().ToString();
}

}  // namespace
}  // namespace estelik::archive
