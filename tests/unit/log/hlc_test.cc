#include "core/log/hlc.h"

#include <gtest/gtest.h>

namespace estelik::log {
namespace {

pb::Hlc H(uint64_t wall, uint32_t counter) {
  pb::Hlc h;
  h.set_wall_ms(wall);
  h.set_counter(counter);
  return h;
}

TEST(HlcTest, ReadingsFollowThePhysicalClockWhenItMovesForward) {
  HybridClock c;
  EXPECT_EQ(CompareHlc(c.Now(1000), H(1000, 0)), 0);
  EXPECT_EQ(CompareHlc(c.Now(2000), H(2000, 0)), 0);
}

TEST(HlcTest, StaysMonotonicWhenTheDeviceClockJumpsBackwards) {
  HybridClock c;
  pb::Hlc prev = c.Now(5000);
  for (uint64_t t : {4000, 3000, 5000, 1, 4999}) {
    pb::Hlc now = c.Now(t);
    EXPECT_GT(CompareHlc(now, prev), 0);
    EXPECT_EQ(now.wall_ms(), 5000u);
    prev = now;
  }
  EXPECT_EQ(CompareHlc(c.Now(6000), H(6000, 0)), 0);
}

TEST(HlcTest, ObservingAPeerOrdersLaterLocalEventsAfterIt) {
  HybridClock c;
  c.Now(1000);
  auto obs = c.Observe(H(3000, 4), 1000);  // peer's clock is 2 s ahead: fine
  EXPECT_FALSE(obs.far_future);
  EXPECT_EQ(CompareHlc(obs.now, H(3000, 5)), 0);
  EXPECT_GT(CompareHlc(c.Now(1001), H(3000, 5)), 0);
}

TEST(HlcTest, ObservingAnOlderPeerKeepsOurClock) {
  HybridClock c;
  c.Now(5000);
  auto obs = c.Observe(H(10, 99), 5000);
  EXPECT_EQ(CompareHlc(obs.now, H(5000, 1)), 0);
}

TEST(HlcTest, PeerFarInTheFutureIsFlaggedAndCannotDragOurClockWithIt) {
  HybridClock c(/*max_drift_ms=*/1000);
  c.Now(10'000);
  auto obs = c.Observe(H(1'000'000'000, 0), 10'000);
  EXPECT_TRUE(obs.far_future);
  EXPECT_LE(obs.now.wall_ms(), 11'000u);  // clamped to physical + max drift
  pb::Hlc next = c.Now(10'001);
  EXPECT_GT(CompareHlc(next, obs.now), 0);
  EXPECT_LT(next.wall_ms(), 1'000'000'000u);
  // A peer within the bound is not flagged.
  EXPECT_FALSE(c.Observe(H(10'900, 0), 10'000).far_future);
}

TEST(HlcTest, CounterOverflowCarriesIntoTheNextMillisecond) {
  HybridClock c;
  c.Restore(H(7, 0xFFFFFFFFu));
  pb::Hlc n = c.Now(7);
  EXPECT_EQ(CompareHlc(n, H(8, 0)), 0);
  c.Restore(H(9, 0xFFFFFFFFu));
  EXPECT_EQ(CompareHlc(c.Observe(H(9, 0xFFFFFFFFu), 9).now, H(10, 0)), 0);
}

TEST(HlcTest, RestoreNeverMovesTheClockBackwards) {
  HybridClock c;
  c.Now(5000);
  c.Restore(H(100, 0));
  EXPECT_EQ(c.last().wall_ms(), 5000u);
}

}  // namespace
}  // namespace estelik::log
