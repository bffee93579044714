// SecureChannel as a specification: two channels wired together in memory, and a hand-written
// peer (raw_peer.h) that follows or breaks docs/PROTOCOL.md on purpose.
#include "sync/protocol/secure_channel.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "sync/protocol/noise_testing.h"
#include "sync/protocol/replication.h"
#include "tests/unit/sync/raw_peer.h"

namespace estelik::sync {
namespace {

using testing::Frame;
using testing::Frames;
using testing::Identity;
using testing::NetworkKey;
using testing::RawPeer;
using Kind = ChannelEvent::Kind;

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

std::vector<uint8_t> Pattern(size_t size, uint8_t salt) {
  std::vector<uint8_t> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>((i * 31 + salt) ^ (i >> 8));
  return out;
}

struct Options {
  std::vector<Ed25519PublicKey> contacts;
  uint8_t network = 1;
  ChannelLimits limits;
  std::optional<Ed25519PublicKey> expected_peer;
};

SecureChannel MakeChannel(bool initiator, const Identity& id, Options options) {
  SecureChannelConfig config;
  config.initiator = initiator;
  config.identity_secret_key = id.secret_key.Clone();
  config.network_key = crypto::SecretBytes::CopyOf(NetworkKey(options.network));
  config.is_contact = [contacts = options.contacts](const Ed25519PublicKey& key) {
    return std::find(contacts.begin(), contacts.end(), key) != contacts.end();
  };
  config.expected_peer = options.expected_peer;
  config.capabilities = {"replication/1"};
  config.limits = options.limits;
  Result<SecureChannel> channel = SecureChannel::Create(std::move(config));
  EXPECT_TRUE(channel.ok()) << channel.status().ToString();
  return std::move(channel).value();
}

bool Has(const std::vector<ChannelEvent>& events, Kind kind) {
  return std::any_of(events.begin(), events.end(), [&](auto& e) { return e.kind == kind; });
}

const ChannelEvent* Closed(const std::vector<ChannelEvent>& events) {
  for (const auto& e : events) {
    if (e.kind == Kind::kClosed) return &e;
  }
  return nullptr;
}

std::vector<std::vector<uint8_t>> Messages(const std::vector<ChannelEvent>& events) {
  std::vector<std::vector<uint8_t>> out;
  for (const auto& e : events) {
    if (e.kind == Kind::kMessage) out.push_back(e.message);
  }
  return out;
}

// Alice dials Bob; both are each other's contacts unless a test says otherwise.
struct Link {
  Identity alice = Identity::FromSeed(0xA1);
  Identity bob = Identity::FromSeed(0xB0);
  std::optional<SecureChannel> a, b;
  std::vector<ChannelEvent> a_events, b_events;
  size_t chunk = SIZE_MAX;  // bytes per Feed call

  Link(Options a_options = {}, Options b_options = {}, bool a_knows_b = true,
       bool b_knows_a = true) {
    if (a_knows_b) a_options.contacts.push_back(bob.public_key);
    if (!a_options.expected_peer) a_options.expected_peer = bob.public_key;  // Alice dials Bob
    if (b_knows_a) b_options.contacts.push_back(alice.public_key);
    a.emplace(MakeChannel(true, alice, a_options));
    b.emplace(MakeChannel(false, bob, b_options));
  }

  static void FeedInChunks(SecureChannel& to, std::span<const uint8_t> bytes, size_t chunk) {
    while (!bytes.empty()) {
      const size_t n = std::min(chunk, bytes.size());
      (void)to.Feed(bytes.first(n));
      bytes = bytes.subspan(n);
    }
  }

  // Moves bytes both ways until both are quiet; collects events.
  void Pump() {
    for (int round = 0; round < 1000 && (a->HasOutput() || b->HasOutput()); ++round) {
      FeedInChunks(*b, a->TakeOutput(), chunk);
      FeedInChunks(*a, b->TakeOutput(), chunk);
      Collect();
    }
    Collect();
  }
  void Collect() {
    for (auto& e : a->TakeEvents()) a_events.push_back(std::move(e));
    for (auto& e : b->TakeEvents()) b_events.push_back(std::move(e));
  }
};

// ---------------------------------------------------------------------------------------------
// Working channels

TEST(SecureChannel, HandshakeGivesEachSideTheOthersVerifiedIdentity) {
  Link link;
  link.Pump();
  ASSERT_TRUE(link.a->is_open());
  ASSERT_TRUE(link.b->is_open());
  ASSERT_FALSE(link.a_events.empty());
  ASSERT_FALSE(link.b_events.empty());
  EXPECT_EQ(link.a_events[0].kind, Kind::kHandshakeComplete);
  EXPECT_EQ(link.a_events[0].peer, link.bob.public_key);
  EXPECT_EQ(link.b_events[0].kind, Kind::kHandshakeComplete);
  EXPECT_EQ(link.b_events[0].peer, link.alice.public_key);
  EXPECT_EQ(link.b_events[0].peer_capabilities, std::vector<std::string>{"replication/1"});
  EXPECT_EQ(*link.a->peer(), link.bob.public_key);
}

TEST(SecureChannel, MessagesFlowBothWaysInOrder) {
  Link link;
  link.Pump();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(link.a->Send(Bytes("from alice " + std::to_string(i))).ok());
    ASSERT_TRUE(link.b->Send(Bytes("from bob " + std::to_string(i))).ok());
  }
  ASSERT_TRUE(link.a->Send({}).ok());  // an empty message is a message too
  link.Pump();
  const auto at_bob = Messages(link.b_events);
  const auto at_alice = Messages(link.a_events);
  ASSERT_EQ(at_bob.size(), 6u);
  ASSERT_EQ(at_alice.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(at_bob[i], Bytes("from alice " + std::to_string(i)));
    EXPECT_EQ(at_alice[i], Bytes("from bob " + std::to_string(i)));
  }
  EXPECT_TRUE(at_bob[5].empty());
}

TEST(SecureChannel, LargeMessageTravelsAsBoundedFramesAndIsReassembled) {
  Link link;
  link.Pump();
  const std::vector<uint8_t> big = Pattern(1 << 20, 7);  // exactly the default limit
  ASSERT_TRUE(link.a->Send(big).ok());
  const std::vector<uint8_t> wire = link.a->TakeOutput();
  const auto frames = Frames(wire);
  EXPECT_EQ(frames.size(), 17u);  // ceil(1048576 / 65518)
  for (const auto& frame : frames) EXPECT_LE(frame.size(), 65535u);
  ASSERT_TRUE(link.b->Feed(wire).ok());
  link.Collect();
  const auto received = Messages(link.b_events);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0], big);
}

TEST(SecureChannel, FeedingOneByteAtATimeGivesTheSameResult) {
  Link link;
  link.chunk = 1;
  link.Pump();
  ASSERT_TRUE(link.a->is_open() && link.b->is_open());
  const std::vector<uint8_t> multi_frame = Pattern(150000, 3);
  ASSERT_TRUE(link.a->Send(multi_frame).ok());
  ASSERT_TRUE(link.b->Send(Bytes("reply")).ok());
  link.Pump();
  ASSERT_EQ(Messages(link.b_events).size(), 1u);
  EXPECT_EQ(Messages(link.b_events)[0], multi_frame);
  EXPECT_EQ(Messages(link.a_events), std::vector<std::vector<uint8_t>>{Bytes("reply")});
}

TEST(SecureChannel, MessagesSentBeforeTheHandshakeAreDeliveredOnceItCompletes) {
  Link link;
  ASSERT_TRUE(link.a->Send(Bytes("early from alice")).ok());
  ASSERT_TRUE(link.b->Send(Bytes("early from bob")).ok());
  link.Pump();
  EXPECT_EQ(Messages(link.b_events), std::vector<std::vector<uint8_t>>{Bytes("early from alice")});
  EXPECT_EQ(Messages(link.a_events), std::vector<std::vector<uint8_t>>{Bytes("early from bob")});
}

TEST(SecureChannel, CloseNoticeTellsThePeerWhy) {
  Link link;
  link.Pump();
  link.a->Close("sync finished");
  link.Pump();
  ASSERT_NE(Closed(link.a_events), nullptr);
  EXPECT_EQ(Closed(link.a_events)->reason.code(), Code::kAborted);
  ASSERT_NE(Closed(link.b_events), nullptr);
  EXPECT_EQ(Closed(link.b_events)->reason.code(), Code::kAborted);
  EXPECT_EQ(Closed(link.b_events)->reason.message(), "peer closed the channel: sync finished");
  EXPECT_EQ(link.a->Send(Bytes("late")).code(), Code::kAborted);
}

TEST(SecureChannel, CloseCarriesACodeAndReasonThatThePeerReports) {
  struct Case {
    CloseCode code;
    Code peer_sees;
    std::string prefix;
  };
  const Case cases[] = {
      {CloseCode::kNormal, Code::kAborted, "peer closed the channel: "},
      {CloseCode::kProtocol, Code::kProtocol,
       "peer closed the channel, reporting a protocol violation: "},
      {CloseCode::kLimit, Code::kLimitExceeded,
       "peer closed the channel because we exceeded its limits: "},
      {CloseCode::kRefused, Code::kPermissionDenied, "peer refused the connection: "},
      {CloseCode::kInternal, Code::kAborted, "peer closed the channel after an internal error: "},
  };
  for (const Case& c : cases) {
    Link link;
    link.Pump();
    link.a->Close(c.code, "reason " + std::to_string(static_cast<int>(c.code)));
    link.Pump();
    const ChannelEvent* closed = Closed(link.b_events);
    ASSERT_NE(closed, nullptr);
    EXPECT_EQ(closed->reason.code(), c.peer_sees);
    EXPECT_EQ(closed->reason.message(),
              c.prefix + "reason " + std::to_string(static_cast<int>(c.code)));
    ASSERT_TRUE(closed->peer_close_code.has_value());
    EXPECT_EQ(*closed->peer_close_code, static_cast<uint8_t>(c.code));
    // The closing side's own event has the same meaning, and no peer code.
    ASSERT_NE(Closed(link.a_events), nullptr);
    EXPECT_EQ(Closed(link.a_events)->reason.code(), c.peer_sees);
    EXPECT_FALSE(Closed(link.a_events)->peer_close_code.has_value());
  }
}

TEST(SecureChannel, AnUnknownCloseCodeReadsAsAProtocolViolation) {
  Link link;
  link.Pump();
  link.a->Close(static_cast<CloseCode>(200), "from a newer version");
  link.Pump();
  const ChannelEvent* closed = Closed(link.b_events);
  ASSERT_NE(closed, nullptr);
  EXPECT_EQ(closed->reason.code(), Code::kProtocol);
  EXPECT_EQ(*closed->peer_close_code, 200);
  EXPECT_NE(closed->reason.message().find("from a newer version"), std::string::npos);
}

TEST(SecureChannel, ALongCloseReasonIsCutAt256BytesOnACharacterBoundary) {
  Link link;
  link.Pump();
  std::string reason(255, 'x');
  reason += "\xd0\x96\xd0\x96";  // "ЖЖ": the first straddles byte 256
  link.a->Close(CloseCode::kLimit, reason);
  link.Pump();
  const ChannelEvent* closed = Closed(link.b_events);
  ASSERT_NE(closed, nullptr);
  EXPECT_EQ(closed->reason.message(),
            "peer closed the channel because we exceeded its limits: " + std::string(255, 'x'));
}

TEST(SecureChannel, CloseBeforeTheHandshakeSendsNothing) {
  Link link;  // a's first handshake message is queued, b has seen nothing
  link.b->Close(CloseCode::kRefused, "not now");
  EXPECT_FALSE(link.b->HasOutput());
  EXPECT_TRUE(link.b->is_closed());
}

std::string Blake2b256Hex(std::span<const uint8_t> bytes) {
  std::array<uint8_t, 32> digest;
  crypto_generichash(digest.data(), digest.size(), bytes.data(), bytes.size(), nullptr, 0);
  return Hex(digest);
}

TEST(SecureChannel, WireBytesAreReproducibleFromFixedKeys) {
  // Pins the whole format: framing, prologue, pattern, handshake payload encoding, records.
  // docs/PROTOCOL.md ("Test vector") prints these keys and digests; keep the two in step.
  // Alice: Ed25519 seed 32 x a1; Bob: 32 x b0; network key 32 x 01. Ephemeral private keys:
  // BLAKE2b-256(u64le(42) || u64le(i)) for i = 0 (Alice's, message 1) and 1 (Bob's, message 2).
  noise::testing::EphemeralKeySource seeded = noise::testing::SeededKeys(42);
  std::array<uint8_t, 32> alice_e, bob_e;
  seeded(alice_e);
  seeded(bob_e);
  EXPECT_EQ(Hex(alice_e), "2f83beccfb257242e27a52dd46bfe7d1c1811c6b4b5ce6d385d333aee22fa6d6");
  EXPECT_EQ(Hex(bob_e), "a04b4ad6fabb0bc166c4b5b3dab3a22bdc182b3892c3a0282ab3712e2992fef1");
  noise::testing::ScopedEphemeralKeySource ephemerals(noise::testing::SeededKeys(42));
  Link link;
  EXPECT_EQ(Hex(link.alice.public_key),
            "bc7cbcb5636375fa1d82434d466724d92377f53b980695dd49d26d0ce12205a5");
  EXPECT_EQ(Hex(link.bob.public_key),
            "705fbac01f5519899f437bc42e40255ae9ab54bff00de3433af7d687d9e71ad5");
  std::vector<uint8_t> a_to_b = link.a->TakeOutput();
  ASSERT_EQ(a_to_b.size(), 52u);
  EXPECT_EQ(Hex(std::span(a_to_b).first(4)), "00000030");  // 48-byte message 1
  ASSERT_TRUE(link.b->Feed(a_to_b).ok());
  std::vector<uint8_t> b_to_a = link.b->TakeOutput();
  ASSERT_TRUE(link.a->Feed(b_to_a).ok());
  std::vector<uint8_t> message3 = link.a->TakeOutput();
  ASSERT_TRUE(link.a->Send(Bytes("hello")).ok());
  std::vector<uint8_t> hello = link.a->TakeOutput();
  ASSERT_TRUE(link.b->Feed(message3).ok());
  ASSERT_TRUE(link.b->Feed(hello).ok());
  link.Collect();
  EXPECT_EQ(Messages(link.b_events), std::vector<std::vector<uint8_t>>{Bytes("hello")});
  // Message 2's payload: version (2) + max_message_size 2^20 (1 + 3) + one capability
  // (2 + 13) = 21 bytes; message 3's adds the identity (2 + 32): 55 bytes.
  EXPECT_EQ(b_to_a.size(), 4u + 32 + 21 + 16);    // message 2
  EXPECT_EQ(message3.size(), 4u + 48 + 55 + 16);  // message 3
  EXPECT_EQ(hello.size(), 4u + 1 + 5 + 16);       // DATA_LAST "hello"
  const auto body = [](const std::vector<uint8_t>& framed) {
    return std::span<const uint8_t>(framed).subspan(4);
  };
  EXPECT_EQ(Hex(body(a_to_b)),
            "4d2cf37e244dbc43d31fc58c23cae445c15d605435c5eac0a465a1da7d5b0927e44069365c04351d592ecb"
            "255441e39f");  // message 1 in full
  EXPECT_EQ(Blake2b256Hex(body(b_to_a)),
            "be10dcbdd0612578ac6e03cdc9ef9238ddce20c6455e999f1c8cf288f93d491e");
  EXPECT_EQ(Blake2b256Hex(body(message3)),
            "e2125f6a7d8d2d0b69554d6ff607bae416fda6d90faadf6b7fc9ffb612f9cca0");
  std::vector<uint8_t> transcript = a_to_b;  // Alice's bytes, then Bob's
  transcript.insert(transcript.end(), message3.begin(), message3.end());
  transcript.insert(transcript.end(), hello.begin(), hello.end());
  transcript.insert(transcript.end(), b_to_a.begin(), b_to_a.end());
  EXPECT_EQ(Blake2b256Hex(transcript),
            "634bb868663f39c99a9c7a715cf2780675490a736e2369f89812c1a90ae5125f");
}

// ---------------------------------------------------------------------------------------------
// Hostile peers

TEST(SecureChannel, GarbageInsteadOfAHandshakeClosesWithAReason) {
  Link link;
  const std::vector<uint8_t> http = Bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  Status status = link.b->Feed(http);
  EXPECT_EQ(status.code(), Code::kLimitExceeded);
  EXPECT_EQ(status.message().rfind("peer sent a frame larger than 65535 bytes", 0), 0u)
      << status.message();
  EXPECT_FALSE(link.b->HasOutput());  // nothing, not even our identity, for a stranger

  // 48 bytes of garbage in place of message 1 do not authenticate under es: silence.
  Link random_hello;
  status = random_hello.b->Feed(Frame(Pattern(48, 5)));
  EXPECT_EQ(status.code(), Code::kProtocol);
  EXPECT_NE(status.message().find("handshake message 1 did not authenticate"), std::string::npos);
  EXPECT_FALSE(random_hello.b->HasOutput());

  // Garbage in place of message 2 cannot authenticate either.
  std::vector<uint8_t> noise_bytes = Pattern(200, 9);
  (void)link.a->TakeOutput();
  status = link.a->Feed(Frame(noise_bytes));
  EXPECT_EQ(status.code(), Code::kProtocol);
  EXPECT_EQ(status.message(), "network key mismatch or not an Estelik peer");
  EXPECT_FALSE(link.a->HasOutput());
  EXPECT_TRUE(link.a->Feed(Bytes("more garbage after closing")).code() == Code::kProtocol);
}

TEST(SecureChannel, FirstHandshakeMessageOfTheWrongSizeIsRejected) {
  Link link;
  std::vector<uint8_t> hello = link.a->TakeOutput();
  hello[3] = 49;  // claims 49 bytes
  hello.push_back(0);
  Status status = link.b->Feed(hello);
  EXPECT_EQ(status.code(), Code::kProtocol);
  EXPECT_NE(status.message().find("first handshake message has 49 bytes, expected 48"),
            std::string::npos);
  EXPECT_FALSE(link.b->HasOutput());
}

TEST(SecureChannel, TruncatedHandshakeWaitsForTheRestWithoutClosing) {
  Link link;
  ASSERT_TRUE(link.b->Feed(link.a->TakeOutput()).ok());
  const std::vector<uint8_t> response = link.b->TakeOutput();
  const size_t half = response.size() / 2;
  ASSERT_TRUE(link.a->Feed(std::span(response).first(half)).ok());
  EXPECT_FALSE(link.a->is_closed());
  EXPECT_FALSE(link.a->HasOutput());
  EXPECT_TRUE(link.a->TakeEvents().empty());
  ASSERT_TRUE(link.a->Feed(std::span(response).subspan(half)).ok());
  EXPECT_TRUE(link.a->is_open());
}

TEST(SecureChannel, ReplayedHandshakeMessagesAreRejected) {
  // Record a whole handshake between Alice and Bob.
  Link first;
  const std::vector<uint8_t> hello = first.a->TakeOutput();
  ASSERT_TRUE(first.b->Feed(hello).ok());
  ASSERT_TRUE(first.a->Feed(first.b->TakeOutput()).ok());
  const std::vector<uint8_t> identity = first.a->TakeOutput();

  // An attacker replays Alice's messages 1 and 3 to a fresh Bob: his new ephemeral key makes
  // the old message 3 worthless. (Bob does answer the replayed message 1, which only he can
  // read: docs/PROTOCOL.md lists this as a caveat.)
  Link replay;
  ASSERT_TRUE(replay.b->Feed(hello).ok());
  EXPECT_TRUE(replay.b->HasOutput());
  (void)replay.b->TakeOutput();
  Status status = replay.b->Feed(identity);
  EXPECT_EQ(status.code(), Code::kProtocol);
  EXPECT_EQ(status.message(), "network key mismatch or not an Estelik peer");
  replay.Collect();
  EXPECT_FALSE(Has(replay.b_events, Kind::kHandshakeComplete));

  // A duplicated message 1 within one session fails too.
  Link duplicate;
  const std::vector<uint8_t> hello2 = duplicate.a->TakeOutput();
  ASSERT_TRUE(duplicate.b->Feed(hello2).ok());
  EXPECT_EQ(duplicate.b->Feed(hello2).code(), Code::kProtocol);
}

TEST(SecureChannel, ResponderRejectsAnInitiatorWhoIsNotAContact) {
  Link link({}, {}, /*a_knows_b=*/true, /*b_knows_a=*/false);
  link.Pump();
  ASSERT_NE(Closed(link.b_events), nullptr);
  EXPECT_FALSE(Has(link.b_events, Kind::kHandshakeComplete));
  EXPECT_EQ(Closed(link.b_events)->reason.code(), Code::kPermissionDenied);
  EXPECT_NE(Closed(link.b_events)->reason.message().find("is not a contact"), std::string::npos);
  // Alice learns why, through the encrypted close notice.
  ASSERT_NE(Closed(link.a_events), nullptr);
  EXPECT_EQ(Closed(link.a_events)->reason.code(), Code::kPermissionDenied);
  EXPECT_EQ(Closed(link.a_events)->reason.message().rfind("peer refused the connection", 0), 0u);
}

TEST(SecureChannel, InitiatorRejectsAResponderWhoIsNotAContactWithoutRevealingItself) {
  Link link({}, {}, /*a_knows_b=*/false, /*b_knows_a=*/true);
  ASSERT_TRUE(link.b->Feed(link.a->TakeOutput()).ok());
  Status status = link.a->Feed(link.b->TakeOutput());
  EXPECT_EQ(status.code(), Code::kPermissionDenied);
  EXPECT_NE(status.message().find("is not a contact"), std::string::npos);
  EXPECT_FALSE(link.a->HasOutput());  // message 3, which carries Alice's identity, never left
}

TEST(SecureChannel, ADeviceDialedAsSomeoneElseSendsNothing) {
  // Alice dials Carol, but Bob is at the address: he cannot read message 1 and stays silent,
  // so Alice learns nothing about him, and he nothing about her.
  Identity carol = Identity::FromSeed(0xC0);
  Options options;
  options.expected_peer = carol.public_key;
  options.contacts = {carol.public_key};
  Link link(options);
  link.Pump();
  ASSERT_NE(Closed(link.b_events), nullptr);
  EXPECT_EQ(Closed(link.b_events)->reason.code(), Code::kProtocol);
  EXPECT_NE(Closed(link.b_events)->reason.message().find("dialed another identity"),
            std::string::npos);
  EXPECT_FALSE(link.b->HasOutput());
  EXPECT_FALSE(Has(link.a_events, Kind::kHandshakeComplete));
  EXPECT_EQ(link.a->state(), SecureChannel::State::kAwaitingResponse);  // the driver sees EOF
}

TEST(SecureChannel, AnInitiatorMustNameTheContactItDials) {
  SecureChannelConfig config;
  config.initiator = true;
  config.identity_secret_key = Identity::FromSeed(0xA1).secret_key.Clone();
  config.network_key = crypto::SecretBytes::CopyOf(NetworkKey(1));
  config.is_contact = [](const Ed25519PublicKey&) { return true; };
  Result<SecureChannel> created = SecureChannel::Create(std::move(config));
  EXPECT_EQ(created.status().code(), Code::kInvalidArgument);
  EXPECT_NE(created.status().message().find("expected_peer"), std::string::npos);
}

TEST(SecureChannel, WrongNetworkKeyFailsTheHandshakeWithAClearReason) {
  Options other_network;
  other_network.network = 2;
  Link link(other_network);
  link.Pump();
  // Bob cannot read message 1: he closes with a reason of his own and sends nothing.
  ASSERT_NE(Closed(link.b_events), nullptr);
  EXPECT_NE(Closed(link.b_events)->reason.message().find("another network key"), std::string::npos);
  EXPECT_FALSE(link.b->HasOutput());
  EXPECT_FALSE(Has(link.b_events, Kind::kHandshakeComplete));
  EXPECT_FALSE(link.a->is_open());  // Alice only sees the connection end
}

// A stranger (random keys, or the public default network key) connects to a listening device
// twice and sends whatever it likes: the device sends zero bytes, so nothing the stranger holds
// can decrypt to, or correlate with, its identity. A contact that dials it correctly is
// answered (so the silence is the handshake's doing, not a broken responder).
TEST(SecureChannel, StrangerLearnsNothing) {
  Identity bob = Identity::FromSeed(0xB0);
  Identity alice = Identity::FromSeed(0xA1);
  const std::vector<uint8_t> private_network = NetworkKey(7);
  const crypto::SecretBytes default_key = DefaultNetworkKey();
  const std::vector<uint8_t> public_network(default_key.span().begin(), default_key.span().end());
  for (const std::vector<uint8_t>& bobs_network : {private_network, public_network}) {
    const auto responder = [&] {
      SecureChannelConfig config;
      config.identity_secret_key = bob.secret_key.Clone();
      config.network_key = crypto::SecretBytes::CopyOf(bobs_network);
      config.is_contact = [&](const Ed25519PublicKey& key) { return key == alice.public_key; };
      return std::move(SecureChannel::Create(std::move(config))).value();
    };
    for (int session = 0; session < 2; ++session) {
      // The stranger's attempts: a valid-looking message 1 from random keys dialing its best
      // guess (a random identity) under the public default network key, 48 random bytes, an
      // HTTP request, and a guess followed by more bytes.
      std::vector<std::vector<uint8_t>> attempts;
      for (int guess = 0; guess < 2; ++guess) {
        Identity stranger = Identity::FromSeed(static_cast<uint8_t>(0x10 + 2 * session + guess));
        Identity guessed = Identity::FromSeed(static_cast<uint8_t>(0x40 + 2 * session + guess));
        RawPeer peer(true, stranger, public_network, guessed.public_key);
        attempts.push_back(peer.WriteHandshake());
      }
      std::vector<uint8_t> random48(48);
      randombytes_buf(random48.data(), random48.size());
      attempts.push_back(Frame(random48));
      attempts.push_back(Bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      std::vector<uint8_t> guess_then_junk = attempts[0];
      const std::vector<uint8_t> junk = Pattern(2000, 3);
      guess_then_junk.insert(guess_then_junk.end(), junk.begin(), junk.end());
      attempts.push_back(guess_then_junk);
      for (const auto& bytes : attempts) {
        SecureChannel device = responder();
        EXPECT_FALSE(device.Feed(bytes).ok());
        EXPECT_TRUE(device.is_closed());
        EXPECT_TRUE(device.TakeOutput().empty()) << "the device answered a stranger";
        for (const auto& event : device.TakeEvents()) {
          EXPECT_NE(event.kind, Kind::kHandshakeComplete);
        }
      }
    }
    // Control: Alice, who knows Bob's key and network, is answered.
    SecureChannel device = responder();
    RawPeer alice_peer(true, alice, bobs_network, bob.public_key);
    ASSERT_TRUE(device.Feed(alice_peer.WriteHandshake()).ok());
    EXPECT_EQ(device.TakeOutput().size(), 4u + 32 + 6 + 16);  // message 2, no capabilities
  }
}

TEST(SecureChannel, OversizedFrameClosesBeforeAnyBodyIsBuffered) {
  Link link;
  link.Pump();
  const std::vector<uint8_t> header = {0x00, 0x01, 0x00, 0x00};  // 65536
  Status status = link.b->Feed(header);
  EXPECT_EQ(status.code(), Code::kLimitExceeded);
  EXPECT_EQ(status.message(), "peer sent a frame larger than 65535 bytes (65536)");

  Link handshake;
  ASSERT_TRUE(handshake.b->Feed(handshake.a->TakeOutput()).ok());
  (void)handshake.b->TakeOutput();
  status = handshake.a->Feed(std::vector<uint8_t>{0x00, 0x00, 0x10, 0x00});
  EXPECT_EQ(status.code(), Code::kLimitExceeded);
  EXPECT_NE(status.message().find("handshake message of 4096 bytes"), std::string::npos);
}

TEST(SecureChannel, PeerClaimingAnotherIdentityIsRejected) {
  // Mallory holds her own Noise static key but claims to be Alice, whom Bob trusts.
  Identity alice = Identity::FromSeed(0xA1);
  Identity mallory = Identity::FromSeed(0x66);
  Identity bob = Identity::FromSeed(0xB0);
  Options bob_options;
  bob_options.contacts = {alice.public_key};
  SecureChannel responder = MakeChannel(false, bob, bob_options);
  RawPeer fake(true, mallory, NetworkKey(1), bob.public_key, std::nullopt, alice.public_key);
  ASSERT_TRUE(responder.Feed(fake.WriteHandshake()).ok());
  ASSERT_TRUE(fake.ReadHandshake(Frames(responder.TakeOutput()).at(0)).ok());
  Status status = responder.Feed(fake.WriteHandshake());
  EXPECT_EQ(status.code(), Code::kPermissionDenied);
  EXPECT_NE(status.message().find("does not belong to it"), std::string::npos);
  EXPECT_FALSE(Has(responder.TakeEvents(), Kind::kHandshakeComplete));
}

TEST(SecureChannel, HandWrittenPeerFollowingTheSpecInteroperates) {
  Identity alice = Identity::FromSeed(0xA1);
  Identity bob = Identity::FromSeed(0xB0);
  Options bob_options;
  bob_options.contacts = {alice.public_key};
  SecureChannel responder = MakeChannel(false, bob, bob_options);
  RawPeer peer(true, alice, NetworkKey(1), bob.public_key);
  const std::vector<uint8_t> hello = peer.WriteHandshake();
  EXPECT_EQ(hello.size(), 4u + 48);
  ASSERT_TRUE(responder.Feed(hello).ok());
  pb::HandshakePayload theirs;
  ASSERT_TRUE(peer.ReadHandshake(Frames(responder.TakeOutput()).at(0), &theirs).ok());
  EXPECT_TRUE(theirs.identity_ed25519().empty());  // Alice dialed Bob: no need to repeat it
  EXPECT_EQ(theirs.protocol_version(), 2u);
  EXPECT_EQ(theirs.max_message_size(), 1u << 20);
  ASSERT_TRUE(responder.Feed(peer.WriteHandshake()).ok());
  ASSERT_TRUE(responder.Feed(peer.Record(0x00, Bytes("split "))).ok());
  ASSERT_TRUE(responder.Feed(peer.Record(0x01, Bytes("message"))).ok());
  EXPECT_EQ(Messages(responder.TakeEvents()),
            std::vector<std::vector<uint8_t>>{Bytes("split message")});
  ASSERT_TRUE(responder.Send(Bytes("answer")).ok());
  auto record = peer.Open(Frames(responder.TakeOutput()).at(0));
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(*record, Bytes("\x01"
                           "answer"));
}

TEST(SecureChannel, HandWrittenResponderFollowingTheSpecInteroperates) {
  Identity alice = Identity::FromSeed(0xA1);
  Identity bob = Identity::FromSeed(0xB0);
  Options alice_options;
  alice_options.contacts = {bob.public_key};
  alice_options.expected_peer = bob.public_key;
  SecureChannel initiator = MakeChannel(true, alice, alice_options);
  RawPeer peer(false, bob, NetworkKey(1));
  ASSERT_TRUE(peer.ReadHandshake(Frames(initiator.TakeOutput()).at(0)).ok());
  ASSERT_TRUE(initiator.Feed(peer.WriteHandshake()).ok());
  pb::HandshakePayload theirs;
  ASSERT_TRUE(peer.ReadHandshake(Frames(initiator.TakeOutput()).at(0), &theirs).ok());
  EXPECT_EQ(theirs.identity_ed25519(),
            std::string(alice.public_key.begin(), alice.public_key.end()));
  EXPECT_EQ(theirs.protocol_version(), 2u);
  EXPECT_TRUE(initiator.is_open());
  ASSERT_TRUE(initiator.Send(Bytes("hi bob")).ok());
  auto record = peer.Open(Frames(initiator.TakeOutput()).at(0));
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(*record, Bytes("\x01"
                           "hi bob"));
}

TEST(SecureChannel, ResponderRepeatingAnotherIdentityIsRejected) {
  // Message 2 may repeat the responder's identity; if it does, it must be the one dialed.
  Identity alice = Identity::FromSeed(0xA1);
  Identity bob = Identity::FromSeed(0xB0);
  Identity carol = Identity::FromSeed(0xC0);
  Options alice_options;
  alice_options.contacts = {bob.public_key, carol.public_key};
  alice_options.expected_peer = bob.public_key;
  SecureChannel initiator = MakeChannel(true, alice, alice_options);
  RawPeer peer(false, bob, NetworkKey(1));
  peer.payload().set_identity_ed25519(carol.public_key.data(), carol.public_key.size());
  ASSERT_TRUE(peer.ReadHandshake(Frames(initiator.TakeOutput()).at(0)).ok());
  Status status = initiator.Feed(peer.WriteHandshake());
  EXPECT_EQ(status.code(), Code::kPermissionDenied);
  EXPECT_NE(status.message().find("not the contact we dialed"), std::string::npos);
  EXPECT_FALSE(initiator.HasOutput());  // Alice's identity never left
}

TEST(SecureChannel, TamperedTransportFrameClosesBothSidesWithReasons) {
  Link link;
  link.Pump();
  ASSERT_TRUE(link.a->Send(Bytes("do not touch")).ok());
  std::vector<uint8_t> wire = link.a->TakeOutput();
  wire[10] ^= 0x01;
  Status status = link.b->Feed(wire);
  EXPECT_EQ(status.code(), Code::kCorrupt);
  EXPECT_EQ(status.message(),
            "peer sent a frame that failed authentication (tampered, replayed, reordered or "
            "truncated)");
  link.Pump();
  EXPECT_TRUE(Messages(link.b_events).empty());
  ASSERT_NE(Closed(link.a_events), nullptr);
  EXPECT_EQ(Closed(link.a_events)->reason.code(), Code::kProtocol);
}

TEST(SecureChannel, ReplayedTransportFrameIsRejected) {
  Link link;
  link.Pump();
  ASSERT_TRUE(link.a->Send(Bytes("pay 10")).ok());
  const std::vector<uint8_t> frame = link.a->TakeOutput();
  ASSERT_TRUE(link.b->Feed(frame).ok());
  EXPECT_EQ(link.b->Feed(frame).code(), Code::kCorrupt);
  link.Collect();
  EXPECT_EQ(Messages(link.b_events).size(), 1u);
}

TEST(SecureChannel, ReorderedTransportFramesAreRejected) {
  Link link;
  link.Pump();
  ASSERT_TRUE(link.a->Send(Bytes("first")).ok());
  const std::vector<uint8_t> first = link.a->TakeOutput();
  ASSERT_TRUE(link.a->Send(Bytes("second")).ok());
  const std::vector<uint8_t> second = link.a->TakeOutput();
  EXPECT_EQ(link.b->Feed(second).code(), Code::kCorrupt);
  link.Collect();
  EXPECT_TRUE(Messages(link.b_events).empty());
}

TEST(SecureChannel, MessageOverThePeersLimitIsRefusedAtSendAndAtReceive) {
  Options small;
  small.limits.max_message_size = 1000;
  Link link({}, small);
  link.Pump();
  // Alice learned Bob's limit in the handshake: her Send refuses and the channel stays open.
  EXPECT_EQ(link.a->Send(Pattern(1001, 1)).code(), Code::kLimitExceeded);
  EXPECT_TRUE(link.a->is_open());
  ASSERT_TRUE(link.a->Send(Pattern(1000, 1)).ok());
  link.Pump();
  EXPECT_EQ(Messages(link.b_events).size(), 1u);

  // A peer ignoring the limit is cut off once its fragments exceed it.
  Identity alice = Identity::FromSeed(0xA1);
  small.contacts = {alice.public_key};
  SecureChannel bob = MakeChannel(false, Identity::FromSeed(0xB0), small);
  RawPeer peer(true, alice, NetworkKey(1), Identity::FromSeed(0xB0).public_key);
  ASSERT_TRUE(bob.Feed(peer.WriteHandshake()).ok());
  ASSERT_TRUE(peer.ReadHandshake(Frames(bob.TakeOutput()).at(0)).ok());
  ASSERT_TRUE(bob.Feed(peer.WriteHandshake()).ok());
  ASSERT_TRUE(bob.Feed(peer.Record(0x00, Pattern(600, 2))).ok());
  Status status = bob.Feed(peer.Record(0x00, Pattern(600, 3)));
  EXPECT_EQ(status.code(), Code::kLimitExceeded);
  EXPECT_EQ(status.message(), "peer sent a message larger than 1000 bytes");
}

TEST(SecureChannel, UnknownRecordTypeClosesTheChannel) {
  Identity alice = Identity::FromSeed(0xA1);
  Options options;
  options.contacts = {alice.public_key};
  SecureChannel bob = MakeChannel(false, Identity::FromSeed(0xB0), options);
  RawPeer peer(true, alice, NetworkKey(1), Identity::FromSeed(0xB0).public_key);
  ASSERT_TRUE(bob.Feed(peer.WriteHandshake()).ok());
  ASSERT_TRUE(peer.ReadHandshake(Frames(bob.TakeOutput()).at(0)).ok());
  ASSERT_TRUE(bob.Feed(peer.WriteHandshake()).ok());
  Status status = bob.Feed(peer.Record(0x7f, Bytes("?")));
  EXPECT_EQ(status.code(), Code::kProtocol);
  EXPECT_EQ(status.message(), "peer sent an unknown record type 127");
}

TEST(SecureChannel, FullOutputQueueRefusesSendsUntilTheDriverTakesOutput) {
  Options tight;
  tight.limits.max_pending_output = 100000;
  Link link(tight);
  link.Pump();
  ASSERT_TRUE(link.a->Send(Pattern(60000, 1)).ok());
  EXPECT_EQ(link.a->Send(Pattern(60000, 2)).code(), Code::kLimitExceeded);
  EXPECT_TRUE(link.a->is_open());
  link.Pump();
  EXPECT_TRUE(link.a->Send(Pattern(60000, 2)).ok());
}

TEST(SecureChannel, ReceivedMessagesTheApplicationNeverTakesAreBounded) {
  Options tight;
  tight.limits.max_pending_input = 10000;
  Link link({}, tight);
  link.Pump();
  std::vector<uint8_t> wire;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(link.a->Send(Pattern(1000, static_cast<uint8_t>(i))).ok());
  }
  Status status = link.b->Feed(link.a->TakeOutput());
  EXPECT_EQ(status.code(), Code::kLimitExceeded);
  EXPECT_NE(status.message().find("not taken by the application"), std::string::npos);
}

TEST(SecureChannel, TransportKeysRatchetEvery65536Messages) {
  // The hand-written peer rekeys exactly as docs/PROTOCOL.md says; if the channel did not,
  // message 65537 would fail to authenticate there.
  Identity alice = Identity::FromSeed(0xA1);
  Options options;
  options.contacts = {alice.public_key};
  options.limits.max_pending_output = 64 << 20;
  SecureChannel bob = MakeChannel(false, Identity::FromSeed(0xB0), options);
  RawPeer peer(true, alice, NetworkKey(1), Identity::FromSeed(0xB0).public_key);
  ASSERT_TRUE(bob.Feed(peer.WriteHandshake()).ok());
  ASSERT_TRUE(peer.ReadHandshake(Frames(bob.TakeOutput()).at(0)).ok());
  ASSERT_TRUE(bob.Feed(peer.WriteHandshake()).ok());
  const uint8_t byte = 0x5a;
  for (uint64_t i = 0; i < kRekeyInterval + 2; ++i) ASSERT_TRUE(bob.Send({&byte, 1}).ok());
  const std::vector<uint8_t> wire = bob.TakeOutput();
  size_t ok = 0;
  for (const auto& frame : Frames(wire)) ok += peer.Open(frame).ok() ? 1 : 0;
  EXPECT_EQ(ok, kRekeyInterval + 2);
  // And in the other direction.
  std::vector<uint8_t> inbound;
  for (uint64_t i = 0; i < kRekeyInterval + 2; ++i) {
    const auto frame = peer.Message({&byte, 1});
    inbound.insert(inbound.end(), frame.begin(), frame.end());
  }
  EXPECT_TRUE(bob.Feed(std::span(inbound).first(inbound.size() / 2)).ok());
  (void)bob.TakeEvents();
  EXPECT_TRUE(bob.Feed(std::span(inbound).subspan(inbound.size() / 2)).ok());
}

TEST(SecureChannel, CreateRejectsMalformedKeys) {
  SecureChannelConfig config;
  config.identity_secret_key = crypto::SecretBytes(10);
  config.network_key = crypto::SecretBytes(32);
  config.is_contact = [](const Ed25519PublicKey&) { return true; };
  EXPECT_EQ(SecureChannel::Create(std::move(config)).status().code(), Code::kInvalidArgument);
  SecureChannelConfig no_contacts;
  no_contacts.identity_secret_key = Identity::FromSeed(1).secret_key.Clone();
  no_contacts.network_key = crypto::SecretBytes(32);
  EXPECT_EQ(SecureChannel::Create(std::move(no_contacts)).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace estelik::sync
