// Session: the sans-IO shape every sync session has, so that one driver (sync/net over TCP
// today; Bluetooth or a file on a USB stick carried by a phone shell tomorrow) can run any
// of them. A session consumes bytes and time, and produces bytes; it never touches a socket
// or reads a clock.
//
// Driver contract:
//   - Call Feed() with every byte received, in order, as it arrives (any split is fine).
//   - After every Feed()/Tick(), drain PendingOutput()/ConsumeOutput() to the transport.
//     Stop reading from the transport while WantsInput() is false (backpressure).
//   - Call Tick() at least every TickIntervalMs(); the session decides about its own
//     timeouts from the `now_ms` it is given.
//   - Once closed() is true, send what output remains, then close the transport; the
//     session's close_reason() says why ("peer sent a frame larger than 1 MiB").
//   - If the transport fails, call TransportClosed() with what happened.
//
// Thread safety: a session is used by one thread at a time.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace estelik::sync {

class Session {
 public:
  virtual ~Session() = default;

  // Consumes bytes from the peer.
  virtual void Feed(std::span<const uint8_t> bytes, uint64_t now_ms) = 0;
  // Lets the session act on time (timeouts, keep-alives, rate limits).
  virtual void Tick(uint64_t now_ms) = 0;

  // Bytes waiting to be sent; valid until the next call on the session.
  virtual std::span<const uint8_t> PendingOutput() const = 0;
  // Marks the first `n` bytes of PendingOutput() as handed to the transport.
  virtual void ConsumeOutput(size_t n) = 0;

  // False while the session holds as much unprocessed input as it allows itself.
  virtual bool WantsInput() const = 0;
  // The transport is gone (peer closed, reset, timed out).
  virtual void TransportClosed(const std::string& why) = 0;

  virtual bool closed() const = 0;
  // Why the session closed; empty while open. "done" after a clean finish.
  virtual const std::string& close_reason() const = 0;
  // True if the session ended successfully (as opposed to an error or a hostile peer).
  virtual bool succeeded() const = 0;
  // True once the peer has proved it is someone this side accepts (for a sync session: the
  // handshake completed with a known contact). It never goes back to false. Until then the
  // driver counts the connection as a stranger's: against a small pre-authentication budget,
  // evictable, and never as activity that keeps a vault unlocked.
  virtual bool authenticated() const { return false; }

  // How often the driver must call Tick(), in milliseconds.
  virtual uint64_t TickIntervalMs() const { return 250; }
};

}  // namespace estelik::sync
