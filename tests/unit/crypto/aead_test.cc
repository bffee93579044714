#include "core/crypto/aead.h"

#include <gtest/gtest.h>

#include "tests/unit/crypto/test_bytes.h"

namespace estelik::crypto::aead {
namespace {

TEST(AeadTest, OpenReturnsWhatSealSealed) {
  SecretBytes key = NewKey();
  std::vector<uint8_t> plaintext = Bytes("testimony: the 16th of December");
  Result<std::vector<uint8_t>> sealed = Seal(key, plaintext, Bytes("record 7"));
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), plaintext.size() + kOverhead);
  Result<std::vector<uint8_t>> opened = Open(key, *sealed, Bytes("record 7"));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, plaintext);
}

TEST(AeadTest, EverySealUsesAFreshNonce) {
  SecretBytes key = NewKey();
  Result<std::vector<uint8_t>> a = Seal(key, Bytes("same"));
  Result<std::vector<uint8_t>> b = Seal(key, Bytes("same"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(std::vector<uint8_t>(a->begin(), a->begin() + kNonceSize),
            std::vector<uint8_t>(b->begin(), b->begin() + kNonceSize));
  EXPECT_NE(*a, *b);
}

TEST(AeadTest, TamperedBytesWrongKeyOrOtherContextAreCorrupt) {
  SecretBytes key = NewKey();
  Result<std::vector<uint8_t>> sealed = Seal(key, Bytes("secret"), Bytes("page 1"));
  ASSERT_TRUE(sealed.ok());
  for (size_t i = 0; i < sealed->size(); ++i) {
    std::vector<uint8_t> tampered = *sealed;
    tampered[i] ^= 0x01;
    EXPECT_EQ(Open(key, tampered, Bytes("page 1")).status().code(), Code::kCorrupt) << i;
  }
  EXPECT_EQ(Open(key, *sealed, Bytes("page 2")).status().code(), Code::kCorrupt);
  EXPECT_EQ(Open(NewKey(), *sealed, Bytes("page 1")).status().code(), Code::kCorrupt);
  Result<std::vector<uint8_t>> opened = Open(key, *sealed, Bytes("page 1"));
  EXPECT_TRUE(opened.ok());
}

TEST(AeadTest, TooShortInputIsCorruptNotACrash) {
  SecretBytes key = NewKey();
  for (size_t size : {size_t{0}, size_t{1}, kOverhead - 1}) {
    std::vector<uint8_t> junk(size, 0xAB);
    Result<std::vector<uint8_t>> opened = Open(key, junk);
    EXPECT_EQ(opened.status().code(), Code::kCorrupt) << size;
    EXPECT_NE(opened.status().message().find("corrupt or tampered"), std::string::npos);
  }
}

TEST(AeadTest, EmptyPlaintextIsSealedAndAuthenticated) {
  SecretBytes key = NewKey();
  Result<std::vector<uint8_t>> sealed = Seal(key, {});
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), kOverhead);
  Result<std::vector<uint8_t>> opened = Open(key, *sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->empty());
}

TEST(AeadTest, AKeyOfTheWrongSizeIsRejected) {
  SecretBytes short_key = SecretBytes::Random(16);
  EXPECT_EQ(Seal(short_key, Bytes("x")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Open(short_key, std::vector<uint8_t>(64)).status().code(), Code::kInvalidArgument);
}

TEST(AeadTest, OpenSecretKeepsThePlaintextInSecureMemory) {
  SecretBytes kek = NewKey();
  SecretBytes inner = NewKey();
  Result<std::vector<uint8_t>> sealed = Seal(kek, inner.span(), Bytes("wrap"));
  ASSERT_TRUE(sealed.ok());
  Result<SecretBytes> opened = OpenSecret(kek, *sealed, Bytes("wrap"));
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(ConstantTimeEquals(opened->span(), inner.span()));
  EXPECT_EQ(OpenSecret(kek, *sealed, Bytes("other")).status().code(), Code::kCorrupt);
}

// draft-irtf-cfrg-xchacha-03, appendix A.3.1: Open() reads the nonce || ciphertext || tag
// layout Seal() writes, and the primitive is the standard one.
TEST(AeadTest, OpensTheXChaCha20Poly1305StandardVector) {
  SecretBytes key = SecretBytes::CopyOf(
      FromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"));
  std::vector<uint8_t> sealed = FromHex(
      "404142434445464748494a4b4c4d4e4f5051525354555657"  // nonce
      "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f"
      "4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f"
      "76b2383565d3fff921f9664c97637da9768812f615c68b13b52e"
      "c0875924c1c7987947deafd8780acf49");  // tag
  Result<std::vector<uint8_t>> opened = Open(key, sealed, FromHex("50515253c0c1c2c3c4c5c6c7"));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(std::string(opened->begin(), opened->end()),
            "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
            "future, sunscreen would be it.");
}

}  // namespace
}  // namespace estelik::crypto::aead
