// Transport v2 over real TCP on 127.0.0.1: a listening device sends a stranger zero bytes, and
// ContactDialer finds which contact is at an address by trying each in turn.
#include "sync/net/contact_dial.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <boost/asio.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "sync/net/network.h"
#include "sync/protocol/replication.h"
#include "tests/unit/sync/raw_peer.h"
#include "tests/unit/sync/sim_link.h"

namespace estelik {
namespace {

using sync::net::ContactDialer;
using sync::net::ContactKey;
using sync::net::NetworkService;
using sync::net::SessionFactory;
using sync::net::SessionInfo;
using tcp = boost::asio::ip::tcp;
using testing::Befriend;
using testing::MakeSimPeer;
using testing::SimPeer;

// A device listening as `peer` with the public default network key, as `estelik serve` does.
SessionFactory Responder(SimPeer& peer) {
  return [&peer](const SessionInfo&) -> std::unique_ptr<sync::Session> {
    sync::ReplicationConfig config;
    config.network_key = sync::DefaultNetworkKey();
    auto session = sync::ReplicationSession::Create(*peer.replica, std::move(config));
    if (!session.ok()) return nullptr;
    return std::move(*session);
  };
}

SessionFactory Initiator(SimPeer& peer, const ContactKey& dialed) {
  return [&peer, dialed](const SessionInfo&) -> std::unique_ptr<sync::Session> {
    sync::ReplicationConfig config;
    config.initiator = true;
    config.expected_peer = dialed;
    config.network_key = sync::DefaultNetworkKey();
    auto session = sync::ReplicationSession::Create(*peer.replica, std::move(config));
    if (!session.ok()) return nullptr;
    return std::move(*session);
  };
}

// Connects, writes `bytes`, half-closes, and returns everything received until the device
// closes the connection.
std::vector<uint8_t> Exchange(uint16_t port, const std::vector<uint8_t>& bytes) {
  boost::asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  boost::asio::write(socket, boost::asio::buffer(bytes));
  std::vector<uint8_t> received;
  boost::system::error_code ec;
  for (;;) {
    uint8_t buffer[4096];
    const size_t n = socket.read_some(boost::asio::buffer(buffer), ec);
    if (ec) break;
    received.insert(received.end(), buffer, buffer + n);
  }
  return received;
}

TEST(ContactDial, AStrangerGetsZeroBytesFromAListeningDevice) {
  auto bob = MakeSimPeer("bob");
  auto alice = MakeSimPeer("alice");
  ASSERT_TRUE(bob && alice);
  Befriend(*alice, *bob);
  NetworkService service;
  auto port = service.Listen("127.0.0.1", 0, Responder(*bob));
  ASSERT_TRUE(port.ok());
  const crypto::SecretBytes public_key = sync::DefaultNetworkKey();
  const std::vector<uint8_t> network(public_key.span().begin(), public_key.span().end());
  for (int session = 0; session < 2; ++session) {
    // A stranger with random keys who holds the public network key and guesses an identity.
    const auto stranger = sync::testing::Identity::FromSeed(static_cast<uint8_t>(0x20 + session));
    const auto guessed = sync::testing::Identity::FromSeed(static_cast<uint8_t>(0x30 + session));
    sync::testing::RawPeer peer(true, stranger, network, guessed.public_key);
    EXPECT_TRUE(Exchange(*port, peer.WriteHandshake()).empty()) << "session " << session;
    std::vector<uint8_t> random(48);
    randombytes_buf(random.data(), random.size());
    EXPECT_TRUE(Exchange(*port, sync::testing::Frame(random)).empty()) << "session " << session;
  }
  // Control: Alice, who knows Bob's key, is answered and syncs.
  NetworkService client;
  ContactDialer dial(client, "127.0.0.1", *port, {bob->key()},
                     [&](const ContactKey& key) { return Initiator(*alice, key); });
  EXPECT_TRUE(dial.Wait().ok());
}

TEST(ContactDial, TriesEachContactUntilTheOneAtTheAddressAnswers) {
  auto alice = MakeSimPeer("alice");
  auto bob = MakeSimPeer("bob");
  auto carol = MakeSimPeer("carol");
  ASSERT_TRUE(alice && bob && carol);
  Befriend(*alice, *bob);
  Befriend(*alice, *carol);
  NetworkService server;
  auto port = server.Listen("127.0.0.1", 0, Responder(*bob));
  ASSERT_TRUE(port.ok());
  NetworkService client;
  const auto factory_for = [&](const ContactKey& key) { return Initiator(*alice, key); };

  // Carol first: her attempt ends before a reply, then Bob answers.
  ContactDialer both(client, "127.0.0.1", *port, {carol->key(), bob->key()}, factory_for);
  const Status status = both.Wait();
  EXPECT_TRUE(status.ok()) << status.ToString();
  ASSERT_TRUE(both.answered().has_value());
  EXPECT_EQ(*both.answered(), bob->key());
  EXPECT_EQ(both.attempts(), 2);

  // Only Carol: nobody answers, and the dial says so.
  ContactDialer wrong(client, "127.0.0.1", *port, {carol->key()}, factory_for);
  const Status refused = wrong.Wait();
  EXPECT_EQ(refused.code(), Code::kNotFound);
  EXPECT_NE(refused.message().find("did not answer"), std::string::npos) << refused.ToString();
  EXPECT_FALSE(wrong.answered().has_value());

  ContactDialer several(client, "127.0.0.1", *port, {carol->key(), carol->key()}, factory_for);
  const Status none = several.Wait();
  EXPECT_EQ(none.code(), Code::kNotFound);
  EXPECT_NE(none.message().find("no contact answered at 127.0.0.1:"), std::string::npos)
      << none.ToString();

  ContactDialer empty(client, "127.0.0.1", *port, {}, factory_for);
  EXPECT_EQ(empty.Wait().code(), Code::kNotFound);
}

}  // namespace
}  // namespace estelik
