// RawPeer: an Estelik transport peer written in the test from docs/PROTOCOL.md alone, on the
// Noise building blocks of noise.h, with none of SecureChannel's checks. Tests and fuzz
// targets use it to speak the protocol exactly, or to break it on purpose (claim another
// identity, send raw records, replay frames).
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/crypto/secret.h"
#include "core/status.h"
#include "proto/wire.pb.h"
#include "sync/protocol/noise.h"
#include "sync/protocol/secure_channel.h"

namespace estelik::sync::testing {

struct Identity {
  crypto::SecretBytes secret_key;  // 64 bytes
  Ed25519PublicKey public_key{};

  // A deterministic identity: the Ed25519 key pair from the seed 32 x `seed_byte`.
  static Identity FromSeed(uint8_t seed_byte) {
    crypto::EnsureSodium();
    Identity id;
    id.secret_key = crypto::SecretBytes(crypto_sign_SECRETKEYBYTES);
    std::array<uint8_t, crypto_sign_SEEDBYTES> seed;
    seed.fill(seed_byte);
    crypto_sign_seed_keypair(id.public_key.data(), id.secret_key.data(), seed.data());
    return id;
  }
  noise::KeyPair NoiseStatic() const {
    crypto::SecretBytes curve(noise::kDhLen);
    crypto_sign_ed25519_sk_to_curve25519(curve.data(), secret_key.data());
    return std::move(noise::KeyPair::FromPrivate(curve.span())).value();
  }
};

inline std::vector<uint8_t> NetworkKey(uint8_t fill) { return std::vector<uint8_t>(32, fill); }

// 4-byte big-endian length, then the body.
inline std::vector<uint8_t> Frame(std::span<const uint8_t> body) {
  const size_t n = body.size();
  std::vector<uint8_t> out(4 + n);
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(n >> (24 - 8 * i));
  if (n != 0) std::memcpy(out.data() + 4, body.data(), n);
  return out;
}

// Splits a byte stream into whole frame bodies; a trailing partial frame is left out.
inline std::vector<std::vector<uint8_t>> Frames(std::span<const uint8_t> stream) {
  std::vector<std::vector<uint8_t>> out;
  while (stream.size() >= 4) {
    const size_t n = (size_t{stream[0]} << 24) | (size_t{stream[1]} << 16) |
                     (size_t{stream[2]} << 8) | stream[3];
    if (stream.size() < 4 + n) break;
    out.emplace_back(stream.begin() + 4, stream.begin() + 4 + n);
    stream = stream.subspan(4 + n);
  }
  return out;
}

class RawPeer {
 public:
  // Transport v2: Noise_XK. An initiator must give `dialed`, the Ed25519 identity of the
  // responder it dials: its X25519 form is the XK pre-message. `noise_static` defaults to the
  // identity's own; `claimed` (the identity sent in message 3) to its own public key. A
  // responder's message 2 payload carries no identity.
  RawPeer(bool initiator, const Identity& identity, std::span<const uint8_t> network_key,
          std::optional<Ed25519PublicKey> dialed = std::nullopt,
          std::optional<noise::KeyPair> noise_static = std::nullopt,
          std::optional<Ed25519PublicKey> claimed = std::nullopt)
      : initiator_(initiator) {
    noise::HandshakeConfig config;
    config.pattern = noise::Pattern::kXK;
    config.initiator = initiator;
    if (initiator && dialed) {
      noise::PublicKey remote{};
      if (crypto_sign_ed25519_pk_to_curve25519(remote.data(), dialed->data()) == 0) {
        config.remote_static = remote;
      }
    }
    // Prologue: "estelik/2" || network key.
    config.prologue.resize(kProtocolVersionString.size() + network_key.size());
    std::memcpy(config.prologue.data(), kProtocolVersionString.data(),
                kProtocolVersionString.size());
    std::memcpy(config.prologue.data() + kProtocolVersionString.size(), network_key.data(),
                network_key.size());
    config.local_static = noise_static ? std::move(noise_static) : identity.NoiseStatic();
    handshake_.emplace(std::move(noise::HandshakeState::Create(std::move(config))).value());
    if (initiator) {
      payload_.set_identity_ed25519(claimed ? claimed->data() : identity.public_key.data(), 32);
    }
    payload_.set_protocol_version(kProtocolVersion);
    payload_.set_max_message_size(1 << 20);
  }

  pb::HandshakePayload& payload() { return payload_; }

  // The next handshake message, framed (message 1 has an empty payload: 32 + 16 bytes).
  std::vector<uint8_t> WriteHandshake() {
    std::vector<uint8_t> body;
    const bool first = initiator_ && !wrote_first_;
    wrote_first_ = true;
    const std::string payload = first ? std::string() : payload_.SerializeAsString();
    Status status = handshake_->WriteMessage(
        std::span(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()), &body);
    if (!status.ok()) return {};
    SplitIfDone();
    return Frame(body);
  }

  // Reads one handshake frame body; fills *peer with the payload if it has one.
  Status ReadHandshake(std::span<const uint8_t> body, pb::HandshakePayload* peer = nullptr) {
    std::vector<uint8_t> payload;
    ESTELIK_RETURN_IF_ERROR(handshake_->ReadMessage(body, &payload));
    if (peer != nullptr) peer->ParseFromArray(payload.data(), static_cast<int>(payload.size()));
    SplitIfDone();
    return Status::Ok();
  }

  bool open() const { return send_.HasKey(); }

  // One transport record, encrypted and framed, rekeying as docs/PROTOCOL.md says.
  std::vector<uint8_t> Record(uint8_t type, std::span<const uint8_t> body) {
    std::vector<uint8_t> plaintext(1 + body.size(), type);
    if (!body.empty()) std::memcpy(plaintext.data() + 1, body.data(), body.size());
    std::vector<uint8_t> ciphertext;
    if (!send_.EncryptWithAd({}, plaintext, &ciphertext).ok()) return {};
    if (send_.nonce() % kRekeyInterval == 0) send_.Rekey();
    return Frame(ciphertext);
  }
  std::vector<uint8_t> Message(std::span<const uint8_t> message) { return Record(0x01, message); }

  // Decrypts one transport frame body into its record (type byte first).
  Result<std::vector<uint8_t>> Open(std::span<const uint8_t> body) {
    std::vector<uint8_t> plaintext;
    ESTELIK_RETURN_IF_ERROR(receive_.DecryptWithAd({}, body, &plaintext));
    if (receive_.nonce() % kRekeyInterval == 0) receive_.Rekey();
    return plaintext;
  }

 private:
  void SplitIfDone() {
    if (!handshake_->IsComplete()) return;
    auto ciphers = std::move(handshake_->Split()).value();
    send_ = std::move(ciphers.first);
    receive_ = std::move(ciphers.second);
  }

  bool initiator_;
  bool wrote_first_ = false;
  std::optional<noise::HandshakeState> handshake_;
  pb::HandshakePayload payload_;
  noise::CipherState send_;
  noise::CipherState receive_;
};

}  // namespace estelik::sync::testing
