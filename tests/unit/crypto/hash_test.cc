#include "core/crypto/hash.h"

#include <gtest/gtest.h>

#include "tests/unit/crypto/test_bytes.h"

namespace estelik::crypto {
namespace {

// BLAKE2b with a 32-byte digest (RFC 7693 parameters), also computed by Python's hashlib.
TEST(Blake2b256Test, MatchesKnownDigests) {
  EXPECT_EQ(Hex(Blake2b256("")),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(Hex(Blake2b256("abc")),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
  EXPECT_EQ(Blake2b256(Bytes("abc")), Blake2b256("abc"));
}

TEST(HasherTest, StreamingInPiecesEqualsOneShot) {
  std::string message;
  for (int i = 0; i < 1000; ++i) message += static_cast<char>(i * 7);
  Hasher hasher;
  hasher.Update(std::string_view(message).substr(0, 1));
  hasher.Update(std::string_view(message).substr(1, 300));
  hasher.Update(Bytes(std::string_view(message).substr(301)));
  EXPECT_EQ(hasher.Finish(), Blake2b256(message));
}

TEST(HasherTest, FinishStartsOverSoAHasherCanBeReused) {
  Hasher hasher;
  hasher.Update("first");
  EXPECT_EQ(hasher.Finish(), Blake2b256("first"));
  EXPECT_EQ(hasher.Finish(), Blake2b256(""));
  hasher.Update("abc");
  EXPECT_EQ(hasher.Finish(), Blake2b256("abc"));
}

TEST(HasherTest, ACopyForksTheState) {
  Hasher a;
  a.Update("common ");
  Hasher b = a;
  a.Update("left");
  b.Update("right");
  EXPECT_EQ(a.Finish(), Blake2b256("common left"));
  EXPECT_EQ(b.Finish(), Blake2b256("common right"));
}

}  // namespace
}  // namespace estelik::crypto
