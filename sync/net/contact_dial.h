// ContactDialer: sync with the device at HOST:PORT when the dialer may not know which contact
// it is.
//
// Transport version 2 (docs/PROTOCOL.md "Transport", Noise XK) makes a listening device answer
// only an initiator that names its identity in advance: message 1 is encrypted to the
// responder's static key, and a device that cannot decrypt it closes without sending a byte.
// So a dialer must say which contact it dials. Given one candidate (the user named the peer)
// the dialer makes one connection; given several (only the address is known) it tries them in
// the order given, one connection each, until one answers. An attempt at the wrong contact is
// recognisable: the connection ends before the responder sent anything (message 2 is the first
// byte it ever sends). The first contact that answers is the device there; its session's
// outcome is the dial's outcome, and no further contact is tried.
//
// Cost: one TCP connection and one 48-byte handshake message per contact tried, and about one
// round trip each. Anyone who holds a device's public key can likewise confirm that the device
// is at an address (inherent to answering the contacts that dial it); without the key nothing
// is learned.
//
// Rounds: every candidate once is a round. With `options.retry` a round that ends without a
// successful session (nobody answered, the connect failed, or the answering contact's session
// failed) is followed, after BackoffDelay(options.backoff, round), by another, until
// `options.max_attempts` rounds (0: no limit), Cancel() or the service stops. A contact that
// answered moves to the front for the next round. A connect failure ends the round at once
// (nobody listens there; other contacts would not fare better).
//
// Threading: the dial runs on a thread of its own (not the network thread); Wait, WaitFor,
// Cancel and the accessors are thread-safe. `make_factory` and `on_retry` run on that thread.
// The destructor cancels and joins. The service must outlive the dialer.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "sync/net/network.h"

namespace estelik::sync::net {

using ContactKey = std::array<uint8_t, 32>;  // a contact's Ed25519 identity

struct ContactDialOptions {
  // retry, max_attempts (rounds), backoff and random, as DialOptions says, applied per round.
  DialOptions rounds;
  // Called before waiting for the next round: (HOST:PORT, round just failed (1-based), why,
  // delay). May be empty.
  std::function<void(const std::string&, int, const Status&, std::chrono::milliseconds)> on_retry;
};

class ContactDialer {
 public:
  // The SessionFactory of one connection that dials `contact` (an initiator session whose
  // expected peer is `contact`).
  using FactoryFor = std::function<SessionFactory(const ContactKey& contact)>;

  // Starts dialing `host`:`port` as each of `candidates` in turn. An empty list completes at
  // once with kNotFound.
  ContactDialer(NetworkService& service, std::string host, uint16_t port,
                std::vector<ContactKey> candidates, FactoryFor make_factory,
                ContactDialOptions options = {});
  ~ContactDialer();  // Cancel(), then waits for the dial thread
  ContactDialer(const ContactDialer&) = delete;
  ContactDialer& operator=(const ContactDialer&) = delete;

  // Blocks until the dial is over. OK once a session with a contact succeeded (answered() says
  // which). Otherwise: kNotFound "no contact answered at HOST:PORT (tried N contacts)" when
  // every candidate's connection ended before a reply; the answering contact's failure
  // (kProtocol ...); kIo when nothing could be reached; kAborted after Cancel() or Stop().
  Status Wait() const;
  std::optional<Status> WaitFor(std::chrono::milliseconds timeout) const;
  void Cancel();

  // The contact that answered in the latest round that had one, if any.
  std::optional<ContactKey> answered() const;
  // Connections attempted so far.
  int attempts() const;

 private:
  void Run();
  Status RunRound();
  void Finish(Status status);

  NetworkService& service_;
  const std::string host_;
  const uint16_t port_;
  const std::string label_;
  std::vector<ContactKey> order_;  // dial thread only
  FactoryFor make_factory_;
  ContactDialOptions options_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool done_ = false;
  bool cancelled_ = false;
  Status result_;
  std::optional<ContactKey> answered_;
  int attempts_ = 0;
  std::optional<DialHandle> current_;
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace estelik::sync::net
