#include <gtest/gtest.h>

#include <cstdint>

#include "sync/net/backoff.h"

namespace estelik::sync::net {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kLowest = 0;
constexpr uint64_t kHighest = UINT64_MAX;
constexpr uint64_t kMiddle = uint64_t{1} << 63;

TEST(BackoffTest, DelayDoublesFromTheInitialDelayWithoutJitter) {
  BackoffPolicy policy{.initial = 100ms, .max = 10s, .multiplier = 2.0, .jitter = 0.0};
  EXPECT_EQ(BackoffDelay(policy, 1, kMiddle), 100ms);
  EXPECT_EQ(BackoffDelay(policy, 2, kMiddle), 200ms);
  EXPECT_EQ(BackoffDelay(policy, 3, kMiddle), 400ms);
  EXPECT_EQ(BackoffDelay(policy, 0, kMiddle), 100ms);  // treated as the first retry
}

TEST(BackoffTest, DelayNeverExceedsTheMaximumEvenAfterManyRetries) {
  BackoffPolicy policy{.initial = 100ms, .max = 5s, .multiplier = 2.0, .jitter = 0.5};
  for (int retry : {10, 64, 1000, 1 << 30}) {
    EXPECT_LE(BackoffDelay(policy, retry, kHighest), 5s) << retry;
    EXPECT_GE(BackoffDelay(policy, retry, kLowest), 2500ms) << retry;
  }
}

TEST(BackoffTest, JitterSpreadsTheDelayOverTheRandomFraction) {
  BackoffPolicy policy{.initial = 1000ms, .max = 10s, .multiplier = 2.0, .jitter = 0.5};
  EXPECT_EQ(BackoffDelay(policy, 1, kLowest), 500ms);
  EXPECT_EQ(BackoffDelay(policy, 1, kMiddle), 750ms);
  EXPECT_GE(BackoffDelay(policy, 1, kHighest), 999ms);
  EXPECT_LE(BackoffDelay(policy, 1, kHighest), 1000ms);
}

TEST(BackoffTest, OutOfRangePolicyValuesAreClamped) {
  BackoffPolicy policy{.initial = 100ms, .max = 1s, .multiplier = 0.1, .jitter = 7.0};
  // A multiplier below 1 would shrink the delay; jitter above 1 would make it negative.
  EXPECT_EQ(BackoffDelay(policy, 5, kLowest), 0ms);
  EXPECT_LE(BackoffDelay(policy, 5, kHighest), 100ms);
  EXPECT_GE(BackoffDelay(policy, 5, kHighest), 99ms);
}

}  // namespace
}  // namespace estelik::sync::net
