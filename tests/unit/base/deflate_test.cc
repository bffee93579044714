#include "core/deflate.h"

#include <gtest/gtest.h>

#include <random>

namespace estelik {
namespace {

std::string Text(size_t n) {
  const std::string words[] = {"Жаңаөзен ", "алаңы ", "Zhanaozen ", "square ", "декабрь ", "16 "};
  std::mt19937 rng(7);
  std::string s;
  while (s.size() < n) s += words[rng() % 6];
  return s;
}

TEST(DeflateTest, RoundTripsTextAndShrinksIt) {
  std::string text = Text(4000);
  std::string packed = DeflateRaw(text);
  EXPECT_LT(packed.size(), text.size() / 2);
  auto back = InflateRaw(packed, text.size(), "test");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, text);
}

TEST(DeflateTest, RoundTripsEmptyAndIncompressibleInput) {
  for (const std::string& input : {std::string(), std::string(70000, '\0')}) {
    std::string noise = input;
    std::mt19937 rng(1);
    for (char& c : noise) c = static_cast<char>(rng());
    auto back = InflateRaw(DeflateRaw(noise), noise.size(), "test");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, noise);
  }
}

TEST(DeflateTest, StopsABombAtTheLimit) {
  // 64 MiB of zeros deflates to about 64 KiB; the limit stops inflation at 1 MiB + 1.
  std::string bomb = DeflateRaw(std::string(64u << 20, '\0'), 9);
  auto r = InflateRaw(bomb, 1 << 20, "op body");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kLimitExceeded);
  EXPECT_NE(r.status().message().find("op body inflates to more than 1048576 bytes"),
            std::string::npos)
      << r.status().ToString();
  // Exactly at the limit is fine.
  auto exact = InflateRaw(DeflateRaw(std::string(1 << 20, 'x')), 1 << 20, "op body");
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  EXPECT_EQ(exact->size(), 1u << 20);
}

TEST(DeflateTest, RejectsTruncatedGarbageAndTrailingBytes) {
  std::string packed = DeflateRaw(Text(3000));
  auto truncated = InflateRaw(packed.substr(0, packed.size() / 2), 1 << 20, "message");
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().code(), Code::kCorrupt);
  EXPECT_NE(truncated.status().message().find("message is not a complete DEFLATE stream"),
            std::string::npos);

  auto garbage = InflateRaw(std::string("\xff\xff\xff\xff garbage", 12), 1 << 20, "message");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().code(), Code::kCorrupt);

  auto trailing = InflateRaw(packed + "x", 1 << 20, "message");
  ASSERT_FALSE(trailing.ok());
  EXPECT_EQ(trailing.status().code(), Code::kCorrupt);
  EXPECT_NE(trailing.status().message().find("bytes after its DEFLATE stream"), std::string::npos);
}

}  // namespace
}  // namespace estelik
