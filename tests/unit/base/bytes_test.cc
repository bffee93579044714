#include "core/bytes.h"

#include <gtest/gtest.h>

#include <array>

#include "core/ids.h"

namespace estelik {
namespace {

TEST(BytesTest, HexIsLowerCaseTwoDigitsAByteAndParsesBack) {
  const std::string bytes("\x00\x01\xab\xff\x7f", 5);
  EXPECT_EQ(Hex(bytes), "0001abff7f");
  std::string back;
  ASSERT_TRUE(ParseHex("0001abff7f", &back));
  EXPECT_EQ(back, bytes);
  std::array<uint8_t, 2> array{0xde, 0xad};
  EXPECT_EQ(Hex(array), "dead");
  EXPECT_EQ(Hex(std::string()), "");
}

TEST(BytesTest, ParseHexTakesOneSpellingPerValueAndTypedTextInEitherCase) {
  std::string out;
  EXPECT_FALSE(ParseHex("ABCD", &out));  // the engine writes lower case only
  EXPECT_FALSE(ParseHex("abc", &out));   // odd length
  EXPECT_FALSE(ParseHex("zz", &out));
  ASSERT_TRUE(ParseHexIgnoringCase("ABcd", &out));
  EXPECT_EQ(out, "\xab\xcd");
  EXPECT_FALSE(ParseHexIgnoringCase("0g", &out));
}

TEST(BytesTest, IsLowerHexAcceptsAnyNonEmptyPrefix) {
  EXPECT_TRUE(IsLowerHex("abc"));
  EXPECT_FALSE(IsLowerHex(""));
  EXPECT_FALSE(IsLowerHex("ABC"));
  EXPECT_FALSE(IsLowerHex("12 3"));
}

TEST(BytesTest, ShortIdIsTheFirstEightBytesAsSixteenDigits) {
  const std::string id(kTestimonyIdSize, '\x5a');
  EXPECT_EQ(ShortId(id), "5a5a5a5a5a5a5a5a");
  EXPECT_EQ(ShortId(id).size(), 2 * kShortIdBytes);
  std::array<uint8_t, kPublicKeySize> key{};
  key[0] = 0x01;
  EXPECT_EQ(ShortId(key), "0100000000000000");
  EXPECT_EQ(ShortId(std::string("\x0f", 1)), "0f");  // a shorter id is shown whole
}

}  // namespace
}  // namespace estelik
