// LAN discovery over real UDP sockets on 127.0.0.1 (unicast: broadcast and multicast on the
// loopback interface are not dependable on CI machines).

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "sync/net/beacon.h"
#include "sync/net/discovery.h"
#include "sync/protocol/replication.h"
#include "tests/support/wait.h"

namespace estelik::sync::net {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using namespace std::chrono_literals;

constexpr auto kPatience = 20s;

crypto::SecretBytes KeyFrom(uint8_t fill) {
  std::vector<uint8_t> secret(32, fill);
  return DeriveDiscoveryKey(secret).value();
}

// Collects discovered peers for the test thread.
class Sightings {
 public:
  Discovery::PeerCallback Callback() {
    return [this](const DiscoveredPeer& peer) {
      std::lock_guard<std::mutex> lock(mu_);
      peers_.push_back(peer);
      cv_.notify_all();
    };
  }
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return peers_.size() >= n; });
  }
  std::vector<DiscoveredPeer> peers() {
    std::lock_guard<std::mutex> lock(mu_);
    return peers_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<DiscoveredPeer> peers_;
};

DiscoveryOptions Loopback() {
  DiscoveryOptions options;
  options.listen_address = "127.0.0.1";
  options.listen_port = 0;
  options.destination_address = "127.0.0.1";
  options.interval = 20ms;
  return options;
}

std::unique_ptr<Discovery> StartListener(Sightings& sightings, uint8_t key_fill,
                                         DiscoveryOptions options = Loopback()) {
  std::vector<DiscoveryKey> keys;
  keys.push_back({"alice", KeyFrom(key_fill)});
  auto listener = Discovery::Start(options, std::move(keys), {}, sightings.Callback());
  EXPECT_TRUE(listener.ok()) << listener.status().ToString();
  return listener.ok() ? std::move(listener).value() : nullptr;
}

std::unique_ptr<Discovery> StartAdvertiser(uint16_t to_port, uint8_t key_fill, uint16_t tcp_port) {
  DiscoveryOptions options = Loopback();
  options.destination_port = to_port;
  std::vector<Advertisement> ads;
  ads.push_back({KeyFrom(key_fill), tcp_port});
  auto advertiser = Discovery::Start(options, {}, std::move(ads), nullptr);
  EXPECT_TRUE(advertiser.ok()) << advertiser.status().ToString();
  return advertiser.ok() ? std::move(advertiser).value() : nullptr;
}

// Waits (bounded) until the listener has examined `n` datagrams.
bool WaitForExamined(const Discovery& discovery, uint64_t n) {
  return estelik::testing::WaitUntil(
      [&] {
        const DiscoveryStats s = discovery.stats();
        return s.malformed + s.unknown + s.recognised + s.own >= n;
      },
      kPatience);
}

TEST(DiscoveryTest, AContactsBeaconIsRecognisedWithItsAddressAndPort) {
  Sightings sightings;
  auto listener = StartListener(sightings, 0x11);
  ASSERT_TRUE(listener);
  auto advertiser = StartAdvertiser(listener->listen_port(), 0x11, 47001);
  ASSERT_TRUE(advertiser);
  ASSERT_TRUE(sightings.WaitFor(2));  // keeps coming, every interval
  for (const DiscoveredPeer& peer : sightings.peers()) {
    EXPECT_EQ(peer.key_id, "alice");
    EXPECT_EQ(peer.address, "127.0.0.1");
    EXPECT_EQ(peer.port, 47001);
  }
  EXPECT_GE(advertiser->stats().sent, 1u);
}

TEST(DiscoveryTest, BeaconsUnderAnUnknownKeyAreIgnored) {
  Sightings sightings;
  auto listener = StartListener(sightings, 0x11);
  ASSERT_TRUE(listener);
  auto stranger = StartAdvertiser(listener->listen_port(), 0x22, 47001);
  ASSERT_TRUE(stranger);
  ASSERT_TRUE(WaitForExamined(*listener, 3));
  EXPECT_GE(listener->stats().unknown, 3u);
  EXPECT_EQ(listener->stats().recognised, 0u);
  EXPECT_TRUE(sightings.peers().empty());
}

TEST(DiscoveryTest, HostileDatagramsAreDroppedAndCounted) {
  Sightings sightings;
  auto listener = StartListener(sightings, 0x11);
  ASSERT_TRUE(listener);
  asio::io_context io;
  udp::socket socket(io, udp::v4());
  const udp::endpoint to(asio::ip::make_address("127.0.0.1"), listener->listen_port());
  std::vector<uint8_t> wrong_version(kBeaconSize, 0x02);
  std::vector<uint8_t> too_long(1000, 0x01);
  std::vector<uint8_t> right_shape(kBeaconSize, 0x01);  // version 1, random-looking rest
  socket.send_to(asio::buffer(wrong_version), to);
  socket.send_to(asio::buffer(too_long), to);
  socket.send_to(asio::buffer(std::vector<uint8_t>{}), to);
  socket.send_to(asio::buffer(right_shape), to);
  ASSERT_TRUE(WaitForExamined(*listener, 4));
  EXPECT_EQ(listener->stats().malformed, 3u);
  EXPECT_EQ(listener->stats().unknown, 1u);
  EXPECT_TRUE(sightings.peers().empty());
}

TEST(DiscoveryTest, AFloodOfDatagramsIsRateLimited) {
  Sightings sightings;
  DiscoveryOptions options = Loopback();
  options.max_datagrams_per_second = 10;
  auto listener = StartListener(sightings, 0x11, options);
  ASSERT_TRUE(listener);
  asio::io_context io;
  udp::socket socket(io, udp::v4());
  const udp::endpoint to(asio::ip::make_address("127.0.0.1"), listener->listen_port());
  std::vector<uint8_t> junk(kBeaconSize, 0x01);
  constexpr int kFlood = 300;
  for (int i = 0; i < kFlood; ++i) socket.send_to(asio::buffer(junk), to);
  // The kernel may drop some of the burst itself; 50 is well past the 10-datagram bucket.
  EXPECT_TRUE(
      estelik::testing::WaitUntil([&] { return listener->stats().received >= 50; }, kPatience));
  const DiscoveryStats stats = listener->stats();
  EXPECT_GT(stats.rate_limited, 0u);
  EXPECT_EQ(stats.rate_limited + stats.unknown, stats.received);
}

TEST(DiscoveryTest, ANodeDoesNotReportItsOwnBeacons) {
  Sightings sightings;
  DiscoveryOptions options = Loopback();
  // Bind first to learn the port, then point a node that both listens and sends at itself.
  asio::io_context io;
  udp::socket probe(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = probe.local_endpoint().port();
  probe.close();
  options.listen_port = port;
  options.destination_port = port;
  std::vector<DiscoveryKey> keys;
  keys.push_back({"network", KeyFrom(0x33)});
  std::vector<Advertisement> ads;
  ads.push_back({KeyFrom(0x33), 47001});
  auto node = Discovery::Start(options, std::move(keys), std::move(ads), sightings.Callback());
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  ASSERT_TRUE(WaitForExamined(**node, 3));
  EXPECT_GE((*node)->stats().own, 3u);
  EXPECT_TRUE(sightings.peers().empty());
}

TEST(DiscoveryTest, BadAddressesAndKeysAreRejectedAtStart) {
  DiscoveryOptions options = Loopback();
  options.destination_address = "lan";
  std::vector<Advertisement> ads;
  ads.push_back({KeyFrom(0x11), 1});
  EXPECT_EQ(Discovery::Start(options, {}, std::move(ads), nullptr).status().code(),
            Code::kInvalidArgument);
  std::vector<DiscoveryKey> keys;
  keys.push_back({"short", crypto::SecretBytes(16)});
  Sightings sightings;
  EXPECT_EQ(Discovery::Start(Loopback(), std::move(keys), {}, sightings.Callback()).status().code(),
            Code::kInvalidArgument);
}

TEST(DiscoveryTest, TheDefaultNetworkKeyIsRefusedForAdvertisingAndForListening) {
  // Its discovery key is public: anyone could decode "an Estelik device listens on port P".
  const auto public_key = [] { return DeriveDiscoveryKey(DefaultNetworkKey().span()).value(); };
  std::vector<Advertisement> ads;
  ads.push_back({KeyFrom(0x11), 47001});  // a secret key next to it does not help
  ads.push_back({public_key(), 47001});
  auto advertiser = Discovery::Start(Loopback(), {}, std::move(ads), nullptr);
  ASSERT_FALSE(advertiser.ok());
  EXPECT_EQ(advertiser.status().code(), Code::kInvalidArgument);
  EXPECT_NE(advertiser.status().message().find("public default"), std::string::npos)
      << advertiser.status().ToString();

  std::vector<DiscoveryKey> keys;
  keys.push_back({"network", public_key()});
  Sightings sightings;
  auto listener = Discovery::Start(Loopback(), std::move(keys), {}, sightings.Callback());
  ASSERT_FALSE(listener.ok());
  EXPECT_NE(listener.status().message().find("public default"), std::string::npos)
      << listener.status().ToString();
}

TEST(DiscoveryTest, SuccessiveBeaconsLeaveFromVaryingSourcePortsAtVaryingIntervals) {
  // What an observer without the key sees: a plain UDP socket receiving the datagrams.
  asio::io_context io;
  udp::socket observer(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  DiscoveryOptions options = Loopback();
  options.destination_port = observer.local_endpoint().port();
  options.interval = 40ms;  // pauses drawn from [20, 60] ms
  std::vector<Advertisement> ads;
  ads.push_back({KeyFrom(0x11), 47001});
  auto advertiser = Discovery::Start(options, {}, std::move(ads), nullptr);
  ASSERT_TRUE(advertiser.ok()) << advertiser.status().ToString();

  constexpr size_t kBeacons = 12;
  std::vector<uint16_t> ports;
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  std::array<uint8_t, 64> buffer{};
  while (ports.size() < kBeacons) {
    udp::endpoint from;
    const size_t n = observer.receive_from(asio::buffer(buffer), from);
    ASSERT_EQ(n, kBeaconSize);
    ports.push_back(from.port());
    arrivals.push_back(std::chrono::steady_clock::now());
  }
  (*advertiser)->Stop();

  // A new socket for every beacon: the source port does not mark the device.
  const std::set<uint16_t> distinct(ports.begin(), ports.end());
  EXPECT_GE(distinct.size(), kBeacons - 2) << "source ports repeat";
  // No fixed period: the gaps spread over a good part of the 40 ms range they are drawn from.
  std::vector<std::chrono::steady_clock::duration> gaps;
  for (size_t i = 1; i < arrivals.size(); ++i) gaps.push_back(arrivals[i] - arrivals[i - 1]);
  const auto [shortest, longest] = std::minmax_element(gaps.begin(), gaps.end());
  EXPECT_GE(*longest - *shortest, 10ms) << "beacon intervals are nearly constant";
}

}  // namespace
}  // namespace estelik::sync::net
