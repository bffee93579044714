// Holder files: a process holding a vault open is findable by `estelik lock` while it runs,
// and a file naming a process that has since gone (or a recycled pid) is recognised as stale.
#include "core/vault/holder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/support/temp_dir.h"

namespace estelik::vault {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

TEST(HolderTest, ARegisteredProcessIsListedAsAliveUntilItsRegistrationEnds) {
  TempDir tmp;
  std::string path;
  {
    auto registration = HolderRegistration::Register(tmp.path().string());
    ASSERT_TRUE(registration.ok()) << registration.status().ToString();
    path = registration->path();
    auto holders = ListHolders(tmp.path().string());
    ASSERT_EQ(holders.size(), 1u);
    EXPECT_EQ(holders[0].pid, ::getpid());
    EXPECT_TRUE(HolderIsAlive(holders[0]));
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(ListHolders(tmp.path().string()).empty());
}

TEST(HolderTest, AFileWhosePidWasReusedOrIsMalformedIsNotAlive) {
  TempDir tmp;
  const pid_t me = ::getpid();
  // Our pid, but another start time: the process that wrote it is gone, the pid recycled.
  std::ofstream(tmp.path() / ("vault.holder." + std::to_string(me)))
      << me << " " << (*ProcessStartTime(me) + 1) << "\n";
  std::ofstream(tmp.path() / "vault.holder.junk") << "not a pid\n";
  auto holders = ListHolders(tmp.path().string());
  ASSERT_EQ(holders.size(), 2u);
  for (const HolderRecord& h : holders) EXPECT_FALSE(HolderIsAlive(h)) << h.path;
}

}  // namespace
}  // namespace estelik::vault
