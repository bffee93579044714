#include "core/log/op_codec.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "core/bytes.h"
#include "core/deflate.h"

namespace estelik::log {
namespace {

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void PutU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

std::string SigningInput(std::string_view op_bytes) {
  std::string input;
  input.reserve(kSignContext.size() + op_bytes.size());
  input.append(kSignContext);
  input.append(op_bytes);
  return input;
}

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 0; });
}

std::array<uint8_t, kGrantPlainSize> GrantPlain(std::span<const uint8_t> circle_id, uint32_t epoch,
                                                std::span<const uint8_t> key) {
  std::array<uint8_t, kGrantPlainSize> p{};
  std::memcpy(p.data(), circle_id.data(), kCircleIdSize);
  PutU32(p.data() + kCircleIdSize, epoch);
  std::memcpy(p.data() + kCircleIdSize + 4, key.data(), kBodyKeySize);
  return p;
}

// "op <author fingerprint> seq N", how errors name an op.
std::string OpLabel(const pb::Op& op) {
  PublicKey author{};
  std::memcpy(author.data(), op.author().data(), std::min(op.author().size(), author.size()));
  return "op " + Fingerprint(author) + " seq " + std::to_string(op.seq());
}

// Unsupported for a body codec newer than this app (ParseOpHeader, and OpenBodyBytes for ops
// that did not come through it).
Status CheckBodyCodec(const pb::Op& op) {
  if (op.body_codec() <= kBodyCodecDeflate) return Status::Ok();
  return Unsupported("op body codec " + std::to_string(op.body_codec()) +
                     " is newer than this app understands");
}

}  // namespace

OpHash HashOpBytes(std::string_view op_bytes) {
  crypto::EnsureSodium();
  OpHash h{};
  crypto_generichash(h.data(), h.size(), AsBytes(op_bytes).data(), op_bytes.size(), nullptr, 0);
  return h;
}

Result<pb::Op> ParseOpHeader(std::string_view op_bytes) {
  if (op_bytes.size() > kMaxOpBytes) {
    return LimitExceeded("op is " + std::to_string(op_bytes.size()) + " bytes; the limit is 1 MiB");
  }
  pb::Op op;
  if (!op.ParseFromArray(op_bytes.data(), static_cast<int>(op_bytes.size()))) {
    return Corrupt("op bytes are not a valid Op message");
  }
  if (op.version() != kOpVersion) {
    if (op.version() > kOpVersion) {
      return Unsupported("op version " + std::to_string(op.version()) +
                         " is newer than this app understands");
    }
    return Corrupt("op version 0 is invalid");
  }
  if (op.author().size() != kPublicKeySize) return Corrupt("op author is not a 32-byte key");
  if (op.seq() == 0) return Corrupt("op seq must start at 1");
  if (op.prev().size() != kHashSize) return Corrupt("op prev is not a 32-byte hash");
  if ((op.seq() == 1) != AllZero(op.prev())) {
    return Corrupt(op.seq() == 1 ? "op seq 1 must have an all-zero prev"
                                 : "op prev is all zeros after seq 1");
  }
  if (!op.has_hlc()) return Corrupt("op has no clock reading");
  const auto& scope = op.scope();
  if (!scope.circle_id().empty() && scope.circle_id().size() != kCircleIdSize) {
    return Corrupt("op circle id is not 32 bytes");
  }
  if (scope.circle_id().empty() && scope.epoch() != 0) {
    return Corrupt("private op has a circle epoch");
  }
  if (op.sealed_body().size() < kNonceSize + kTagSize) return Corrupt("op body is truncated");
  if (!op.body_hash().empty() && op.body_hash().size() != kHashSize) {
    return Corrupt("op body_hash is not a 32-byte hash");
  }
  ESTELIK_RETURN_IF_ERROR(CheckBodyCodec(op));
  if (op.key_grants_size() > static_cast<int>(kMaxKeyGrants)) {
    return LimitExceeded("op carries more than 1024 key grants");
  }
  for (const auto& g : op.key_grants()) {
    if (g.size() != kGrantSize) return Corrupt("op key grant has the wrong size");
  }
  return op;
}

Status VerifyEnvelopeSignature(const pb::Envelope& envelope, const pb::Op& op) {
  if (envelope.signature().size() != kSignatureSize) {
    return Corrupt("op signature is not 64 bytes");
  }
  if (!VerifySignature(AsBytes(op.author()), AsBytes(SigningInput(envelope.op())),
                       AsBytes(envelope.signature()))) {
    return Corrupt("op signature does not verify (forged or altered op seq " +
                   std::to_string(op.seq()) + ")");
  }
  return Status::Ok();
}

std::array<uint8_t, kBodyAdSize> BodyAssociatedData(const pb::Op& header) {
  std::array<uint8_t, kBodyAdSize> ad{};
  uint8_t* p = ad.data();
  PutU32(p, header.version());
  std::memcpy(p + 4, header.author().data(), std::min(header.author().size(), kPublicKeySize));
  const std::string& circle = header.scope().circle_id();
  p[36] = circle.empty() ? 0 : 1;
  std::memcpy(p + 37, circle.data(), std::min(circle.size(), kCircleIdSize));
  PutU32(p + 69, header.scope().epoch());
  PutU64(p + 73, header.seq());
  return ad;
}

std::string SealBody(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                     std::span<const uint8_t> ad, std::string_view plaintext) {
  crypto::EnsureSodium();
  std::string out(kNonceSize + plaintext.size() + kTagSize, '\0');
  auto* o = reinterpret_cast<uint8_t*>(out.data());
  std::memcpy(o, nonce.data(), kNonceSize);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(o + kNonceSize, &clen, AsBytes(plaintext).data(),
                                             plaintext.size(), ad.data(), ad.size(), nullptr, o,
                                             key.data());
  return out;
}

Result<std::string> OpenSealed(std::span<const uint8_t> key, std::span<const uint8_t> ad,
                               std::string_view sealed) {
  crypto::EnsureSodium();
  if (sealed.size() < kNonceSize + kTagSize || key.size() != kBodyKeySize) {
    return Corrupt("sealed body is truncated");
  }
  auto s = AsBytes(sealed);
  std::string out(sealed.size() - kNonceSize - kTagSize, '\0');
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<uint8_t*>(out.data()), &mlen, nullptr, s.data() + kNonceSize,
          s.size() - kNonceSize, ad.data(), ad.size(), s.data(), key.data()) != 0) {
    sodium_memzero(out.data(), out.size());
    return Corrupt("op body does not decrypt: wrong key, or the op was tampered with");
  }
  return out;
}

OpHash BodyCommitment(std::string_view body_bytes) {
  crypto::EnsureSodium();
  OpHash h{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, h.size());
  crypto_generichash_update(&st, AsBytes(kBodyCommitContext).data(), kBodyCommitContext.size());
  crypto_generichash_update(&st, AsBytes(body_bytes).data(), body_bytes.size());
  crypto_generichash_final(&st, h.data(), h.size());
  return h;
}

Status CheckBodyCommitment(const pb::Op& op, std::string_view body_bytes) {
  if (op.body_hash().empty()) return Status::Ok();
  OpHash h = BodyCommitment(body_bytes);
  if (op.body_hash().size() == kHashSize &&
      crypto::ConstantTimeEquals(AsBytes(op.body_hash()), h)) {
    return Status::Ok();
  }
  return Corrupt(OpLabel(op) + ": body does not match its signed commitment");
}

Result<std::string> OpenBodyBytes(const pb::Op& op, std::span<const uint8_t> key) {
  ESTELIK_RETURN_IF_ERROR(CheckBodyCodec(op));
  ESTELIK_ASSIGN_OR_RETURN(std::string sealed_plain,
                           OpenSealed(key, BodyAssociatedData(op), op.sealed_body()));
  std::string body;
  if (op.body_codec() == kBodyCodecDeflate) {
    // The bound is the op limit: no honest body is larger (Append refuses it), and a bomb
    // stops there instead of exhausting memory.
    Result<std::string> inflated = InflateRaw(sealed_plain, kMaxOpBytes, OpLabel(op) + " body");
    sodium_memzero(sealed_plain.data(), sealed_plain.size());
    if (!inflated.ok()) return inflated.status();
    body = std::move(inflated).value();
  } else {
    body = std::move(sealed_plain);
  }
  // The commitment is over the uncompressed bytes: they are what evidence reveals.
  Status committed = CheckBodyCommitment(op, body);
  if (!committed.ok()) {
    sodium_memzero(body.data(), body.size());
    return committed;
  }
  return body;
}

pb::Envelope SealAndSign(const Identity& author, pb::Op header, std::string_view body,
                         std::span<const uint8_t> key, std::span<const uint8_t> nonce) {
  // The commitment is signed with the header, so a verifier who is shown the plaintext body
  // (evidence export) can check it without the sealing key.
  OpHash commitment = BodyCommitment(body);
  header.set_body_hash(commitment.data(), commitment.size());
  // Compressed before sealing, since ciphertext does not compress. Only the author chooses
  // the content, so the sealed length is no chosen-plaintext oracle (docs/THREAT_MODEL.md).
  std::string deflated;
  if (body.size() >= kMinDeflatedBodySize) deflated = DeflateRaw(body, kBodyDeflateLevel);
  const bool compress = !deflated.empty() && deflated.size() < body.size();
  header.set_body_codec(compress ? kBodyCodecDeflate : kBodyCodecPlain);
  auto ad = BodyAssociatedData(header);
  header.set_sealed_body(SealBody(key, nonce, ad, compress ? std::string_view(deflated) : body));
  sodium_memzero(deflated.data(), deflated.size());
  pb::Envelope env;
  // Serialized once; these bytes are what is hashed, signed, stored and sent, forever.
  env.set_op(header.SerializeAsString());
  Signature sig = author.Sign(AsBytes(SigningInput(env.op())));
  env.set_signature(sig.data(), sig.size());
  return env;
}

std::string SealGrant(const PublicKey& recipient_x25519, std::span<const uint8_t> circle_id,
                      uint32_t epoch, std::span<const uint8_t> key) {
  crypto::EnsureSodium();
  auto plain = GrantPlain(circle_id, epoch, key);
  std::string out(kGrantSize, '\0');
  crypto_box_seal(reinterpret_cast<uint8_t*>(out.data()), plain.data(), plain.size(),
                  recipient_x25519.data());
  sodium_memzero(plain.data(), plain.size());
  return out;
}

std::optional<crypto::SecretBytes> OpenGrant(const Identity& me, std::string_view grant,
                                             std::span<const uint8_t> circle_id, uint32_t epoch) {
  if (grant.size() != kGrantSize || circle_id.size() != kCircleIdSize) return std::nullopt;
  crypto::SecretBytes plain(kGrantPlainSize);
  if (crypto_box_seal_open(plain.data(), AsBytes(grant).data(), grant.size(),
                           me.x25519_public_key().data(), me.x25519_secret_key().data()) != 0) {
    return std::nullopt;
  }
  uint8_t e[4];
  PutU32(e, epoch);
  // A grant for another circle or epoch must not be mistaken for this one.
  if (std::memcmp(plain.data(), circle_id.data(), kCircleIdSize) != 0 ||
      std::memcmp(plain.data() + kCircleIdSize, e, 4) != 0) {
    return std::nullopt;
  }
  return crypto::SecretBytes::CopyOf(plain.span().subspan(kCircleIdSize + 4, kBodyKeySize));
}

std::string CircleIdFor(std::string_view admin, std::string_view salt) {
  crypto::EnsureSodium();
  constexpr std::string_view kContext = "estelik-circle-v1";
  std::string id(kCircleIdSize, '\0');
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, kCircleIdSize);
  crypto_generichash_update(&st, AsBytes(kContext).data(), kContext.size());
  crypto_generichash_update(&st, AsBytes(admin).data(), admin.size());
  crypto_generichash_update(&st, AsBytes(salt).data(), salt.size());
  crypto_generichash_final(&st, reinterpret_cast<uint8_t*>(id.data()), id.size());
  return id;
}

Result<VerifiedRun> VerifyChainRun(std::span<const pb::Envelope> run) {
  VerifiedRun out;
  if (run.empty()) return out;
  out.ops.reserve(run.size());
  out.hashes.reserve(run.size());
  for (size_t i = 0; i < run.size(); ++i) {
    ESTELIK_ASSIGN_OR_RETURN(pb::Op op, ParseOpHeader(run[i].op()));
    if (i > 0) {
      const pb::Op& first = out.ops.front();
      if (op.author() != first.author() || op.scope().circle_id() != first.scope().circle_id()) {
        return InvalidArgument("a run must hold one author's ops in one scope");
      }
      if (op.seq() != out.ops.back().seq() + 1) {
        return InvalidArgument("a run must hold contiguous ascending seqs");
      }
      const OpHash& prev = out.hashes.back();
      if (!crypto::ConstantTimeEquals(AsBytes(op.prev()), prev)) {
        return Corrupt("hash chain broken at seq " + std::to_string(op.seq()) + ": op seq " +
                       std::to_string(op.seq() - 1) + " was altered or replaced");
      }
    }
    out.hashes.push_back(HashOpBytes(run[i].op()));
    out.ops.push_back(std::move(op));
  }
  ESTELIK_RETURN_IF_ERROR(VerifyEnvelopeSignature(run.back(), out.ops.back()));
  return out;
}

}  // namespace estelik::log
