// A whole vault (vault.key + store.db) written by format version 1 and checked in: every
// later version of Estelik must open it with its passphrase and find everything in it.
// Regenerate only on purpose, with:
//   estelik_archive_tests --gtest_also_run_disabled_tests --gtest_filter='*WriteFixtureVault*'
#include <gtest/gtest.h>

#include <filesystem>

#include "core/archive/archive.h"
#include "core/bytes.h"
#include "core/log/op_codec.h"
#include "tests/support/temp_dir.h"

namespace estelik::archive {
namespace {

namespace fs = std::filesystem;

const fs::path kFixture = fs::path(ESTELIK_SOURCE_DIR) / "tests/fixtures/vault/v1";
constexpr char kPassphrase[] = "estelik fixture vault v1";

std::string Audio() {
  std::string a(150000, '\0');
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<char>((i * 131) % 251);
  return a;
}

pb::TestimonyFields Fields(const char* lang, const char* title, const char* body) {
  pb::TestimonyFields f;
  f.set_language(lang);
  f.set_title(title);
  f.set_body(body);
  f.add_places("Жаңаөзен");
  f.mutable_event_dates()->set_from("2011-12-16");
  f.mutable_event_dates()->set_to("2011-12-16");
  return f;
}

TEST(FixtureVault, DISABLED_WriteFixtureVault) {
  fs::remove_all(kFixture);
  vault::VaultOptions options;
  options.kdf = vault::MinimalKdfParams();
  auto a = Archive::Create(kFixture.string(), kPassphrase, options);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto t1 = (*a)->AddTestimony(Fields("kk", "Алаңда", "Желтоқсанда Жаңаөзен алаңында атыс болды"));
  auto t2 = (*a)->AddTestimony(Fields("en", "In the square", "Shots in Zhanaozen at noon"));
  ASSERT_TRUE(t1.ok() && t2.ok());
  ASSERT_TRUE(
      (*a)->EditTestimony(t2->id(), Fields("en", "In the square", "Shots before noon")).ok());
  auto w = (*a)->BeginAttachment(t1->id(), {"interview.m4a", "", {}});
  ASSERT_TRUE(w.ok());
  std::string audio = Audio();
  ASSERT_TRUE((*w)->Append(estelik::AsBytes(audio)).ok());
  ASSERT_TRUE((*w)->Finish().ok());
}

TEST(FixtureVault, VersionOneVaultOpensWithEverythingInIt) {
  ASSERT_TRUE(fs::exists(kFixture / "vault.key")) << kFixture;
  testing::TempDir tmp;
  fs::path dir = tmp.path() / "v1";
  fs::copy(kFixture, dir);
  EXPECT_EQ(Archive::Open(dir.string(), "not it").status().code(), Code::kWrongPassphrase);
  auto a = Archive::Open(dir.string(), kPassphrase);
  ASSERT_TRUE(a.ok()) << a.status().ToString();

  pb::SearchQuery q;
  q.set_text("Jañaözen");
  auto hits = (*a)->Search(q);
  ASSERT_TRUE(hits.ok()) << hits.status().ToString();
  ASSERT_EQ(hits->hits_size(), 2);

  auto page = (*a)->List({}, {});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->testimonies_size(), 2);
  for (const auto& t : page->testimonies()) {
    if (t.fields().language() == "en") {
      EXPECT_EQ(t.fields().body(), "Shots before noon");
      auto history = (*a)->History(t.id());
      ASSERT_TRUE(history.ok());
      ASSERT_EQ(history->versions_size(), 2);
      EXPECT_EQ(history->versions(0).fields().body(), "Shots in Zhanaozen at noon");
    } else {
      ASSERT_EQ(t.attachments_size(), 1);
      auto reader = (*a)->OpenAttachment(t.id(), 0);
      ASSERT_TRUE(reader.ok()) << reader.status().ToString();
      std::string back(200000, '\0');
      size_t total = 0;
      for (;;) {
        auto n =
            (*reader)->Read({reinterpret_cast<uint8_t*>(back.data()) + total, back.size() - total});
        ASSERT_TRUE(n.ok()) << n.status().ToString();
        if (*n == 0) break;
        total += *n;
      }
      back.resize(total);
      EXPECT_EQ(back, Audio());
    }
  }
  // The vault stays writable after the upgrade to whatever this version's schema is.
  EXPECT_TRUE((*a)->AddTestimony(Fields("ru", "Новое", "Актау")).ok());
}

}  // namespace
}  // namespace estelik::archive
