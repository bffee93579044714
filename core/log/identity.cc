#include "core/log/identity.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/bytes.h"

namespace estelik::log {
namespace {

constexpr std::string_view kFingerprintContext = "estelik-fingerprint-v1";
constexpr std::string_view kSafetyNumberContext = "estelik-safety-number-v1";
constexpr std::string_view kQrPrefix = "ESTELIK:";
constexpr std::string_view kQrVersion = "1";
constexpr size_t kQrChecksumBytes = 4;
constexpr size_t kQrSize = 10 + 2 * kPublicKeySize + 1 + 2 * kQrChecksumBytes;  // 83

// Groups of 5 decimal digits, each from 5 hash bytes read big-endian modulo 100000. The
// bias of 2^40 mod 10^5 is below 1e-7 per group: irrelevant for comparing aloud.
std::string DigitGroups(const uint8_t* hash, size_t groups) {
  std::string out;
  for (size_t g = 0; g < groups; ++g) {
    uint64_t v = 0;
    for (size_t i = 0; i < 5; ++i) v = (v << 8) | hash[5 * g + i];
    char buf[6];
    std::snprintf(buf, sizeof buf, "%05u", static_cast<unsigned>(v % 100000));
    if (g > 0) out.push_back(' ');
    out.append(buf, 5);
  }
  return out;
}

std::string UpperHex(std::span<const uint8_t> bytes) {
  std::string s = Hex(bytes);
  std::transform(s.begin(), s.end(), s.begin(), [](char c) {
    return (c >= 'a' && c <= 'f') ? static_cast<char>(c - 'a' + 'A') : c;
  });
  return s;
}

std::string QrChecksum(std::string_view prefix_and_key) {
  uint8_t h[crypto_generichash_BYTES];
  crypto_generichash(h, sizeof h, AsBytes(prefix_and_key).data(), prefix_and_key.size(), nullptr,
                     0);
  return UpperHex({h, kQrChecksumBytes});
}

bool IsUpperHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); });
}

}  // namespace

Identity Identity::Generate() {
  crypto::SecretBytes seed = crypto::SecretBytes::Random(kSeedSize);
  return std::move(FromSeed(seed.span())).value();
}

Result<Identity> Identity::FromSeed(std::span<const uint8_t> seed) {
  crypto::EnsureSodium();
  if (seed.size() != kSeedSize) {
    return InvalidArgument("identity seed must be 32 bytes, got " + std::to_string(seed.size()));
  }
  Identity id;
  id.seed_ = crypto::SecretBytes::CopyOf(seed);
  id.secret_key_ = crypto::SecretBytes(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(id.public_key_.data(), id.secret_key_.data(), id.seed_.data());
  id.x25519_secret_ = crypto::SecretBytes(crypto_scalarmult_curve25519_BYTES);
  if (crypto_sign_ed25519_pk_to_curve25519(id.x25519_public_.data(), id.public_key_.data()) != 0 ||
      crypto_sign_ed25519_sk_to_curve25519(id.x25519_secret_.data(), id.secret_key_.data()) != 0) {
    return Internal("cannot convert the Ed25519 identity to X25519");
  }
  return id;
}

Signature Identity::Sign(std::span<const uint8_t> message) const {
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_key_.data());
  return sig;
}

bool VerifySignature(std::span<const uint8_t> public_key, std::span<const uint8_t> message,
                     std::span<const uint8_t> signature) {
  crypto::EnsureSodium();
  if (public_key.size() != kPublicKeySize || signature.size() != kSignatureSize) return false;
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     public_key.data()) == 0;
}

Result<PublicKey> X25519FromEd25519(std::span<const uint8_t> ed25519_public_key) {
  crypto::EnsureSodium();
  PublicKey out{};
  if (ed25519_public_key.size() != kPublicKeySize ||
      crypto_sign_ed25519_pk_to_curve25519(out.data(), ed25519_public_key.data()) != 0) {
    return InvalidArgument("not a valid Ed25519 public key");
  }
  return out;
}

std::string Fingerprint(const PublicKey& key) {
  crypto::EnsureSodium();
  uint8_t h[crypto_generichash_BYTES_MAX];
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, sizeof h);
  crypto_generichash_update(&st, AsBytes(kFingerprintContext).data(), kFingerprintContext.size());
  crypto_generichash_update(&st, key.data(), key.size());
  crypto_generichash_final(&st, h, sizeof h);
  return DigitGroups(h, 6);
}

std::string SafetyNumber(const PublicKey& a, const PublicKey& b) {
  crypto::EnsureSodium();
  // Sorting makes the number independent of who computes it.
  const PublicKey& lo = std::memcmp(a.data(), b.data(), kPublicKeySize) <= 0 ? a : b;
  const PublicKey& hi = &lo == &a ? b : a;
  uint8_t h[crypto_generichash_BYTES_MAX];
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, sizeof h);
  crypto_generichash_update(&st, AsBytes(kSafetyNumberContext).data(), kSafetyNumberContext.size());
  crypto_generichash_update(&st, lo.data(), lo.size());
  crypto_generichash_update(&st, hi.data(), hi.size());
  crypto_generichash_final(&st, h, sizeof h);
  return DigitGroups(h, 12);
}

std::string QrPayload(const PublicKey& key) {
  crypto::EnsureSodium();
  std::string body = std::string(kQrPrefix) + std::string(kQrVersion) + ":" + UpperHex(key);
  return body + ":" + QrChecksum(body);
}

Result<PublicKey> ParseQrPayload(std::string_view payload) {
  crypto::EnsureSodium();
  if (payload.substr(0, kQrPrefix.size()) != kQrPrefix) {
    return InvalidArgument("not an Estelik contact code (expected it to start with ESTELIK:)");
  }
  std::string_view rest = payload.substr(kQrPrefix.size());
  size_t colon = rest.find(':');
  std::string_view version = rest.substr(0, colon);
  if (version != kQrVersion) {
    bool numeric =
        !version.empty() && version.size() <= 4 &&
        std::all_of(version.begin(), version.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (numeric && version[0] != '0') {
      return Unsupported("contact code version " + std::string(version) +
                         " is newer than this app understands; update Estelik");
    }
    return InvalidArgument("malformed contact code version");
  }
  if (payload.size() != kQrSize) {
    return InvalidArgument("contact code has the wrong length (" + std::to_string(payload.size()) +
                           " characters, expected " + std::to_string(kQrSize) + ")");
  }
  std::string_view key_hex = payload.substr(10, 2 * kPublicKeySize);
  std::string_view sep = payload.substr(10 + 2 * kPublicKeySize, 1);
  std::string_view check = payload.substr(11 + 2 * kPublicKeySize);
  if (sep != ":" || !IsUpperHex(key_hex) || !IsUpperHex(check)) {
    return InvalidArgument("contact code contains characters outside its format");
  }
  if (QrChecksum(payload.substr(0, 10 + 2 * kPublicKeySize)) != check) {
    return InvalidArgument("contact code checksum does not match (misread or altered)");
  }
  PublicKey key{};
  size_t len = 0;
  if (sodium_hex2bin(key.data(), key.size(), key_hex.data(), key_hex.size(), nullptr, &len,
                     nullptr) != 0 ||
      len != kPublicKeySize) {
    return InvalidArgument("contact code key is not valid hex");
  }
  ESTELIK_RETURN_IF_ERROR(X25519FromEd25519(key).status());
  return key;
}

Result<PublicKey> ParsePublicKey(std::string_view text) {
  if (text.starts_with(kQrPrefix)) return ParseQrPayload(text);
  std::string bytes;
  if (text.size() != 2 * kPublicKeySize || !ParseHexIgnoringCase(text, &bytes)) {
    return InvalidArgument("'" + std::string(text) +
                           "' is not a public key (64 hex digits or a QR payload)");
  }
  PublicKey key{};
  std::copy(bytes.begin(), bytes.end(), key.begin());
  ESTELIK_RETURN_IF_ERROR(X25519FromEd25519(key).status());
  return key;
}

}  // namespace estelik::log
