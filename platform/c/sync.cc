// Sync for estelik.h: listeners, one-shot and continuous dials, run by sync::Orchestrator
// (sync/orchestrator) over the handle's Archive, and LAN discovery (sync::net::Discovery) for
// listeners and browsers; this file only adapts them to the C handle (its mutex, lock and
// close), to C options and structs, and to C callbacks.
//
// Locking: the network thread takes the handle's mutex for one Replica call at a time (one
// batch of ops, one chunk), so an app call waits at most one batch and a sync at most one app
// call. User callbacks run on the network thread with no mutex held, so they may call the
// vault. estelik_vault_lock drops the Archive under the mutex (keys wiped at once; every later
// Replica call fails with LOCKED) and then, outside it, stops every network of the handle.
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "platform/c/handles.h"
#include "sync/net/beacon.h"
#include "sync/net/contact_dial.h"
#include "sync/net/discovery.h"
#include "sync/net/network.h"
#include "sync/orchestrator/address.h"
#include "sync/orchestrator/archive_replica.h"
#include "sync/orchestrator/network_key.h"
#include "sync/orchestrator/orchestrator.h"

// The opaque handle: the C owner's reference to a sync.
struct estelik_sync {
  std::shared_ptr<estelik::capi::SyncState> state;
};

namespace estelik::capi {
namespace {

// The sync whose user callback this thread is running, if any: such a thread is that sync's
// network thread and must never wait for it to stop.
thread_local const SyncState* tls_callback_of = nullptr;

const Status kShutStatus(Code::kLocked,
                         "sync stopped: the vault was locked or closed, or the sync was stopped");

// Where beacons go and are heard by default (ESTELIK_DISCOVERY_PORT).
constexpr char kDefaultBeaconDestination[] = "255.255.255.255:47321";
constexpr char kDefaultBeaconListen[] = "0.0.0.0:47321";
static_assert(ESTELIK_DISCOVERY_PORT == sync::net::kDefaultDiscoveryPort);

void CopyStats(const sync::ReplicationStats& s, estelik_sync_stats* out) {
  *out = estelik_sync_stats{};
  out->ops_received = s.ops_received;
  out->ops_accepted = s.ops_accepted;
  out->ops_sent = s.ops_sent;
  out->chunks_wanted = s.chunks_wanted;
  out->chunks_received = s.chunks_received;
  out->chunks_sent = s.chunks_sent;
  out->attachment_bytes_received = s.chunk_bytes_received;
  out->attachment_bytes_sent = s.chunk_bytes_sent;
  out->bytes_in = s.wire_bytes_received;
  out->bytes_out = s.wire_bytes_sent;
  out->circles = static_cast<uint32_t>(s.circles);
  if (s.peer) {
    out->has_peer = 1;
    static_assert(sizeof(out->peer_key) == sizeof(*s.peer));
    std::memcpy(out->peer_key, s.peer->data(), sizeof(out->peer_key));
  }
}

// HOST:PORT, IPv6 as [::1]:PORT; port 0 only where `allow_zero`; `fallback` for NULL, if any.
// One message for every malformed address.
Result<sync::HostPort> ParseHostPort(const char* text, bool allow_zero,
                                     const char* fallback = nullptr) {
  if (text == nullptr) text = fallback;
  ESTELIK_RETURN_IF_ERROR(Require(text, "host_port"));
  Result<sync::HostPort> parsed = sync::ParseHostPort(text, allow_zero);
  if (!parsed.ok()) {
    return InvalidArgument("expected HOST:PORT, e.g. 127.0.0.1:7420 or [::1]:7420; got '" +
                           std::string(text) + "'");
  }
  return parsed;
}

}  // namespace

// What a sync handle is; fixed when it is made.
enum class SyncKind { kListener, kDial, kOnce, kBrowser };

// How a one-shot sync ended (estelik_sync_wait).
struct OnceResult {
  Status status;
  sync::ReplicationStats stats;
};

// One listener, one-shot dial, continuous dial or LAN browser on a vault handle
// (sync::Orchestrator over the handle's Archive; a sync::net::Discovery for browsers and
// advertising listeners). Shared by the C handle (estelik_sync), the vault's registry (weakly)
// and, briefly, a lock that stops it.
struct SyncState final : sync::net::NetworkEvents, std::enable_shared_from_this<SyncState> {
  const SyncKind kind;
  std::shared_ptr<VaultCore> core;
  estelik_sync_callbacks callbacks{};
  sync::ArchiveReplica replica;
  // Dials: the contact named by options->peer_key, or else every contact in turn.
  std::optional<sync::net::ContactKey> peer_key;
  std::thread loop;  // continuous and one-shot dials: the dial rounds

  std::mutex stop_mu;
  bool stopped = false;
  std::atomic<bool> stop_requested{false};  // a helper thread is stopping this sync
  std::atomic<bool> cancelled{false};       // estelik_sync_stop or _free was called
  std::atomic<bool> vault_shut{false};      // the vault was locked or closed (MarkSyncsShut)
  uint16_t port = 0;
  // Listeners and browsers: the discovery key of the network key, and the Discovery that
  // announces or browses with it (stop_mu; both wiped at Stop).
  crypto::SecretBytes discovery_key;
  std::unique_ptr<sync::net::Discovery> discovery;

  // One-shot: its result, once the round is over.
  std::mutex once_mu;
  std::condition_variable once_cv;
  std::optional<OnceResult> once;
  // Network thread only: each session's final stats, from on_closed to OnSessionEnded.
  std::map<uint64_t, sync::ReplicationStats> final_stats;

  // Last member: destroyed first, while everything its sessions borrow still exists.
  std::unique_ptr<sync::Orchestrator> orchestrator;

  SyncState(SyncKind sync_kind, std::shared_ptr<VaultCore> vault_core)
      : kind(sync_kind), core(std::move(vault_core)), replica(HandleAccess()) {}
  ~SyncState() override { Stop(); }

  // The Archive of the handle for one Replica call, under the handle's mutex, found anew each
  // time since a lock or close may have destroyed it in between. Sync traffic is not app
  // activity: Get() (not Use()) leaves the auto-lock clock alone, so an idle device locks even
  // while a server answers peers.
  sync::ArchiveReplica::Access HandleAccess() {
    return [this](const sync::ArchiveReplica::Use& use) -> Status {
      std::lock_guard lock(core->mu);
      if (shut()) return kShutStatus;
      ESTELIK_ASSIGN_OR_RETURN(archive::Archive * archive, core->Get());
      return use(*archive);
    };
  }

  // Never serve again (lock, close, stop).
  bool shut() const { return orchestrator == nullptr || orchestrator->refusing(); }

  void Emit(const estelik_sync_event& event) {
    if (callbacks.on_event == nullptr) return;
    const SyncState* outer = tls_callback_of;
    tls_callback_of = this;
    callbacks.on_event(callbacks.user_data, &event);
    tls_callback_of = outer;
  }

  static estelik_sync_event Event(estelik_sync_event_kind kind,
                                  const sync::net::SessionInfo& info) {
    estelik_sync_event e{};
    e.kind = kind;
    e.session_id = info.id;
    e.peer_address = info.peer.c_str();
    e.inbound = info.direction == sync::net::Direction::kInbound ? 1 : 0;
    e.reason = "";
    return e;
  }

  void OnSessionStarted(const sync::net::SessionInfo& info) override {
    Emit(Event(ESTELIK_SYNC_SESSION_STARTED, info));
  }
  void OnSessionEnded(const sync::net::SessionReport& report) override {
    estelik_sync_event e = Event(ESTELIK_SYNC_SESSION_ENDED, report.info);
    e.succeeded = report.succeeded ? 1 : 0;
    e.reason = report.close_reason.c_str();
    if (auto it = final_stats.find(report.info.id); it != final_stats.end()) {
      CopyStats(it->second, &e.stats);
      final_stats.erase(it);
    }
    e.stats.bytes_in = report.bytes_in;
    e.stats.bytes_out = report.bytes_out;
    Emit(e);
  }
  void OnConnectionRejected(const std::string& peer, const std::string& why) override {
    estelik_sync_event e{};
    e.kind = ESTELIK_SYNC_CONNECTION_REFUSED;
    e.peer_address = peer.c_str();
    e.inbound = 1;
    e.reason = why.c_str();
    Emit(e);
  }
  void OnDialRetry(const std::string& peer, int /*attempt*/, const Status& why,
                   std::chrono::milliseconds /*retry_in*/) override {
    estelik_sync_event e{};
    e.kind = ESTELIK_SYNC_DIAL_RETRY;
    e.peer_address = peer.c_str();
    e.reason = why.message().c_str();
    Emit(e);
  }

  // Progress events, and each session's final stats for its SESSION_ENDED event.
  sync::SessionHooks Hooks() {
    sync::SessionHooks hooks;
    hooks.on_progress = [this](const sync::net::SessionInfo& info,
                               const sync::ReplicationStats& s) {
      estelik_sync_event e = Event(ESTELIK_SYNC_PROGRESS, info);
      CopyStats(s, &e.stats);
      Emit(e);
    };
    hooks.on_closed = [this](const sync::net::SessionInfo& info, const sync::SessionEnd& end) {
      final_stats[info.id] = end.stats;
    };
    return hooks;
  }

  // The contacts a dial tries.
  Result<std::vector<sync::net::ContactKey>> Candidates() const {
    if (peer_key) return std::vector<sync::net::ContactKey>{*peer_key};
    return replica.ContactKeys();
  }

  // Dial rounds at `target`: the candidates of each round are asked anew.
  sync::Rounds DialRounds(const sync::HostPort& target) const {
    sync::Rounds rounds;
    rounds.target = target;
    rounds.candidates = [this] { return Candidates(); };
    return rounds;
  }

  // One-shot (on `loop`): one round, no retry, then its result for Wait. Stopped before it
  // dialed, that is the outcome.
  void RunOnce(sync::Rounds rounds, const std::string& label) {
    std::optional<sync::SyncOutcome> outcome;
    rounds.after_round = [&outcome](const sync::SyncOutcome& round) {
      outcome = round;
      return false;
    };
    orchestrator->RunRounds(rounds);
    if (!outcome) outcome = sync::FailedOutcome(Status(Code::kAborted, "sync stopped"));
    Status status = sync::OutcomeStatus(*outcome, label);
    if (vault_shut) {
      status = Status(Code::kLocked, "sync aborted: the vault was locked or closed during it");
    } else if (cancelled && !outcome->ok) {
      status = Status(Code::kAborted, "sync with " + label + " cancelled");
    }
    std::lock_guard lock(once_mu);
    once = OnceResult{std::move(status), outcome->stats};
    once_cv.notify_all();
  }

  // Blocks until RunOnce has settled the result.
  OnceResult WaitOnce() {
    std::unique_lock lock(once_mu);
    once_cv.wait(lock, [this] { return once.has_value(); });
    return *once;
  }

  // Why a stopped sync cannot start something new.
  Status StoppedStatus() const {
    return vault_shut ? kShutStatus : Status(Code::kAborted, "the sync was stopped");
  }

  // Browsers: reports every beacon heard under the network key, until stopped.
  Status Browse(const sync::HostPort& address) {
    std::lock_guard guard(stop_mu);  // a lock of the vault may be stopping us already
    if (stopped || shut()) return StoppedStatus();
    sync::net::DiscoveryOptions options;
    options.listen_address = address.host;
    options.listen_port = address.port;
    std::vector<sync::net::DiscoveryKey> keys;
    keys.push_back({"network", discovery_key.Clone()});
    ESTELIK_ASSIGN_OR_RETURN(
        discovery, sync::net::Discovery::Start(
                       std::move(options), std::move(keys), {},
                       [this](const sync::net::DiscoveredPeer& peer) { OnPeerFound(peer); }));
    port = discovery->listen_port();
    return Status::Ok();
  }

  // Listeners: announces `port` to `destination` every `interval_ms` (0: the default).
  Status Advertise(const sync::HostPort& destination, uint32_t interval_ms) {
    if (kind != SyncKind::kListener) {
      return InvalidArgument("estelik_sync_advertise needs a listener (estelik_sync_listen)");
    }
    std::lock_guard guard(stop_mu);
    if (stopped || shut()) return StoppedStatus();
    if (discovery) return AlreadyExists("this listener already announces itself");
    sync::net::DiscoveryOptions options;
    options.destination_address = destination.host;
    options.destination_port = destination.port;
    if (interval_ms > 0) options.interval = std::chrono::milliseconds(interval_ms);
    std::vector<sync::net::Advertisement> ads;
    ads.push_back({discovery_key.Clone(), port});
    ESTELIK_ASSIGN_OR_RETURN(
        discovery, sync::net::Discovery::Start(std::move(options), {}, std::move(ads), nullptr));
    return Status::Ok();
  }

  void OnPeerFound(const sync::net::DiscoveredPeer& peer) {
    if (shut()) return;  // stopped or locked: nothing more to report
    const std::string address = sync::FormatHostPort({peer.address, peer.port});
    estelik_sync_event e{};
    e.kind = ESTELIK_SYNC_PEER_FOUND;
    e.peer_address = address.c_str();
    e.reason = "";
    Emit(e);
  }

  // Ends every session and the discovery, and wipes this sync's keys; idempotent. Must not run
  // on the network or discovery thread (callers check tls_callback_of).
  void Stop() {
    std::lock_guard guard(stop_mu);
    if (orchestrator) orchestrator->Halt();
    if (stopped) return;
    if (discovery) discovery->Stop();
    discovery.reset();
    discovery_key.Wipe();
    if (orchestrator) orchestrator->Stop();  // sessions end; the dial rounds return
    if (loop.joinable()) loop.join();
    stopped = true;
  }

  // From a callback on a network thread nothing can be joined: refuse new work at once (open
  // sessions fail at their next vault access) and let a helper thread finish the stop, which
  // completes once the callback has returned.
  void RequestStop() {
    orchestrator->Halt();
    if (stop_requested.exchange(true)) return;
    std::thread([self = shared_from_this()] { self->Stop(); }).detach();
  }

  void StopFromAnyThread() {
    if (tls_callback_of == this) {
      RequestStop();
    } else {
      Stop();
    }
  }
};

void MarkSyncsShut(VaultCore& core) {
  for (auto& [raw, weak] : core.syncs) {
    raw->vault_shut = true;
    raw->orchestrator->Refuse();
  }
}

bool OnOwnNetworkThread(const SyncState& sync) { return tls_callback_of == &sync; }

void StopSyncs(const std::vector<std::shared_ptr<SyncState>>& syncs) {
  // A callback of one sync that locks the vault must not join another sync either: that
  // sync's thread may be inside a callback waiting to lock too.
  const bool on_network_thread = tls_callback_of != nullptr;
  for (const auto& sync : syncs) {
    if (on_network_thread) {
      sync->RequestStop();
    } else {
      sync->Stop();
    }
  }
}

namespace {

Result<std::optional<sync::net::ContactKey>> PeerKey(const estelik_sync_options* options) {
  if (options == nullptr || options->peer_key == nullptr) {
    return std::optional<sync::net::ContactKey>();
  }
  sync::net::ContactKey key;
  std::memcpy(key.data(), options->peer_key, key.size());
  return std::optional<sync::net::ContactKey>(key);
}

sync::net::NetworkOptions NetOptions(const estelik_sync_options* options) {
  sync::net::NetworkOptions net;
  if (options == nullptr) return net;
  if (options->idle_timeout_ms > 0) {
    net.idle_timeout = std::chrono::milliseconds(options->idle_timeout_ms);
  }
  if (options->max_sessions > 0) net.max_sessions = options->max_sessions;
  return net;
}

// A new sync on `vault`, registered so that lock and close stop it; LOCKED/ABORTED if the
// vault is not open. The caller listens, dials or browses.
Result<std::shared_ptr<SyncState>> NewSync(SyncKind kind, estelik_vault* vault,
                                           const estelik_sync_options* options,
                                           const estelik_sync_callbacks* callbacks) {
  ESTELIK_RETURN_IF_ERROR(Require(vault, "vault"));
  ApplyAutoLock(*vault->core);
  sync::NetworkKeySource key_source;  // none given: the public default
  if (options != nullptr) key_source.bytes = options->network_key;
  ESTELIK_ASSIGN_OR_RETURN(crypto::SecretBytes network_key, sync::LoadNetworkKey(key_source));
  auto state = std::make_shared<SyncState>(kind, vault->core);
  if (kind == SyncKind::kListener || kind == SyncKind::kBrowser) {
    ESTELIK_ASSIGN_OR_RETURN(state->discovery_key,
                             sync::net::DeriveDiscoveryKey(network_key.span()));
  }
  if (callbacks != nullptr) state->callbacks = *callbacks;
  ESTELIK_ASSIGN_OR_RETURN(state->peer_key, PeerKey(options));
  state->orchestrator = std::make_unique<sync::Orchestrator>(
      state->replica, sync::OrchestratorOptions{std::move(network_key), NetOptions(options),
                                                state.get(), state->Hooks()});
  std::lock_guard lock(vault->core->mu);
  ESTELIK_RETURN_IF_ERROR(vault->core->Use().status());
  vault->core->syncs[state.get()] = state;
  return state;
}

void Unregister(const std::shared_ptr<SyncState>& state) {
  std::lock_guard lock(state->core->mu);
  state->core->syncs.erase(state.get());
}

Status Publish(std::shared_ptr<SyncState> state, estelik_sync** out) {
  auto handle = std::make_unique<estelik_sync>();
  handle->state = std::move(state);
  *out = handle.release();  // owned by the caller until estelik_sync_free
  return Status::Ok();
}

}  // namespace
}  // namespace estelik::capi

using estelik::Code;
using estelik::InvalidArgument;
using estelik::Status;
using estelik::capi::Guard;
using estelik::capi::Require;
using estelik::capi::SyncKind;
using estelik::capi::SyncState;

extern "C" {

estelik_status estelik_sync_listen(estelik_vault* vault, const char* host_port,
                                   const estelik_sync_options* options,
                                   const estelik_sync_callbacks* callbacks, estelik_sync** out_sync,
                                   estelik_error* err) {
  if (out_sync != nullptr) *out_sync = nullptr;
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_sync, "out_sync"));
    ESTELIK_ASSIGN_OR_RETURN(auto address, estelik::capi::ParseHostPort(host_port, true));
    ESTELIK_ASSIGN_OR_RETURN(
        auto state, estelik::capi::NewSync(SyncKind::kListener, vault, options, callbacks));
    auto port = state->orchestrator->Listen(address);
    if (!port.ok()) {
      estelik::capi::Unregister(state);
      return port.status();
    }
    state->port = *port;
    return estelik::capi::Publish(std::move(state), out_sync);
  });
}

uint16_t estelik_sync_port(const estelik_sync* sync) {
  return sync == nullptr ? 0 : sync->state->port;
}

estelik_status estelik_sync_dial(estelik_vault* vault, const char* host_port,
                                 const estelik_sync_options* options,
                                 const estelik_sync_callbacks* callbacks, estelik_sync** out_sync,
                                 estelik_error* err) {
  if (out_sync != nullptr) *out_sync = nullptr;
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_sync, "out_sync"));
    ESTELIK_ASSIGN_OR_RETURN(auto address, estelik::capi::ParseHostPort(host_port, false));
    ESTELIK_ASSIGN_OR_RETURN(auto state,
                             estelik::capi::NewSync(SyncKind::kDial, vault, options, callbacks));
    estelik::sync::Rounds rounds = state->DialRounds(address);
    rounds.retry = true;  // each round reconnects with backoff
    if (options != nullptr && options->interval_ms > 0) {
      rounds.interval = std::chrono::milliseconds(options->interval_ms);
    }
    state->loop = std::thread(
        [raw = state.get(), rounds = std::move(rounds)] { raw->orchestrator->RunRounds(rounds); });
    return estelik::capi::Publish(std::move(state), out_sync);
  });
}

estelik_status estelik_sync_once(estelik_vault* vault, const char* host_port,
                                 const estelik_sync_options* options,
                                 const estelik_sync_callbacks* callbacks,
                                 estelik_sync_stats* out_summary, estelik_error* err) {
  if (out_summary != nullptr) *out_summary = estelik_sync_stats{};
  estelik_sync* sync = nullptr;
  estelik_status status = estelik_sync_start_once(vault, host_port, options, callbacks, &sync, err);
  if (status == ESTELIK_OK) status = estelik_sync_wait(sync, out_summary, err);
  estelik_sync_free(sync);
  return status;
}

estelik_status estelik_sync_start_once(estelik_vault* vault, const char* host_port,
                                       const estelik_sync_options* options,
                                       const estelik_sync_callbacks* callbacks,
                                       estelik_sync** out_sync, estelik_error* err) {
  if (out_sync != nullptr) *out_sync = nullptr;
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_sync, "out_sync"));
    ESTELIK_ASSIGN_OR_RETURN(auto address, estelik::capi::ParseHostPort(host_port, false));
    ESTELIK_ASSIGN_OR_RETURN(auto state,
                             estelik::capi::NewSync(SyncKind::kOnce, vault, options, callbacks));
    state->loop = std::thread([raw = state.get(), rounds = state->DialRounds(address),
                               label = std::string(host_port)] { raw->RunOnce(rounds, label); });
    return estelik::capi::Publish(std::move(state), out_sync);
  });
}

estelik_status estelik_sync_wait(estelik_sync* sync, estelik_sync_stats* out_summary,
                                 estelik_error* err) {
  if (out_summary != nullptr) *out_summary = estelik_sync_stats{};
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(sync, "sync"));
    SyncState& state = *sync->state;
    if (state.kind != SyncKind::kOnce) {
      return InvalidArgument("estelik_sync_wait needs a one-shot sync (estelik_sync_start_once)");
    }
    if (estelik::capi::OnOwnNetworkThread(state)) {
      return InvalidArgument("estelik_sync_wait from the sync's own callback would wait forever");
    }
    estelik::capi::OnceResult result = state.WaitOnce();
    if (out_summary != nullptr) estelik::capi::CopyStats(result.stats, out_summary);
    return result.status;
  });
}

estelik_status estelik_sync_stop(estelik_sync* sync, estelik_error* err) {
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(sync, "sync"));
    sync->state->cancelled = true;
    sync->state->StopFromAnyThread();
    return Status::Ok();
  });
}

void estelik_sync_free(estelik_sync* sync) {
  if (sync == nullptr) return;
  std::unique_ptr<estelik_sync> owned(sync);
  estelik::capi::Unregister(owned->state);
  if (estelik::capi::OnOwnNetworkThread(*owned->state)) {
    // Freed from its own callback: the stop completes on a helper thread, and the caller may
    // free its user data as soon as we return, so no further event may reach it. Only this
    // (the network) thread reads `callbacks`, so the write needs no lock.
    owned->state->callbacks.on_event = nullptr;
  }
  owned->state->cancelled = true;
  owned->state->StopFromAnyThread();
}

estelik_status estelik_sync_advertise(estelik_sync* sync, const char* destination,
                                      uint32_t interval_ms, estelik_error* err) {
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(sync, "sync"));
    ESTELIK_ASSIGN_OR_RETURN(
        auto address,
        estelik::capi::ParseHostPort(destination, false, estelik::capi::kDefaultBeaconDestination));
    estelik::capi::ApplyAutoLock(*sync->state->core);  // a due lock stops the listener first
    return sync->state->Advertise(address, interval_ms);
  });
}

estelik_status estelik_sync_browse(estelik_vault* vault, const char* host_port,
                                   const estelik_sync_options* options,
                                   const estelik_sync_callbacks* callbacks, estelik_sync** out_sync,
                                   estelik_error* err) {
  if (out_sync != nullptr) *out_sync = nullptr;
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_sync, "out_sync"));
    ESTELIK_ASSIGN_OR_RETURN(
        auto address,
        estelik::capi::ParseHostPort(host_port, true, estelik::capi::kDefaultBeaconListen));
    ESTELIK_ASSIGN_OR_RETURN(auto state,
                             estelik::capi::NewSync(SyncKind::kBrowser, vault, options, callbacks));
    if (Status browsing = state->Browse(address); !browsing.ok()) {
      estelik::capi::Unregister(state);
      return browsing;
    }
    return estelik::capi::Publish(std::move(state), out_sync);
  });
}

}  // extern "C"
