#include "core/crypto/random.h"

#include <gtest/gtest.h>

#include <set>

namespace estelik::crypto {
namespace {

TEST(RandomTest, RandomArraysDiffer) {
  // Two equal 128-bit draws would mean a broken generator (probability 2^-128).
  EXPECT_NE(RandomArray<16>(), RandomArray<16>());
}

TEST(RandomTest, FillWritesEveryByte) {
  std::array<uint8_t, 256> buffer{};
  RandomFill(buffer);
  // 256 random bytes are all zero with probability 2^-2048; a fill that skipped the tail
  // would leave the last 32 zero with probability ~1.
  EXPECT_NE(std::vector<uint8_t>(buffer.end() - 32, buffer.end()), std::vector<uint8_t>(32, 0));
}

TEST(RandomTest, UniformStaysBelowItsBoundAndReachesEveryValue) {
  std::set<uint32_t> seen;
  for (int i = 0; i < 1000; ++i) {
    uint32_t v = RandomUniform(5);
    ASSERT_LT(v, 5u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 5u);  // misses a value with probability < 5 * 0.8^1000
  EXPECT_EQ(RandomUniform(0), 0u);
  EXPECT_EQ(RandomUniform(1), 0u);
}

}  // namespace
}  // namespace estelik::crypto
