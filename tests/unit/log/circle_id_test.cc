// The circle id derivation exactly as docs/FORMAT.md "Circle keys and grants" and
// docs/PROTOCOL.md "Encoding" state it: unkeyed BLAKE2b-256 of the 17 bytes "estelik-circle-v1"
// (no NUL) || admin (32) || salt (16).
#include <gtest/gtest.h>

#include <string>

#include "core/crypto/hash.h"
#include "core/log/op_codec.h"

namespace estelik::log {
namespace {

TEST(CircleId, IsTheDocumentedHashOfLabelAdminAndSalt) {
  const std::string admin(32, '\xa1');
  const std::string salt(kCircleSaltSize, '\x5c');
  const std::string label = "estelik-circle-v1";
  ASSERT_EQ(label.size(), 17u);
  const crypto::Hash256 expected = crypto::Blake2b256(label + admin + salt);
  const std::string id = CircleIdFor(admin, salt);
  ASSERT_EQ(id.size(), kCircleIdSize);
  EXPECT_EQ(id, std::string(expected.begin(), expected.end()));
  // With a NUL after the label it would be another id.
  const crypto::Hash256 with_nul = crypto::Blake2b256(label + std::string(1, '\0') + admin + salt);
  EXPECT_NE(id, std::string(with_nul.begin(), with_nul.end()));
}

}  // namespace
}  // namespace estelik::log
