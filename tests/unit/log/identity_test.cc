#include "core/log/identity.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "core/bytes.h"
#include "tests/unit/log/log_test_util.h"

namespace estelik::log {
namespace {

using testing::Seed;

Identity Fixed(uint8_t b) { return std::move(Identity::FromSeed(Seed(b))).value(); }

// "ddddd ddddd ..." with `groups` groups (plain code: GCC 12 warns inside <regex> under ASan).
bool IsDigitGroups(const std::string& s, size_t groups) {
  if (s.size() != groups * 6 - 1) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool ok = (i % 6 == 5) ? s[i] == ' ' : std::isdigit(static_cast<unsigned char>(s[i])) != 0;
    if (!ok) return false;
  }
  return true;
}

bool IsUpperHex(const std::string& s) {
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && (c < 'A' || c > 'F')) return false;
  }
  return true;
}

TEST(IdentityTest, SameSeedGivesSameKeysAndX25519FormMatches) {
  Identity a = Fixed(1), b = Fixed(1), c = Fixed(2);
  EXPECT_EQ(a.public_key(), b.public_key());
  EXPECT_NE(a.public_key(), c.public_key());
  auto x = X25519FromEd25519(a.public_key());
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(*x, a.x25519_public_key());
}

TEST(IdentityTest, WrongSeedSizeIsRejected) {
  std::vector<uint8_t> short_seed(31);
  EXPECT_EQ(Identity::FromSeed(short_seed).status().code(), Code::kInvalidArgument);
}

TEST(IdentityTest, SignatureVerifiesOnlyForTheSignedMessageAndKey) {
  Identity a = Fixed(1), b = Fixed(2);
  std::string msg = "testimony";
  auto sig = a.Sign(AsBytes(msg));
  EXPECT_TRUE(VerifySignature(a.public_key(), AsBytes(msg), sig));
  EXPECT_FALSE(VerifySignature(b.public_key(), AsBytes(msg), sig));
  EXPECT_FALSE(VerifySignature(a.public_key(), AsBytes(std::string("testimonY")), sig));
}

TEST(SafetyNumberTest, BothPeopleSeeTheSameSixtyDigits) {
  Identity a = Fixed(1), b = Fixed(2), c = Fixed(3);
  std::string ab = SafetyNumber(a.public_key(), b.public_key());
  EXPECT_EQ(ab, SafetyNumber(b.public_key(), a.public_key()));
  EXPECT_NE(ab, SafetyNumber(a.public_key(), c.public_key()));
  EXPECT_TRUE(IsDigitGroups(ab, 12)) << ab;
}

TEST(SafetyNumberTest, FingerprintIsThirtyDigitsAndDiffersPerKey) {
  std::string f = Fingerprint(Fixed(1).public_key());
  EXPECT_TRUE(IsDigitGroups(f, 6)) << f;
  EXPECT_NE(f, Fingerprint(Fixed(2).public_key()));
  EXPECT_EQ(f, Fingerprint(Fixed(1).public_key()));
}

TEST(QrPayloadTest, RoundTripsAndUsesOnlyQrAlphanumericCharacters) {
  Identity a = Fixed(1);
  std::string qr = QrPayload(a.public_key());
  EXPECT_EQ(qr.size(), 83u);
  EXPECT_EQ(qr.substr(0, 10), "ESTELIK:1:");
  EXPECT_TRUE(IsUpperHex(qr.substr(10, 64))) << qr;
  EXPECT_EQ(qr[74], ':');
  EXPECT_TRUE(IsUpperHex(qr.substr(75))) << qr;
  auto parsed = ParseQrPayload(qr);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, a.public_key());
}

TEST(QrPayloadTest, HostileOrDamagedPayloadsAreRejected) {
  std::string qr = QrPayload(Fixed(1).public_key());
  std::vector<std::string> bad = {
      "",
      "ESTELIK:",
      "ESTELIK:1:",
      qr.substr(0, qr.size() - 1),
      qr + "0",
      "estelik" + qr.substr(7),
      "ESTELIK:01" + qr.substr(9),
      "ESTELIK:x:" + qr.substr(10),
      std::string(83, 'A'),
      std::string(100000, ':'),
      qr.substr(0, 10) + "g" + qr.substr(11),
  };
  // Lower-case hex, and every single-character change, must fail too.
  std::string lower = qr;
  for (size_t i = 10; i < lower.size(); ++i) lower[i] = static_cast<char>(std::tolower(lower[i]));
  if (lower != qr) bad.push_back(lower);
  for (size_t i = 0; i < qr.size(); ++i) {
    std::string m = qr;
    m[i] = m[i] == '0' ? '1' : '0';
    bad.push_back(m);
  }
  for (const auto& b : bad) {
    auto r = ParseQrPayload(b);
    EXPECT_FALSE(r.ok()) << b;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << b;
    }
  }
  // A future version is reported as such, so the app can say "update Estelik".
  EXPECT_EQ(ParseQrPayload("ESTELIK:2:" + qr.substr(10)).status().code(), Code::kUnsupported);
}

TEST(QrPayloadTest, KeyThatIsNotAValidPointIsRejectedEvenWithAGoodChecksum) {
  PublicKey zero{};  // small-order point: not a usable identity
  EXPECT_EQ(ParseQrPayload(QrPayload(zero)).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace estelik::log
