// Op codec: the byte-level rules for ops, envelopes, sealed bodies and circle key grants.
// Pure functions, no database: the OpLog, sync, export and `estelik verify` share them.
//
// docs/FORMAT.md "Ops and envelopes" is the specification; in short:
// - signing input: "estelik-op-v1\0" (14 bytes) || op bytes; detached Ed25519.
// - op hash: BLAKE2b-256 of the op bytes exactly as in Envelope.op (no prefix).
// - sealed_body: nonce(24) || XChaCha20-Poly1305-IETF ciphertext || tag(16), with the
//   81-byte associated data of BodyAssociatedData(). The sealed plaintext is the serialized
//   OpBody (body_codec 0) or its raw DEFLATE (body_codec 1: bodies of at least 64 bytes that
//   deflate smaller), inflated on opening to at most kMaxOpBytes.
// - key grant: crypto_box_seal(recipient X25519, circle_id(32) || epoch(u32 LE) || key(32)).
// - body commitment (Op.body_hash): BLAKE2b-256("estelik-body-v1\0" || plaintext OpBody bytes),
//   always the uncompressed bytes; OpBody.salt (16 random bytes) makes it hiding.
//
// Thread safety: all functions are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto/secret.h"
#include "core/ids.h"
#include "core/log/identity.h"
#include "core/status.h"
#include "proto/op.pb.h"

namespace estelik::log {

inline constexpr uint32_t kOpVersion = 1;
using ::estelik::kCircleIdSize;  // core/ids.h
using ::estelik::kHashSize;
inline constexpr size_t kBodyKeySize = 32;
inline constexpr size_t kNonceSize = 24;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kBodyAdSize = 81;
inline constexpr size_t kGrantPlainSize = kCircleIdSize + 4 + kBodyKeySize;  // 68
inline constexpr size_t kGrantSize = kGrantPlainSize + 48;                   // 116
inline constexpr size_t kMaxOpBytes = 1 << 20;  // larger content travels as attachment chunks
inline constexpr size_t kMaxKeyGrants = 1024;   // members per circle epoch
inline constexpr std::string_view kSignContext{"estelik-op-v1\0", 14};
inline constexpr std::string_view kBodyCommitContext{"estelik-body-v1\0", 16};
inline constexpr size_t kBodySaltSize = 16;
// Op.body_codec: how the sealed plaintext encodes the serialized OpBody.
inline constexpr uint32_t kBodyCodecPlain = 0;
inline constexpr uint32_t kBodyCodecDeflate = 1;    // raw DEFLATE (RFC 1951)
inline constexpr size_t kMinDeflatedBodySize = 64;  // shorter bodies are sealed as they are
inline constexpr int kBodyDeflateLevel = 6;

using OpHash = std::array<uint8_t, kHashSize>;

OpHash HashOpBytes(std::string_view op_bytes);

// Parses Envelope.op and checks the header's shape (version, sizes, seq >= 1, prev all
// zeros iff seq == 1, scope, body and grant sizes, body_hash empty or 32 bytes). Does NOT check the
// signature. Corrupt on any malformation, Unsupported for a newer op version or body codec.
Result<pb::Op> ParseOpHeader(std::string_view op_bytes);

// Checks the envelope's signature over its exact op bytes by `op.author` (op parsed from
// the same envelope). Corrupt with a reason on failure.
Status VerifyEnvelopeSignature(const pb::Envelope& envelope, const pb::Op& op);

// The associated data binding a body to its op header:
// version u32 LE | author (32) | scope kind u8 (0 private, 1 circle) | circle id (32, zeros
// when private) | epoch u32 LE | seq u64 LE.
std::array<uint8_t, kBodyAdSize> BodyAssociatedData(const pb::Op& header);

// Seals `plaintext` with `key` (kBodyKeySize) and `nonce` (kNonceSize; must be fresh random
// except in vector tests).
std::string SealBody(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                     std::span<const uint8_t> ad, std::string_view plaintext);
// Corrupt if the tag does not verify (wrong key, tampered body or header). Returns the sealed
// plaintext as is (still deflated when op.body_codec is 1); OpenBodyBytes decodes it.
Result<std::string> OpenSealed(std::span<const uint8_t> key, std::span<const uint8_t> ad,
                               std::string_view sealed);

// The exact serialized OpBody `op` carries: opens sealed_body with `key`, inflates it when
// body_codec is 1 and checks it against body_hash. These are the bytes evidence reveals; the
// caller wipes them. Corrupt naming the op if the body does not decrypt, is not one complete
// DEFLATE stream or does not match its commitment; LimitExceeded if it would inflate past
// kMaxOpBytes (inflating stops there); Unsupported for a body codec above 1.
Result<std::string> OpenBodyBytes(const pb::Op& op, std::span<const uint8_t> key);

// The commitment an op carries to its plaintext body: BLAKE2b-256 of kBodyCommitContext
// followed by `body_bytes` (the exact serialized OpBody, salt included).
OpHash BodyCommitment(std::string_view body_bytes);

// OK if `op` carries no body_hash (a legacy op) or `body_bytes` match it; otherwise
// Corrupt("op <author fingerprint> seq N: body does not match its signed commitment").
Status CheckBodyCommitment(const pb::Op& op, std::string_view body_bytes);

// Completes `header` (every field but sealed_body, body_hash and body_codec set) into a signed
// envelope: commits to `body` (body_hash), deflates it when it is at least kMinDeflatedBodySize
// bytes and that makes it smaller (body_codec 1, else 0), seals it and signs the serialized op
// once. `header.author` must be `author`'s public key.
pb::Envelope SealAndSign(const Identity& author, pb::Op header, std::string_view body,
                         std::span<const uint8_t> key, std::span<const uint8_t> nonce);

// Circle key grants.
std::string SealGrant(const PublicKey& recipient_x25519, std::span<const uint8_t> circle_id,
                      uint32_t epoch, std::span<const uint8_t> key);
// The key if `grant` is sealed to `me` and names (circle_id, epoch); nullopt otherwise.
std::optional<crypto::SecretBytes> OpenGrant(const Identity& me, std::string_view grant,
                                             std::span<const uint8_t> circle_id, uint32_t epoch);

// A circle's id commits to its admin: BLAKE2b-256("estelik-circle-v1" || admin (32) ||
// salt (kCircleSaltSize)). Nobody but the admin's key can claim to manage the circle.
inline constexpr size_t kCircleSaltSize = 16;
std::string CircleIdFor(std::string_view admin, std::string_view salt);

// Verifies a contiguous run of one author's ops (ascending seq, one scope) the cheap way:
// ONE signature (the newest op's) plus the hash chain from `prev_of_first` through every op.
// A valid run is exactly as authentic as if every signature had been checked, because each
// op's bytes are pinned by the hash in its successor. On success returns the parsed ops and
// their hashes. Corrupt/InvalidArgument naming the first bad op otherwise.
struct VerifiedRun {
  std::vector<pb::Op> ops;
  std::vector<OpHash> hashes;
};
Result<VerifiedRun> VerifyChainRun(std::span<const pb::Envelope> run);

}  // namespace estelik::log
