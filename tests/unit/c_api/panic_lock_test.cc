// Panic-lock wins over a long call (issue #15): estelik_vault_lock, pressed on another thread
// while a call streams a large attachment, returns within one chunk instead of waiting for the
// call; the call returns ESTELIK_LOCKED and leaves nothing behind (no exported file, no
// attachment). Prints the lock's latency next to the uninterrupted call's duration.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/bytes.h"
#include "platform/c/estelik.h"
#include "platform/c/handles.h"
#include "proto/record.pb.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"
#include "tests/unit/c_api/c_api_test_util.h"

namespace {

using estelik::testing::Buffer;
using estelik::testing::Error;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::duration<double, std::milli>;
constexpr auto& kPass = estelik::testing::kCApiPass;
namespace fs = std::filesystem;

// Large enough that streaming it takes a good fraction of a second in a release build.
constexpr size_t kAttachmentBytes = 64 << 20;

// Deterministic, incompressible-looking bytes.
std::vector<uint8_t> Pattern(size_t size) {
  std::vector<uint8_t> out(size);
  uint32_t x = 2463534242u;
  for (auto& b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<uint8_t>(x);
  }
  return out;
}

class PanicLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Error err;
    ASSERT_EQ(estelik_vault_create(dir_.File("vault").c_str(), kPass, sizeof kPass - 1,
                                   ESTELIK_KDF_TEST_ONLY, &vault_, &err.e),
              ESTELIK_OK)
        << err.message();
    char* id = nullptr;
    ASSERT_EQ(estelik_testimony_add_simple(vault_, "en", "t", "b", &id, &err.e), ESTELIK_OK)
        << err.message();
    id_ = id;
    estelik_string_free(id);
  }
  void TearDown() override { estelik_vault_close(vault_); }

  void AddLargeAttachment() {
    Error err;
    estelik_attachment_writer* w = nullptr;
    ASSERT_EQ(estelik_attachment_begin(vault_, id_.c_str(), "big.bin", nullptr,
                                       ESTELIK_ATTACHMENT_GUESS, &w, &err.e),
              ESTELIK_OK)
        << err.message();
    const std::vector<uint8_t> piece = Pattern(1 << 20);
    for (size_t done = 0; done < kAttachmentBytes; done += piece.size()) {
      ASSERT_EQ(estelik_attachment_write(w, piece.data(), piece.size(), &err.e), ESTELIK_OK)
          << err.message();
    }
    ASSERT_EQ(estelik_attachment_finish(w, nullptr, &err.e), ESTELIK_OK) << err.message();
  }

  // Runs `call(archive, progress)` through the handle as an entry point of estelik.h does
  // (its mutex held), on a thread, presses estelik_vault_lock at its first progress report,
  // and returns the call's status; `lock_ms` gets how long estelik_vault_lock took.
  template <typename Call>
  estelik_status LockDuring(Call call, double* lock_ms) {
    std::atomic<bool> started{false};
    estelik_status status = ESTELIK_OK;
    std::thread worker([&] {
      Error err;
      status = estelik::capi::WithArchive(vault_, &err.e, [&](estelik::archive::Archive& a) {
        return call(a, [&](uint64_t, uint64_t) { started = true; });
      });
    });
    EXPECT_TRUE(estelik::testing::WaitUntil([&] { return started.load(); }))
        << "the call never reported progress";
    const auto t0 = Clock::now();
    estelik_vault_lock(vault_);
    *lock_ms = Ms(Clock::now() - t0).count();
    worker.join();
    return status;
  }

  estelik::testing::TempDir dir_;
  estelik_vault* vault_ = nullptr;
  std::string id_;
};

TEST_F(PanicLockTest, LockWinsAtOnceOverAnAttachmentExportAndRemovesThePartialFile) {
  AddLargeAttachment();
  const std::string out = dir_.File("exported.bin");
  // The baseline: the same export, uninterrupted.
  Error err;
  auto t0 = Clock::now();
  ASSERT_EQ(estelik::capi::WithArchive(vault_, &err.e,
                                       [&](estelik::archive::Archive& a) {
                                         std::string id;
                                         EXPECT_TRUE(estelik::ParseHexIgnoringCase(id_, &id));
                                         return a.ExportAttachment(id, 0, out, nullptr).status();
                                       }),
            ESTELIK_OK)
      << err.message();
  const double export_ms = Ms(Clock::now() - t0).count();
  ASSERT_EQ(fs::file_size(out), kAttachmentBytes);
  fs::remove(out);

  double lock_ms = 0;
  estelik_status status = LockDuring(
      [&](estelik::archive::Archive& a, const estelik::archive::ProgressFn& progress) {
        std::string id;
        EXPECT_TRUE(estelik::ParseHexIgnoringCase(id_, &id));
        return a.ExportAttachment(id, 0, out, progress).status();
      },
      &lock_ms);
  std::printf("export of %zu MiB: %.1f ms; lock pressed during it returned in %.1f ms\n",
              kAttachmentBytes >> 20, export_ms, lock_ms);
  EXPECT_EQ(status, ESTELIK_LOCKED);
  // LOCKED already proves the export did not finish first; the time is a looser check that
  // stays true on a loaded machine (measured: 2 ms against 567 ms, 20 ms against 1.9 s).
  EXPECT_LT(lock_ms * 2, export_ms) << "the lock waited for the export";
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".part"));
  EXPECT_EQ(estelik_vault_is_locked(vault_), 1);
}

TEST_F(PanicLockTest, LockWinsAtOnceOverAnAttachmentAddThatLeavesNothing) {
  const std::string source = dir_.File("source.bin");
  {
    std::ofstream f(source, std::ios::binary);
    const std::vector<uint8_t> bytes = Pattern(kAttachmentBytes);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  }
  double lock_ms = 0;
  estelik_status status = LockDuring(
      [&](estelik::archive::Archive& a, const estelik::archive::ProgressFn& progress) {
        std::string id;
        EXPECT_TRUE(estelik::ParseHexIgnoringCase(id_, &id));
        return a.AttachFile(id, source, {}, progress).status();
      },
      &lock_ms);
  std::printf("lock pressed during the add of %zu MiB returned in %.1f ms\n",
              kAttachmentBytes >> 20, lock_ms);
  EXPECT_EQ(status, ESTELIK_LOCKED);
  EXPECT_LT(lock_ms, 1000);

  Error err;
  ASSERT_EQ(estelik_vault_unlock(vault_, kPass, sizeof kPass - 1, &err.e), ESTELIK_OK)
      << err.message();
  Buffer t;
  ASSERT_EQ(estelik_testimony_get(vault_, id_.c_str(), &t.b, &err.e), ESTELIK_OK) << err.message();
  EXPECT_EQ(t.As<estelik::pb::Testimony>().attachments_size(), 0);
}

TEST_F(PanicLockTest, ACallAfterTheInterruptButBeforeTheDropFindsTheVaultLocked) {
  // What a call that wins the mutex between the lock's interrupt and its drop sees.
  vault_->core->Interrupt();
  Error err;
  char* id = nullptr;
  EXPECT_EQ(estelik_testimony_add_simple(vault_, "en", "t2", "b", &id, &err.e), ESTELIK_LOCKED)
      << err.message();
  estelik_string_free(id);
  EXPECT_EQ(estelik_vault_is_locked(vault_), 1);
  ASSERT_EQ(estelik_vault_unlock(vault_, kPass, sizeof kPass - 1, &err.e), ESTELIK_OK)
      << err.message();
  Buffer list;
  ASSERT_EQ(estelik_testimony_list(vault_, nullptr, 0, nullptr, 0, &list.b, &err.e), ESTELIK_OK)
      << err.message();
  EXPECT_EQ(list.As<estelik::pb::TestimonyPage>().testimonies_size(), 1);
}

}  // namespace
