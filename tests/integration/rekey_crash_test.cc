// Re-key against a crash: a real process re-keying a vault is killed with SIGKILL at every step
// (tests/tools/vault_rekey_stepper), and the vault then opens with everything in it, under the
// old passphrase before the commit and the new one from the commit on. And `estelik rekey`
// end to end.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/archive/archive.h"
#include "core/bytes.h"
#include "core/vault/rekey_testing.h"
#include "core/vault/vault.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace estelik::testing {
namespace {

namespace fs = std::filesystem;
using vault::testing::RekeyStep;

const std::string kStepper = ESTELIK_BINARY_DIR "/tests/tools/vault_rekey_stepper";
const std::string kCli = std::getenv("ESTELIK_CLI") != nullptr ? std::getenv("ESTELIK_CLI")
                                                               : ESTELIK_BINARY_DIR
                             "/platform/cli/estelik";
constexpr char kOld[] = "old passphrase";
constexpr char kNew[] = "new passphrase";

struct Ran {
  int code = -1;
  std::string out;
};

// Runs `argv` with `env`; if `kill_at` is not empty, SIGKILLs it as soon as its stdout starts
// with that line.
Ran RunChild(const std::vector<std::string>& argv,
             const std::vector<std::pair<std::string, std::string>>& env,
             const std::string& kill_at = "") {
  int out_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return {};
  ChildIo io;
  io.out = out_pipe[1];
  const pid_t pid = SpawnProcess(argv, io, env);
  close(out_pipe[1]);
  Ran r;
  char c;
  while (read(out_pipe[0], &c, 1) == 1) {
    r.out.push_back(c);
    if (!kill_at.empty() && r.out == kill_at + "\n") {
      kill(pid, SIGKILL);
      break;
    }
  }
  close(out_pipe[0]);
  if (pid > 0) r.code = WaitExit(pid);
  return r;
}

std::string ReadAttachment(archive::Archive& a, const std::string& id) {
  auto reader = a.OpenAttachment(id, 0);
  if (!reader.ok()) return "error: " + reader.status().ToString();
  if (Status v = (*reader)->Verify(); !v.ok()) return "error: " + v.ToString();
  std::string out(1 << 20, '\0');
  size_t total = 0;
  for (;;) {
    auto n = (*reader)->Read({reinterpret_cast<uint8_t*>(out.data()) + total, out.size() - total});
    if (!n.ok()) return "error: " + n.status().ToString();
    if (*n == 0) break;
    total += *n;
  }
  out.resize(total);
  return out;
}

class RekeyCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kStepper.c_str(), X_OK), 0) << "build the vault_rekey_stepper target";
    vault::VaultOptions options;
    options.kdf = vault::MinimalKdfParams();
    auto a = archive::Archive::Create(Template(), kOld, options);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    for (int i = 0; i < 20; ++i) {
      pb::TestimonyFields f;
      f.set_title("Testimony " + std::to_string(i));
      f.set_body("detained near the river crossing, witness " + std::to_string(i));
      auto t = (*a)->AddTestimony(f);
      ASSERT_TRUE(t.ok());
      ids_.push_back(t->id());
    }
    audio_.resize(300000);
    for (size_t i = 0; i < audio_.size(); ++i) audio_[i] = static_cast<char>(i * 13 % 249);
    auto writer = (*a)->BeginAttachment(ids_[3], {"tape.m4a", "", {}});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Append(AsBytes(audio_)).ok());
    ASSERT_TRUE((*writer)->Finish().ok());
    identity_ = (*a)->identity().public_key();
    auto hash = (*a)->StateHash();
    ASSERT_TRUE(hash.ok());
    state_ = *hash;
  }

  std::string Template() { return tmp_.File("template"); }

  // A fresh copy of the prepared vault.
  std::string Copy(const std::string& name) {
    const std::string dir = tmp_.File(name);
    fs::copy(Template(), dir, fs::copy_options::recursive);
    return dir;
  }

  // Everything recorded is there, readable, searchable and verified.
  void ExpectWhole(archive::Archive& a) {
    EXPECT_EQ(a.identity().public_key(), identity_);
    auto hash = a.StateHash();
    ASSERT_TRUE(hash.ok());
    EXPECT_EQ(*hash, state_);
    for (size_t i = 0; i < ids_.size(); ++i) {
      auto t = a.GetTestimony(ids_[i]);
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      EXPECT_EQ(t->fields().title(), "Testimony " + std::to_string(i));
    }
    EXPECT_EQ(ReadAttachment(a, ids_[3]), audio_);
    pb::SearchQuery q;
    q.set_text("river crossing");
    auto page = a.Search(q);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->hits_size(), 20);
    auto rebuilt = a.Rebuild();
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  }

  TempDir tmp_;
  std::vector<std::string> ids_;
  std::string audio_;
  std::array<uint8_t, 32> identity_{};
  std::array<uint8_t, store::kHashSize> state_{};
};

TEST_F(RekeyCrashTest, KilledAtEveryStepTheVaultOpensWhole) {
  for (int step = static_cast<int>(RekeyStep::kCopied); step <= static_cast<int>(RekeyStep::kDone);
       ++step) {
    SCOPED_TRACE("killed at step " + std::to_string(step));
    const std::string dir = Copy("step" + std::to_string(step));
    const std::string at = "step " + std::to_string(step);
    Ran ran = RunChild({kStepper, dir, std::to_string(step)},
                       {{"ESTELIK_PASSPHRASE", kOld}, {"ESTELIK_NEW_PASSPHRASE", kNew}}, at);
    ASSERT_EQ(ran.out, at + "\n");
    ASSERT_EQ(ran.code, 128 + SIGKILL);

    // Before the commit (store.db.rekey renamed onto store.db) the old key holds; from it on,
    // the new one.
    const bool committed = step >= static_cast<int>(RekeyStep::kStoreSwapped);
    auto wrong = archive::Archive::Open(dir, committed ? kOld : kNew);
    EXPECT_EQ(wrong.status().code(), Code::kWrongPassphrase) << wrong.status().ToString();
    auto a = archive::Archive::Open(dir, committed ? kNew : kOld);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    ExpectWhole(**a);
    EXPECT_FALSE(fs::exists(dir + "/" + vault::kRekeyKeyFileName));
    EXPECT_FALSE(fs::exists(dir + "/" + vault::kRekeyStoreFileName));

    // And the vault re-keys again from there.
    std::unique_ptr<archive::Archive> opened = std::move(a).value();
    ASSERT_TRUE(archive::Archive::Rekey(opened, committed ? kNew : kOld, "third").ok());
    ASSERT_NE(opened, nullptr);
    ExpectWhole(*opened);
  }
}

TEST_F(RekeyCrashTest, TheCliRekeysAndTheOldKeyFileStopsWorking) {
  const std::string dir = Copy("cli");
  const std::string old_key = dir + "/old.key";
  fs::copy_file(dir + "/" + vault::kKeyFileName, old_key);
  Ran ran = RunChild({kCli, "--vault", dir, "rekey", "--new-passphrase"},
                     {{"ESTELIK_PASSPHRASE", kOld}, {"ESTELIK_NEW_PASSPHRASE", kNew}});
  ASSERT_EQ(ran.code, 0) << ran.out;
  EXPECT_NE(ran.out.find("new master key"), std::string::npos) << ran.out;
  {
    auto a = archive::Archive::Open(dir, kNew);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    ExpectWhole(**a);
  }
  fs::copy_file(old_key, dir + "/" + vault::kKeyFileName, fs::copy_options::overwrite_existing);
  Ran list = RunChild({kCli, "--vault", dir, "list"}, {{"ESTELIK_PASSPHRASE", kOld}});
  EXPECT_EQ(list.code, 5) << list.out;  // corrupt: the old key opens nothing in the new store
  EXPECT_EQ(list.out.find("Testimony"), std::string::npos);
}

}  // namespace
}  // namespace estelik::testing
