// Discovery: opt-in LAN discovery with Beacons (beacon.h) over UDP.
//
// A Discovery object sends, after pauses drawn uniformly from [interval / 2, 3 * interval / 2],
// one beacon per Advertisement to `destination_address:destination_port` (default: the IPv4
// broadcast address), each from a fresh UDP socket (so a new ephemeral source port), and
// listens on `listen_address:listen_port` for beacons made with one of its DiscoveryKeys. Each
// beacon it recognises is reported to the callback with the key's id (a local name, never sent),
// the sender's IP address and the advertised TCP port. Its own beacons are not reported.
//
// Hostile input: datagrams of the wrong size or version, or under no known key, are dropped
// and counted, never reported. At most `max_datagrams_per_second` datagrams are examined (a
// token bucket); the rest are dropped unread, so a flood costs a bounded amount of hashing.
//
// Threading: a Discovery runs on its own background thread, which calls `on_peer`; the
// callback must return quickly and must not destroy the Discovery. Stop(), the destructor and
// stats() are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/crypto/secret.h"
#include "core/status.h"

namespace estelik::sync::net {

inline constexpr uint16_t kDefaultDiscoveryPort = 47321;

struct DiscoveryKey {
  std::string id;           // the caller's name for the contact or network; stays local
  crypto::SecretBytes key;  // from DeriveDiscoveryKey()
};

struct Advertisement {
  crypto::SecretBytes key;  // from DeriveDiscoveryKey()
  uint16_t port = 0;        // the TCP port our NetworkService listens on
};

struct DiscoveryOptions {
  std::string listen_address = "0.0.0.0";
  uint16_t listen_port = kDefaultDiscoveryPort;         // 0: an ephemeral port (tests)
  std::string destination_address = "255.255.255.255";  // or a multicast group, or a unicast IP
  uint16_t destination_port = kDefaultDiscoveryPort;
  std::chrono::milliseconds interval{5'000};
  uint32_t max_datagrams_per_second = 200;
};

struct DiscoveredPeer {
  std::string key_id;
  std::string address;  // the datagram's source IP address
  uint16_t port = 0;    // the advertised TCP port
};

struct DiscoveryStats {
  uint64_t sent = 0;
  uint64_t received = 0;
  uint64_t recognised = 0;
  uint64_t malformed = 0;     // wrong size or version
  uint64_t unknown = 0;       // well-formed, but no key (or time window) matches
  uint64_t own = 0;           // our own beacons, heard back
  uint64_t rate_limited = 0;  // dropped unread by the token bucket
};

class DiscoveryCore;  // discovery.cc

class Discovery {
 public:
  using PeerCallback = std::function<void(const DiscoveredPeer&)>;

  // Opens the sockets and starts. With no `keys` it does not listen; with no `advertise` it
  // does not send. kInvalidArgument for a bad address, a key of the wrong size, or a key
  // derived from the public default network key (DefaultNetworkKey(): anyone could read
  // those beacons, so discovery refuses to run under it, for every caller); kIo if a socket
  // cannot be opened or bound.
  static Result<std::unique_ptr<Discovery>> Start(DiscoveryOptions options,
                                                  std::vector<DiscoveryKey> keys,
                                                  std::vector<Advertisement> advertise,
                                                  PeerCallback on_peer);
  ~Discovery();  // Stop()
  Discovery(const Discovery&) = delete;
  Discovery& operator=(const Discovery&) = delete;

  // Idempotent; returns once the background thread has exited.
  void Stop();
  // The bound listening port (useful with listen_port = 0); 0 if not listening.
  uint16_t listen_port() const;
  DiscoveryStats stats() const;

  explicit Discovery(std::unique_ptr<DiscoveryCore> core);

 private:
  std::unique_ptr<DiscoveryCore> core_;
};

}  // namespace estelik::sync::net
