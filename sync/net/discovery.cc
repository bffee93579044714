#include "sync/net/discovery.h"

#include <algorithm>
#include <boost/asio.hpp>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "sync/net/beacon.h"
#include "sync/protocol/replication.h"

namespace estelik::sync::net {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;

uint64_t UnixSeconds() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// How many of our own recent nonces we remember, to recognise our beacons coming back.
constexpr size_t kOwnNonceMemory = 256;

// Refuses a discovery key derived from the public default network key: anyone can derive it,
// so its beacons would announce the device to everybody on the network.
Status RefuseDefaultKey(const crypto::SecretBytes& key) {
  static const crypto::SecretBytes* const kPublic = [] {
    Result<crypto::SecretBytes> derived = DeriveDiscoveryKey(DefaultNetworkKey().span());
    return new crypto::SecretBytes(std::move(derived).value());
  }();
  if (!crypto::ConstantTimeEquals(key.span(), kPublic->span())) return Status::Ok();
  return InvalidArgument(
      "LAN discovery refused: the network key is the public default, so anyone on this network "
      "could read the beacons and learn that an Estelik device listens here, and on which "
      "port; share a secret network key with your contacts and use it to sync and discover");
}

}  // namespace

// Everything except Stop() and stats() runs on the discovery thread once Start() returned.
class DiscoveryCore {
 public:
  DiscoveryCore(DiscoveryOptions options, std::vector<DiscoveryKey> keys,
                std::vector<Advertisement> advertise, Discovery::PeerCallback on_peer)
      : options_(std::move(options)),
        advertise_(std::move(advertise)),
        on_peer_(std::move(on_peer)),
        receive_socket_(io_),
        send_socket_(io_),
        send_timer_(io_),
        jitter_(std::random_device{}()) {
    for (DiscoveryKey& key : keys) {
      ids_.push_back(std::move(key.id));
      keys_.push_back(std::move(key.key));
    }
    tokens_ = options_.max_datagrams_per_second;
    last_refill_ = std::chrono::steady_clock::now();
  }

  ~DiscoveryCore() { Stop(); }

  Status Open() {
    for (const auto& key : keys_) {
      if (key.size() != kDiscoveryKeySize)
        return InvalidArgument("a discovery key must be 32 bytes");
      ESTELIK_RETURN_IF_ERROR(RefuseDefaultKey(key));
    }
    for (const auto& ad : advertise_) {
      if (ad.key.size() != kDiscoveryKeySize)
        return InvalidArgument("a discovery key must be 32 bytes");
      ESTELIK_RETURN_IF_ERROR(RefuseDefaultKey(ad.key));
    }
    boost::system::error_code ec;
    const asio::ip::address destination = asio::ip::make_address(options_.destination_address, ec);
    if (ec) {
      return InvalidArgument("discovery destination \"" + options_.destination_address +
                             "\" is not an IP address");
    }
    destination_ = udp::endpoint(destination, options_.destination_port);
    if (!keys_.empty()) ESTELIK_RETURN_IF_ERROR(OpenReceiver(destination));
    // The first beacon's socket: opening it here reports a failure to the caller.
    if (!advertise_.empty()) ESTELIK_RETURN_IF_ERROR(OpenSender());
    return Status::Ok();
  }

  void Run() {
    if (receive_socket_.is_open()) Receive();
    if (!advertise_.empty()) SendBeacons();
    thread_ = std::thread([this] { io_.run(); });
  }

  void Stop() {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  uint16_t listen_port() const { return listen_port_; }

  DiscoveryStats stats() const {
    std::lock_guard<std::mutex> lock(stats_mu_);
    return stats_;
  }

 private:
  Status OpenReceiver(const asio::ip::address& destination) {
    boost::system::error_code ec;
    const asio::ip::address address = asio::ip::make_address(options_.listen_address, ec);
    if (ec) {
      return InvalidArgument("discovery listen address \"" + options_.listen_address +
                             "\" is not an IP address");
    }
    const udp::endpoint endpoint(address, options_.listen_port);
    receive_socket_.open(endpoint.protocol(), ec);
    // Several Estelik processes on one machine may all listen for broadcasts on the port.
    if (!ec) receive_socket_.set_option(udp::socket::reuse_address(true), ec);
    if (!ec) receive_socket_.bind(endpoint, ec);
    if (!ec && destination.is_multicast()) {
      receive_socket_.set_option(asio::ip::multicast::join_group(destination), ec);
    }
    if (ec) {
      return IoError("cannot listen for discovery beacons on " + options_.listen_address + ":" +
                     std::to_string(options_.listen_port) + ": " + ec.message());
    }
    listen_port_ = receive_socket_.local_endpoint(ec).port();
    return Status::Ok();
  }

  // A fresh socket for every beacon, so each one leaves from a new ephemeral source port and
  // nothing ties successive beacons of this device together but its IP address.
  Status OpenSender() {
    const asio::ip::address destination = destination_.address();
    boost::system::error_code ec;
    send_socket_.close(ec);
    send_socket_.open(destination.is_v6() ? udp::v6() : udp::v4(), ec);
    if (!ec) send_socket_.set_option(udp::socket::broadcast(true), ec);
    if (!ec && destination.is_multicast()) {
      // Beacons stay on the local link.
      send_socket_.set_option(asio::ip::multicast::hops(1), ec);
      if (!ec) send_socket_.set_option(asio::ip::multicast::enable_loopback(true), ec);
    }
    if (ec) return IoError("cannot open the discovery sending socket: " + ec.message());
    return Status::Ok();
  }

  void SendBeacons() {
    const uint64_t now = UnixSeconds();
    for (const Advertisement& ad : advertise_) {
      const Beacon beacon = EncodeBeacon(ad.key, ad.port, now);
      BeaconNonce nonce;
      std::copy_n(beacon.begin() + 1, nonce.size(), nonce.begin());
      own_nonces_.push_back(nonce);
      if (own_nonces_.size() > kOwnNonceMemory) own_nonces_.pop_front();
      // A failed send (no socket, no route, no network yet) is retried at the next interval.
      boost::system::error_code ec;
      const bool opened = send_socket_.is_open() || OpenSender().ok();
      if (opened) send_socket_.send_to(asio::buffer(beacon), destination_, 0, ec);
      boost::system::error_code ignored;
      send_socket_.close(ignored);  // the next beacon gets a new socket, hence a new port
      if (opened && !ec) {
        std::lock_guard<std::mutex> lock(stats_mu_);
        ++stats_.sent;
      }
    }
    // Each pause is drawn uniformly from [interval / 2, 3 * interval / 2]: no fixed period marks
    // the device, and nodes that started together do not beacon in lockstep.
    const int64_t interval = std::max<int64_t>(1, options_.interval.count());
    std::uniform_int_distribution<int64_t> spread(interval / 2, interval * 3 / 2);
    send_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(1, spread(jitter_))));
    send_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) SendBeacons();
    });
  }

  void Receive() {
    receive_socket_.async_receive_from(asio::buffer(buffer_), sender_,
                                       [this](const boost::system::error_code& ec, size_t n) {
                                         if (ec == asio::error::operation_aborted) return;
                                         if (!ec)
                                           Examine(std::span<const uint8_t>(buffer_.data(), n));
                                         Receive();
                                       });
  }

  bool TakeToken() {
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - last_refill_).count();
    last_refill_ = now;
    const double rate = options_.max_datagrams_per_second;
    tokens_ = std::min(rate, tokens_ + elapsed * rate);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

  void Examine(std::span<const uint8_t> datagram) {
    std::unique_lock<std::mutex> lock(stats_mu_);
    ++stats_.received;
    if (!TakeToken()) {
      ++stats_.rate_limited;
      return;
    }
    if (datagram.size() != kBeaconSize || datagram[0] != kBeaconVersion) {
      ++stats_.malformed;
      return;
    }
    const bool own = std::any_of(own_nonces_.begin(), own_nonces_.end(), [&](const auto& nonce) {
      return std::equal(nonce.begin(), nonce.end(), datagram.begin() + 1);
    });
    if (own) {
      ++stats_.own;
      return;
    }
    const std::optional<BeaconMatch> match = MatchBeacon(datagram, keys_, UnixSeconds());
    if (!match) {
      ++stats_.unknown;
      return;
    }
    ++stats_.recognised;
    lock.unlock();
    on_peer_(DiscoveredPeer{ids_[match->key_index], sender_.address().to_string(), match->port});
  }

  const DiscoveryOptions options_;
  std::vector<std::string> ids_;
  std::vector<crypto::SecretBytes> keys_;
  std::vector<Advertisement> advertise_;
  Discovery::PeerCallback on_peer_;

  asio::io_context io_;
  udp::socket receive_socket_;
  udp::socket send_socket_;
  asio::steady_timer send_timer_;
  udp::endpoint destination_;
  udp::endpoint sender_;
  // Larger than a beacon, so an oversized datagram shows up as the wrong size.
  std::array<uint8_t, 2 * kBeaconSize> buffer_{};
  std::deque<BeaconNonce> own_nonces_;
  std::mt19937_64 jitter_;
  double tokens_ = 0;
  std::chrono::steady_clock::time_point last_refill_;
  uint16_t listen_port_ = 0;

  std::thread thread_;
  std::mutex stop_mu_;
  bool stopped_ = false;
  mutable std::mutex stats_mu_;
  DiscoveryStats stats_;
};

Result<std::unique_ptr<Discovery>> Discovery::Start(DiscoveryOptions options,
                                                    std::vector<DiscoveryKey> keys,
                                                    std::vector<Advertisement> advertise,
                                                    PeerCallback on_peer) {
  if (!keys.empty() && !on_peer) return InvalidArgument("discovery needs a callback to listen");
  auto core = std::make_unique<DiscoveryCore>(std::move(options), std::move(keys),
                                              std::move(advertise), std::move(on_peer));
  ESTELIK_RETURN_IF_ERROR(core->Open());
  core->Run();
  return std::make_unique<Discovery>(std::move(core));
}

Discovery::Discovery(std::unique_ptr<DiscoveryCore> core) : core_(std::move(core)) {}
Discovery::~Discovery() { Stop(); }
void Discovery::Stop() { core_->Stop(); }
uint16_t Discovery::listen_port() const { return core_->listen_port(); }
DiscoveryStats Discovery::stats() const { return core_->stats(); }

}  // namespace estelik::sync::net
