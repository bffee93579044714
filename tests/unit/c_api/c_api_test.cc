// The C API's promises that a C program cannot easily check: one handle shared by many
// threads loses and corrupts nothing, and every error path reports a code and a message
// without changing the vault.
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/bytes.h"
#include "core/vault/rekey_testing.h"
#include "platform/c/estelik.h"
#include "proto/record.pb.h"
#include "tests/support/damage.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/c_api/c_api_test_util.h"

namespace {

using estelik::testing::Buffer;
using estelik::testing::Error;
constexpr auto& kPass = estelik::testing::kCApiPass;

using estelik::Hex;

class CApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = dir.File("vault");
    Error err;
    ASSERT_EQ(estelik_vault_create(dir_.c_str(), kPass, sizeof kPass - 1, ESTELIK_KDF_TEST_ONLY,
                                   &vault, &err.e),
              ESTELIK_OK)
        << err.message();
  }
  void TearDown() override { estelik_vault_close(vault); }

  std::string Add(const std::string& title) {
    char* id = nullptr;
    Error err;
    EXPECT_EQ(estelik_testimony_add_simple(vault, "en", title.c_str(), "body", &id, &err.e),
              ESTELIK_OK)
        << err.message();
    std::string out = id ? id : "";
    estelik_string_free(id);
    return out;
  }

  // Every testimony (withdrawn included), following the cursors.
  std::vector<estelik::pb::Testimony> ListAll() {
    std::vector<estelik::pb::Testimony> all;
    estelik::pb::PageRequest page;
    page.set_limit(37);
    estelik::pb::ListFilter filter;
    filter.set_include_withdrawn(true);
    std::string filter_bytes = filter.SerializeAsString();
    for (;;) {
      std::string page_bytes = page.SerializeAsString();
      Buffer out;
      Error err;
      EXPECT_EQ(estelik_testimony_list(vault, reinterpret_cast<const uint8_t*>(filter_bytes.data()),
                                       filter_bytes.size(),
                                       reinterpret_cast<const uint8_t*>(page_bytes.data()),
                                       page_bytes.size(), &out.b, &err.e),
                ESTELIK_OK)
          << err.message();
      auto result = out.As<estelik::pb::TestimonyPage>();
      for (const auto& t : result.testimonies()) all.push_back(t);
      if (result.next_cursor().empty()) return all;
      page.set_cursor(result.next_cursor());
    }
  }

  estelik::testing::TempDir dir;
  std::string dir_;
  estelik_vault* vault = nullptr;
};

TEST_F(CApiTest, ConcurrentCallsOnOneHandleLoseAndCorruptNothing) {
  constexpr int kWriters = 4;
  constexpr int kPerWriter = 25;
  std::atomic<bool> writing{true};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        std::string id = Add("writer " + std::to_string(w) + " item " + std::to_string(i));
        Buffer got;
        if (id.size() != 32 ||
            estelik_testimony_get(vault, id.c_str(), &got.b, nullptr) != ESTELIK_OK) {
          ++failures;
        }
      }
    });
  }
  // Readers search, list and stream an attachment while the writers add.
  std::string with_attachment = Add("attachment holder");
  {
    estelik_attachment_writer* writer = nullptr;
    ASSERT_EQ(estelik_attachment_begin(vault, with_attachment.c_str(), "a.bin", nullptr,
                                       ESTELIK_ATTACHMENT_DOCUMENT, &writer, nullptr),
              ESTELIK_OK);
    std::vector<uint8_t> bytes(150'000);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i % 251);
    ASSERT_EQ(estelik_attachment_write(writer, bytes.data(), bytes.size(), nullptr), ESTELIK_OK);
    ASSERT_EQ(estelik_attachment_finish(writer, nullptr, nullptr), ESTELIK_OK);
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      estelik::pb::SearchQuery query;
      query.set_text("writer");
      std::string q = query.SerializeAsString();
      while (writing) {
        Buffer page;
        if (estelik_testimony_search(vault, reinterpret_cast<const uint8_t*>(q.data()), q.size(),
                                     &page.b, nullptr) != ESTELIK_OK) {
          ++failures;
        }
        estelik_attachment_reader* reader = nullptr;
        if (estelik_attachment_open(vault, with_attachment.c_str(), 0, &reader, nullptr) !=
            ESTELIK_OK) {
          ++failures;
          continue;
        }
        uint8_t chunk[8192];
        size_t n = 0, total = 0;
        do {
          if (estelik_attachment_read(reader, chunk, sizeof chunk, &n, nullptr) != ESTELIK_OK) {
            ++failures;
            break;
          }
          for (size_t i = 0; i < n; ++i) {
            if (chunk[i] != static_cast<uint8_t>((total + i) % 251)) ++failures;
          }
          total += n;
        } while (n > 0);
        if (total != 150'000) ++failures;
        estelik_attachment_close(reader);
      }
    });
  }
  for (int w = 0; w < kWriters; ++w) threads[w].join();
  writing = false;
  for (size_t t = kWriters; t < threads.size(); ++t) threads[t].join();

  EXPECT_EQ(failures.load(), 0);
  std::set<std::string> titles;
  for (const auto& t : ListAll()) titles.insert(t.fields().title());
  EXPECT_EQ(titles.size(), size_t{kWriters * kPerWriter + 1});
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < kPerWriter; ++i) {
      EXPECT_TRUE(titles.count("writer " + std::to_string(w) + " item " + std::to_string(i)));
    }
  }
}

TEST_F(CApiTest, WrongPassphraseIsRejectedWithCodeAndMessageAndTheVaultStillOpens) {
  Add("kept");
  estelik_vault_close(vault);
  vault = nullptr;
  Error err;
  estelik_vault* wrong = reinterpret_cast<estelik_vault*>(1);
  EXPECT_EQ(estelik_vault_open(dir_.c_str(), "guess", 5, &wrong, &err.e), ESTELIK_WRONG_PASSPHRASE);
  EXPECT_EQ(wrong, nullptr);
  EXPECT_STREQ(err.e.domain, "estelik");
  EXPECT_EQ(err.e.code, ESTELIK_WRONG_PASSPHRASE);
  EXPECT_NE(err.message().find("passphrase"), std::string::npos) << err.message();

  ASSERT_EQ(estelik_vault_open(dir_.c_str(), kPass, sizeof kPass - 1, &vault, &err.e), ESTELIK_OK);
  EXPECT_EQ(ListAll().size(), 1u);
}

// A damaged store.db page reaches the app as ESTELIK_CORRUPT naming the file and page, whether
// opening or searching reads it; damaged first pages are not a wrong passphrase.
TEST_F(CApiTest, DamagedPagesAreCorruptNamingThePageNotAnIoErrorOrAWrongPassphrase) {
  for (int i = 0; i < 150; ++i) Add("note " + std::to_string(i) + std::string(900, 'x'));
  estelik_vault_close(vault);
  vault = nullptr;
  const std::string store = dir_ + "/store.db";
  const uint64_t pages = std::filesystem::file_size(store) / estelik::testing::kStorePageBytes;
  ASSERT_GT(pages, 20u);
  std::set<uint32_t> damaged;
  for (uint32_t p = 3; p <= pages; p += 2) damaged.insert(p);
  ASSERT_EQ(estelik::testing::FlipPages(store, damaged), "");
  Error err;
  estelik_status st = estelik_vault_open(dir_.c_str(), kPass, sizeof kPass - 1, &vault, &err.e);
  if (st == ESTELIK_OK) {
    estelik::pb::SearchQuery q;
    q.set_text("note");
    const std::string bytes = q.SerializeAsString();
    Buffer page;
    st = estelik_testimony_search(vault, reinterpret_cast<const uint8_t*>(bytes.data()),
                                  bytes.size(), &page.b, &err.e);
  }
  EXPECT_EQ(st, ESTELIK_CORRUPT) << err.message();
  EXPECT_EQ(damaged.count(estelik::testing::DamagedPageNamed(err.message())), 1u) << err.message();
  estelik_vault_close(vault);
  vault = nullptr;

  ASSERT_EQ(estelik::testing::FlipPages(store, {1, 2}), "");
  Error first;
  EXPECT_EQ(estelik_vault_open(dir_.c_str(), kPass, sizeof kPass - 1, &vault, &first.e),
            ESTELIK_CORRUPT);
  EXPECT_NE(first.message().find("vault is corrupt or tampered: store.db page 1"),
            std::string::npos)
      << first.message();
}

TEST_F(CApiTest, LockedHandleRefusesEveryCallUntilUnlockedAndDropsUnfinishedWriters) {
  std::string id = Add("before the lock");
  estelik_attachment_writer* writer = nullptr;
  ASSERT_EQ(estelik_attachment_begin(vault, id.c_str(), "rec.m4a", nullptr,
                                     ESTELIK_ATTACHMENT_AUDIO, &writer, nullptr),
            ESTELIK_OK);
  uint8_t bytes[100] = {1, 2, 3};
  ASSERT_EQ(estelik_attachment_write(writer, bytes, sizeof bytes, nullptr), ESTELIK_OK);

  estelik_vault_lock(vault);
  EXPECT_TRUE(estelik_vault_is_locked(vault));
  Error err;
  Buffer out;
  EXPECT_EQ(estelik_testimony_get(vault, id.c_str(), &out.b, &err.e), ESTELIK_LOCKED);
  EXPECT_EQ(err.e.code, ESTELIK_LOCKED);
  EXPECT_NE(err.message().find("locked"), std::string::npos);
  char* text = nullptr;
  EXPECT_EQ(estelik_identity_fingerprint(vault, &text, nullptr), ESTELIK_LOCKED);
  EXPECT_EQ(text, nullptr);
  EXPECT_EQ(estelik_testimony_add_simple(vault, "en", "t", "b", nullptr, nullptr), ESTELIK_LOCKED);
  EXPECT_EQ(estelik_attachment_write(writer, bytes, sizeof bytes, nullptr), ESTELIK_LOCKED);
  EXPECT_EQ(estelik_attachment_finish(writer, nullptr, &err.e), ESTELIK_LOCKED);

  EXPECT_EQ(estelik_vault_unlock(vault, "guess", 5, &err.e), ESTELIK_WRONG_PASSPHRASE);
  EXPECT_TRUE(estelik_vault_is_locked(vault));
  ASSERT_EQ(estelik_vault_unlock(vault, kPass, sizeof kPass - 1, &err.e), ESTELIK_OK);
  EXPECT_FALSE(estelik_vault_is_locked(vault));
  auto all = ListAll();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].attachments_size(), 0) << "an unfinished attachment must leave nothing";
}

TEST_F(CApiTest, MalformedProtobufIsInvalidArgumentWithAClearMessageAndChangesNothing) {
  Add("only one");
  const uint8_t truncated[] = {0x12, 0x40, 'a', 'b'};  // title claims 64 bytes, has 2
  Error err;
  Buffer out;
  EXPECT_EQ(
      estelik_testimony_create(vault, truncated, sizeof truncated, 0, nullptr, &out.b, &err.e),
      ESTELIK_INVALID_ARGUMENT);
  EXPECT_EQ(out.b.data, nullptr);
  EXPECT_NE(err.message().find("estelik.pb.TestimonyFields"), std::string::npos) << err.message();

  estelik::pb::TestimonyFields bad_utf8;
  bad_utf8.set_title("ok");
  std::string bytes = bad_utf8.SerializeAsString();
  bytes.back() = '\xff';  // "o\xff": not UTF-8
  EXPECT_EQ(estelik_testimony_create(vault, reinterpret_cast<const uint8_t*>(bytes.data()),
                                     bytes.size(), 0, nullptr, nullptr, &err.e),
            ESTELIK_INVALID_ARGUMENT);
  EXPECT_EQ(estelik_testimony_add_simple(vault, "en", "o\xff", "b", nullptr, &err.e),
            ESTELIK_INVALID_ARGUMENT);
  EXPECT_EQ(estelik_testimony_search(vault, truncated, sizeof truncated, &out.b, &err.e),
            ESTELIK_INVALID_ARGUMENT);
  EXPECT_NE(err.message().find("estelik.pb.SearchQuery"), std::string::npos) << err.message();
  EXPECT_EQ(estelik_testimony_create(vault, nullptr, 5, 0, nullptr, nullptr, &err.e),
            ESTELIK_INVALID_ARGUMENT);
  EXPECT_EQ(estelik_testimony_get(vault, "not-hex!", &out.b, &err.e), ESTELIK_INVALID_ARGUMENT);

  auto all = ListAll();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].fields().title(), "only one");
}

TEST_F(CApiTest, ClosingTheVaultAbortsOpenStreamsThatMayStillBeFreedSafely) {
  std::string id = Add("streams");
  estelik_attachment_writer* writer = nullptr;
  ASSERT_EQ(estelik_attachment_begin(vault, id.c_str(), "x.bin", nullptr, ESTELIK_ATTACHMENT_GUESS,
                                     &writer, nullptr),
            ESTELIK_OK);
  estelik_vault_close(vault);
  vault = nullptr;
  uint8_t byte = 7;
  Error err;
  EXPECT_EQ(estelik_attachment_write(writer, &byte, 1, &err.e), ESTELIK_ABORTED);
  EXPECT_NE(err.message().find("closed"), std::string::npos) << err.message();
  estelik_attachment_abort(writer);  // frees; must not touch the closed vault
}

// estelik.h: "Any text is valid; it is never a syntax error." Text with nothing to look for
// gives an empty page; operators alone are searched as words; inflected names are found.
TEST_F(CApiTest, SearchAcceptsAnyTextAndFindsInflectedNames) {
  ASSERT_EQ(estelik_testimony_add_simple(vault, "kk", "Ақтауға хат", "Біз Ақтауға хабар жібердік",
                                         nullptr, nullptr),
            ESTELIK_OK);
  ASSERT_EQ(estelik_testimony_add_simple(vault, "en", "and or not", "x", nullptr, nullptr),
            ESTELIK_OK);
  auto search = [&](const std::string& text, int* hits) {
    estelik::pb::SearchQuery query;
    query.set_text(text);
    const std::string q = query.SerializeAsString();
    Buffer page;
    Error err;
    const estelik_status st = estelik_testimony_search(
        vault, reinterpret_cast<const uint8_t*>(q.data()), q.size(), &page.b, &err.e);
    EXPECT_EQ(st, ESTELIK_OK) << text << ": " << err.message();
    *hits = st == ESTELIK_OK ? page.As<estelik::pb::SearchPage>().hits_size() : -1;
  };
  int hits = -1;
  for (const char* text : {"", "*", "-", "\"", "\"\"", "-strike", "NOT strike", "()", "   "}) {
    search(text, &hits);
    EXPECT_EQ(hits, 0) << text;
  }
  search("AND OR NOT", &hits);
  EXPECT_EQ(hits, 1);
  for (const char* text : {"Ақтау", "Aktau", "Aqtau", "Актау"}) {
    search(text, &hits);
    EXPECT_EQ(hits, 1) << text;
  }
}

TEST_F(CApiTest, TestimonyIdsAreAcceptedAsFullHexOrUniquePrefix) {
  std::string id = Add("by prefix");
  Buffer out;
  ASSERT_EQ(estelik_testimony_get(vault, id.substr(0, 6).c_str(), &out.b, nullptr), ESTELIK_OK);
  auto t = out.As<estelik::pb::Testimony>();
  EXPECT_EQ(Hex(t.id()), id);
  estelik_buffer_free(&out.b);
  Error err;
  EXPECT_EQ(estelik_testimony_get(vault, id.substr(0, 5).c_str(), &out.b, &err.e),
            ESTELIK_INVALID_ARGUMENT);
  EXPECT_NE(err.message().find("6 to 32 hex digits"), std::string::npos) << err.message();
}

// Core dumps off in the process that creates or opens a vault (docs/C_API.md "Process
// hardening"). Each call is checked on its own: the test makes the process dumpable again
// before it (the rlimit cannot be raised back once its hard limit is 0, so only the first call
// in a process shows it going from on to off; the dumpable flag shows it every time).
TEST(CApiProcessHardening, CreatingOrOpeningAVaultTurnsCoreDumpsOffForTheProcess) {
  estelik::testing::TempDir tmp;
  const std::string path = tmp.File("vault");
  auto expect_hardened = [](const char* after) {
    EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0) << "dumpable after " << after;
    rlimit core{};
    ASSERT_EQ(getrlimit(RLIMIT_CORE, &core), 0);
    EXPECT_EQ(core.rlim_cur, 0u) << "core soft limit after " << after;
    EXPECT_EQ(core.rlim_max, 0u) << "core hard limit after " << after;
  };
  estelik_vault* vault = nullptr;
  Error err;
  ASSERT_EQ(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
  ASSERT_EQ(estelik_vault_create(path.c_str(), kPass, sizeof kPass - 1, ESTELIK_KDF_TEST_ONLY,
                                 &vault, &err.e),
            ESTELIK_OK)
      << err.message();
  expect_hardened("estelik_vault_create");
  estelik_vault_close(vault);

  ASSERT_EQ(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
  ASSERT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
  ASSERT_EQ(estelik_vault_open(path.c_str(), kPass, sizeof kPass - 1, &vault, &err.e), ESTELIK_OK)
      << err.message();
  expect_hardened("estelik_vault_open");
  estelik_vault_close(vault);
}

}  // namespace

TEST_F(CApiTest, RekeyKeepsTheHandleWorkingAndOnlyTheNewPassphraseOpens) {
  const std::string id = Add("before the re-key");
  constexpr char kNew[] = "a new passphrase";
  Error err;
  // Refused while an attachment writer is open; the vault stays as it was.
  estelik_attachment_writer* writer = nullptr;
  ASSERT_EQ(estelik_attachment_begin(vault, id.c_str(), "rec.m4a", nullptr,
                                     ESTELIK_ATTACHMENT_AUDIO, &writer, nullptr),
            ESTELIK_OK);
  EXPECT_EQ(estelik_vault_rekey(vault, kPass, sizeof kPass - 1, kNew, sizeof kNew - 1, &err.e),
            ESTELIK_INVALID_ARGUMENT);
  EXPECT_NE(err.message().find("writers"), std::string::npos) << err.message();
  estelik_attachment_abort(writer);
  EXPECT_EQ(estelik_vault_rekey(vault, "guess", 5, nullptr, 0, &err.e), ESTELIK_WRONG_PASSPHRASE);
  EXPECT_FALSE(estelik_vault_is_locked(vault));

  // Same passphrase (NULL, 0), then a new one; the handle works throughout.
  ASSERT_EQ(estelik_vault_rekey(vault, kPass, sizeof kPass - 1, nullptr, 0, &err.e), ESTELIK_OK)
      << err.message();
  ASSERT_EQ(estelik_vault_rekey(vault, kPass, sizeof kPass - 1, kNew, sizeof kNew - 1, &err.e),
            ESTELIK_OK)
      << err.message();
  EXPECT_FALSE(estelik_vault_is_locked(vault));
  Add("after the re-key");
  EXPECT_EQ(ListAll().size(), 2u);
  estelik_vault_close(vault);
  vault = nullptr;

  EXPECT_EQ(estelik_vault_open(dir_.c_str(), kPass, sizeof kPass - 1, &vault, &err.e),
            ESTELIK_WRONG_PASSPHRASE);
  ASSERT_EQ(estelik_vault_open(dir_.c_str(), kNew, sizeof kNew - 1, &vault, &err.e), ESTELIK_OK)
      << err.message();
  EXPECT_EQ(ListAll().size(), 2u);
}

// A panic-lock does not wait for a re-key: at a step before the commit it undoes it, at one
// after it the vault keeps the new key; the call returns LOCKED and the handle is locked.
static estelik_vault* g_lock_during_rekey = nullptr;
static estelik::vault::testing::RekeyStep g_lock_at{};
static void LockAtStep(estelik::vault::testing::RekeyStep step) {
  if (step == g_lock_at) estelik_vault_lock(g_lock_during_rekey);
}

TEST_F(CApiTest, PanicLockDuringARekeyLocksAtOnceAndLeavesOneWorkingKey) {
  using estelik::vault::testing::RekeyStep;
  Add("kept either way");
  constexpr char kNew[] = "a new passphrase";
  g_lock_during_rekey = vault;
  estelik::vault::testing::SetRekeyStepHookForTesting(LockAtStep);
  for (RekeyStep at : {RekeyStep::kCopied, RekeyStep::kKeyWritten, RekeyStep::kStoreSwapped}) {
    SCOPED_TRACE(static_cast<int>(at));
    const bool committed = at >= RekeyStep::kStoreSwapped;
    g_lock_at = at;
    Error err;
    EXPECT_EQ(estelik_vault_rekey(vault, kPass, sizeof kPass - 1, kNew, sizeof kNew - 1, &err.e),
              ESTELIK_LOCKED)
        << err.message();
    EXPECT_TRUE(estelik_vault_is_locked(vault));
    EXPECT_EQ(estelik_vault_unlock(vault, committed ? kPass : kNew,
                                   committed ? sizeof kPass - 1 : sizeof kNew - 1, &err.e),
              ESTELIK_WRONG_PASSPHRASE);
    ASSERT_EQ(estelik_vault_unlock(vault, committed ? kNew : kPass,
                                   committed ? sizeof kNew - 1 : sizeof kPass - 1, &err.e),
              ESTELIK_OK)
        << err.message();
    EXPECT_EQ(ListAll().size(), 1u);
    if (committed) break;
  }
  estelik::vault::testing::SetRekeyStepHookForTesting(nullptr);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/store.db.rekey"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/vault.key.rekey"));
}
