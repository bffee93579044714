// Orchestrator: one vault's sync over TCP, as every shell runs it (the C API's
// estelik_sync_listen/dial/once, `estelik serve` and `estelik sync`): listen; dial an address
// once, or in rounds (each reconnecting with backoff) with a pause between them; try each
// contact in turn when no peer is named, the one that answered last first; and what a round
// came to (SyncOutcome). The shells keep only their adaptation: C structs and callbacks, flags,
// signals and printing.
//
// Layering: sync/protocol is sans-IO (sessions over a Replica interface); sync/net drives
// sessions over sockets and knows nothing of vaults; this library, sync/orchestrator, binds the
// two to a vault: the Replica of an archive::Archive (archive_replica.h), the network key
// (network_key.h), addresses (address.h) and the choice of contacts (contact_choice.h). It is a
// library of its own rather than part of sync/net so that sync/net (and everything that only
// moves bytes: its tests, the fuzzers) never links core/archive.
//
// Threading: Listen, StartDial, Refuse, Halt and Stop are thread-safe. RunRounds runs on the
// caller's thread, one call at a time. Halt may be called from a session or event callback
// (the network thread); Stop and the destructor must not. SessionHooks and NetworkEvents run
// on the network thread. The Replica and the events must outlive the orchestrator.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto/secret.h"
#include "core/status.h"
#include "sync/net/contact_dial.h"
#include "sync/net/network.h"
#include "sync/orchestrator/address.h"
#include "sync/orchestrator/outcome.h"
#include "sync/protocol/replica.h"
#include "sync/protocol/replication.h"

namespace estelik::sync {

// What a shell hears of each session, on the network thread. Either may be empty.
struct SessionHooks {
  std::function<void(const net::SessionInfo&, const ReplicationStats&)> on_progress;
  std::function<void(const net::SessionInfo&, const SessionEnd&)> on_closed;
};

struct OrchestratorOptions {
  crypto::SecretBytes network_key;       // kNetworkKeySize bytes (see LoadNetworkKey)
  net::NetworkOptions network;           // timeouts and limits of the NetworkService
  net::NetworkEvents* events = nullptr;  // may be null; also told of every dial retry
  SessionHooks hooks;
};

struct SessionRecord;  // orchestrator.cc: the sessions of one dial

// What counts as sync activity for auto-lock, for every shell: a session whose handshake
// completed with a contact (net::NetworkEvents::OnSessionAuthenticated), from then until it
// ends. A stranger's connection, garbage, a half handshake or a refused identity is never
// activity. Forwards every event to `inner` (may be null). Network thread writes; Idle() is
// thread-safe.
class ContactActivity final : public net::NetworkEvents {
 public:
  explicit ContactActivity(net::NetworkEvents* inner);
  // Zero while a contact's session is open; else the time since the last one started or ended
  // (or since construction, if none has).
  std::chrono::steady_clock::duration Idle() const;

  void OnSessionStarted(const net::SessionInfo& info) override;
  void OnSessionAuthenticated(const net::SessionInfo& info) override;
  void OnSessionEnded(const net::SessionReport& report) override;
  void OnConnectionRejected(const std::string& peer, const std::string& why) override;
  void OnDialRetry(const std::string& peer, int attempt, const Status& why,
                   std::chrono::milliseconds retry_in) override;

 private:
  net::NetworkEvents* const inner_;
  mutable std::mutex mu_;
  int open_ = 0;
  std::chrono::steady_clock::time_point last_;
};

// One dial in progress: each candidate contact in turn (net::ContactDialer).
class DialRun {
 public:
  ~DialRun();
  // Blocks until the dial is over and returns what it came to.
  SyncOutcome Wait() const;
  // Like Wait(), but nullopt if the dial is still going after `timeout`.
  std::optional<SyncOutcome> WaitFor(std::chrono::milliseconds timeout) const;
  // Stops the dial (a session already running may finish; see ContactDialer::Cancel).
  void Cancel();

 private:
  friend class Orchestrator;
  DialRun() = default;
  SyncOutcome Decide(const Status& dialed) const;

  std::shared_ptr<SessionRecord> record_;
  std::unique_ptr<net::ContactDialer> dialer_;
};

// Dial rounds at one address (RunRounds). Every function may be empty.
struct Rounds {
  HostPort target;
  bool retry = false;  // a round reconnects with backoff until a session succeeds
  std::chrono::milliseconds interval{60'000};  // the default pause between rounds
  // Before each round: the contacts to try. An error is that round's outcome.
  std::function<Result<std::vector<net::ContactKey>>()> candidates;
  // Waits for a round's dial to end and returns its outcome (it may Cancel the dial first).
  // Default: DialRun::Wait.
  std::function<SyncOutcome(DialRun&)> await;
  // After each round, with its outcome: false ends the rounds. Default: go on.
  std::function<bool(const SyncOutcome&)> after_round;
  // Between rounds: false ends the rounds. Default: waits `interval`, or ends at Halt/Stop.
  std::function<bool()> pause;
};

class Orchestrator {
 public:
  // Starts a NetworkService (its network thread) for sessions over `replica`.
  Orchestrator(Replica& replica, OrchestratorOptions options);
  ~Orchestrator();  // Stop()
  Orchestrator(const Orchestrator&) = delete;
  Orchestrator& operator=(const Orchestrator&) = delete;

  // Answers contacts at `address` (port 0: an ephemeral port); returns the bound port. Errors
  // as NetworkService::Listen.
  Result<uint16_t> Listen(const HostPort& address);

  // Starts dialing `target` as each of `candidates` in turn (see net::ContactDialer); with
  // `retry`, in rounds with backoff until a session succeeds. Null once halted.
  std::shared_ptr<DialRun> StartDial(const HostPort& target,
                                     std::vector<net::ContactKey> candidates, bool retry);

  // Dials in rounds as `rounds` says, the contact that answered last tried first in the next
  // round, until a hook says stop or Halt/Stop. Returns at once when halted.
  void RunRounds(const Rounds& rounds);

  // Auto-lock's idle time: see ContactActivity. Thread-safe.
  std::chrono::steady_clock::duration ContactIdle() const { return activity_.Idle(); }

  // From now on no new session is made (connections are refused); running ones go on.
  void Refuse();
  bool refusing() const { return refusing_.load(); }

  // Refuse(), cancels the current dial, ends RunRounds' pause and any later StartDial. Safe on
  // the network thread; idempotent.
  void Halt();

  // Halt(), then ends every session (NetworkService::Stop) and wipes the network key.
  // Idempotent. Not on the network thread.
  void Stop();

 private:
  std::unique_ptr<Session> MakeSession(const net::SessionInfo& info,
                                       const std::optional<net::ContactKey>& expected_peer,
                                       std::shared_ptr<SessionRecord> record);
  ReplicationConfig SessionConfig(const net::SessionInfo& info,
                                  std::shared_ptr<SessionRecord> record) const;
  bool Pause(std::chrono::milliseconds interval);
  void EndDial(const std::shared_ptr<DialRun>& run);

  Replica& replica_;
  const SessionHooks hooks_;
  net::NetworkEvents* const events_;
  std::atomic<bool> refusing_{false};

  std::mutex key_mu_;  // network_key_ (cloned on the network thread, wiped by Stop)
  crypto::SecretBytes network_key_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool halted_ = false;
  std::shared_ptr<DialRun> current_;

  ContactActivity activity_;  // the service's events: outlives it

  // Last member: destroyed first, while everything its sessions borrow still exists.
  std::unique_ptr<net::NetworkService> service_;
};

}  // namespace estelik::sync
