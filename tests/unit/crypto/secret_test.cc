#include "core/crypto/secret.h"

#include <gtest/gtest.h>

#include <utility>

#include "tests/unit/crypto/test_bytes.h"

namespace estelik::crypto {
namespace {

TEST(SecretBytesTest, NewSecretIsZeroedAndOfTheRequestedSize) {
  SecretBytes s(32);
  ASSERT_EQ(s.size(), 32u);
  EXPECT_FALSE(s.empty());
  EXPECT_EQ(Hex(s.span()), std::string(64, '0'));
}

TEST(SecretBytesTest, CopyOfHoldsTheSameBytes) {
  std::vector<uint8_t> raw = Bytes("key material");
  SecretBytes s = SecretBytes::CopyOf(raw);
  EXPECT_TRUE(ConstantTimeEquals(s.span(), raw));
}

TEST(SecretBytesTest, RandomSecretsDiffer) {
  SecretBytes a = SecretBytes::Random(32), b = SecretBytes::Random(32);
  EXPECT_FALSE(ConstantTimeEquals(a.span(), b.span()));
}

TEST(SecretBytesTest, MoveTransfersOwnershipAndEmptiesTheSource) {
  SecretBytes a = SecretBytes::Random(16);
  SecretBytes copy = a.Clone();
  SecretBytes b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_EQ(a.size(), 0u);
  EXPECT_TRUE(ConstantTimeEquals(b.span(), copy.span()));
}

TEST(SecretBytesTest, WipeEmptiesTheSecret) {
  SecretBytes s = SecretBytes::Random(32);
  s.Wipe();
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.size(), 0u);
  s.Wipe();  // idempotent
}

TEST(ConstantTimeEqualsTest, ComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals(Bytes("abc"), Bytes("abc")));
  EXPECT_FALSE(ConstantTimeEquals(Bytes("abc"), Bytes("abd")));
  EXPECT_FALSE(ConstantTimeEquals(Bytes("abc"), Bytes("abcd")));
  EXPECT_TRUE(ConstantTimeEquals({}, {}));
}

}  // namespace
}  // namespace estelik::crypto
