// Sync for estelik.h: listeners, one-shot and continuous dials. sync/net's NetworkService
// drives sync/protocol's ReplicationSession over the handle's Archive; this file only adapts
// them to the C handle (its mutex, lock and close) and to C callbacks.
//
// Locking: the network thread takes the handle's mutex for one Replica call at a time (one
// batch of ops, one chunk), so an app call waits at most one batch and a sync at most one app
// call. User callbacks run on the network thread with no mutex held, so they may call the
// vault. estelik_vault_lock drops the Archive under the mutex (keys wiped at once; every later
// Replica call fails with LOCKED) and then, outside it, stops every network of the handle.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "platform/c/handles.h"
#include "sync/net/contact_dial.h"
#include "sync/net/network.h"
#include "sync/protocol/archive_replica.h"
#include "sync/protocol/replication.h"

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

// The Replica of a vault handle. Like ArchiveReplica with a mutex, but it finds the Archive
// anew at every call, since a lock or close may have destroyed it in between.
class HandleReplica final : public sync::Replica {
 public:
  HandleReplica(std::shared_ptr<VaultCore> core, const std::atomic<bool>* shut)
      : core_(std::move(core)), shut_(shut) {}

  crypto::SecretBytes IdentitySecretKey() const override {
    crypto::SecretBytes key;  // empty when locked: the channel then refuses to start
    (void)Call([&](sync::ArchiveReplica& r) -> Status {
      key = r.IdentitySecretKey();
      return Status::Ok();
    });
    return key;
  }
  bool IsContact(const log::PublicKey& peer) override {
    bool contact = false;  // fail closed: a locked vault knows no contact
    (void)Call([&](sync::ArchiveReplica& r) -> Status {
      contact = r.IsContact(peer);
      return Status::Ok();
    });
    return contact;
  }
  Result<std::vector<std::string>> SharedCircles(const log::PublicKey& peer) override {
    return Fetch<std::vector<std::string>>(
        [&](sync::ArchiveReplica& r) { return r.SharedCircles(peer); });
  }
  bool KnowsCircle(const std::string& circle_id) override {
    bool knows = false;
    (void)Call([&](sync::ArchiveReplica& r) -> Status {
      knows = r.KnowsCircle(circle_id);
      return Status::Ok();
    });
    return knows;
  }
  Result<log::VersionVector> Versions(const std::string& circle_id) override {
    return Fetch<log::VersionVector>(
        [&](sync::ArchiveReplica& r) { return r.Versions(circle_id); });
  }
  Result<std::vector<pb::Envelope>> OpsAfter(const std::string& circle_id,
                                             const log::VersionVector& theirs,
                                             size_t limit) override {
    return Fetch<std::vector<pb::Envelope>>(
        [&](sync::ArchiveReplica& r) { return r.OpsAfter(circle_id, theirs, limit); });
  }
  Result<sync::ReceiveOutcome> ReceiveOps(const std::string& circle_id,
                                          const std::vector<pb::Envelope>& envelopes) override {
    return Fetch<sync::ReceiveOutcome>(
        [&](sync::ArchiveReplica& r) { return r.ReceiveOps(circle_id, envelopes); });
  }
  Result<std::vector<pb::AttachmentInfo>> CircleAttachments(const std::string& circle_id) override {
    return Fetch<std::vector<pb::AttachmentInfo>>(
        [&](sync::ArchiveReplica& r) { return r.CircleAttachments(circle_id); });
  }
  Result<std::vector<uint64_t>> MissingChunks(const std::string& attachment_id) override {
    return Fetch<std::vector<uint64_t>>(
        [&](sync::ArchiveReplica& r) { return r.MissingChunks(attachment_id); });
  }
  Status ExpectAttachment(const pb::AttachmentInfo& info) override {
    return Call([&](sync::ArchiveReplica& r) { return r.ExpectAttachment(info); });
  }
  Status PutChunk(const std::string& attachment_id, uint64_t index,
                  const std::string& sealed) override {
    return Call([&](sync::ArchiveReplica& r) { return r.PutChunk(attachment_id, index, sealed); });
  }
  Result<std::string> GetSealedChunk(const std::string& attachment_id, uint64_t index) override {
    return Fetch<std::string>(
        [&](sync::ArchiveReplica& r) { return r.GetSealedChunk(attachment_id, index); });
  }

 private:
  // Runs `fn` on an ArchiveReplica of the current Archive with the handle's mutex held for
  // this one call. Sync traffic is not app activity: Get() (not Use()) leaves the auto-lock
  // clock alone, so an idle device locks even while a server answers peers.
  // Call() for the calls that return a value.
  template <typename T, typename Fn>
  Result<T> Fetch(Fn&& fn) const {
    std::optional<Result<T>> out;
    ESTELIK_RETURN_IF_ERROR(Call([&](sync::ArchiveReplica& r) -> Status {
      out.emplace(fn(r));
      return Status::Ok();
    }));
    return std::move(*out);
  }

  template <typename Fn>
  Status Call(Fn&& fn) const {
    std::lock_guard lock(core_->mu);
    if (shut_->load()) return kShutStatus;
    ESTELIK_ASSIGN_OR_RETURN(archive::Archive * archive, core_->Get());
    sync::ArchiveReplica replica(*archive);
    return fn(replica);
  }

  std::shared_ptr<VaultCore> core_;
  const std::atomic<bool>* shut_;
};

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

// HOST:PORT, IPv6 as [::1]:PORT; port 0 only where `allow_zero`.
Result<std::pair<std::string, uint16_t>> ParseHostPort(const char* text, bool allow_zero) {
  ESTELIK_RETURN_IF_ERROR(Require(text, "host_port"));
  const std::string s(text);
  const size_t colon = s.rfind(':');
  const auto bad = [&] {
    return InvalidArgument("expected HOST:PORT, e.g. 127.0.0.1:7420 or [::1]:7420; got '" + s +
                           "'");
  };
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return bad();
  std::string host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  uint32_t port = 0;
  for (size_t i = colon + 1; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9' || port > 65535) return bad();
    port = port * 10 + static_cast<uint32_t>(s[i] - '0');
  }
  if (port > 65535 || (port == 0 && !allow_zero)) return bad();
  return std::make_pair(host, static_cast<uint16_t>(port));
}

}  // namespace

// One listener, one-shot dial or continuous dial on a vault handle. Shared by the C handle
// (estelik_sync), the vault's registry (weakly) and, briefly, a lock that stops it.
struct SyncState final : sync::net::NetworkEvents, std::enable_shared_from_this<SyncState> {
  std::shared_ptr<VaultCore> core;
  estelik_sync_callbacks callbacks{};
  crypto::SecretBytes network_key;
  std::atomic<bool> shut{false};  // never serve again (lock, close, stop)
  HandleReplica replica;

  // A one-shot dial's outcome (network thread writes, caller reads after the dial).
  struct Outcome {
    std::mutex mu;
    bool closed = false;
    bool succeeded = false;
    std::string reason;
    sync::ReplicationStats stats;
  };
  std::shared_ptr<Outcome> outcome;

  // Dials: the contact named by options->peer_key, or else every contact in turn (the one
  // that answered last first).
  std::optional<sync::net::ContactKey> peer_key;
  std::optional<sync::net::ContactKey> last_answered;  // loop thread (or the one-shot caller)

  // Continuous mode.
  std::string dial_host;
  uint16_t dial_port = 0;
  std::chrono::milliseconds interval{60'000};
  std::mutex loop_mu;
  std::condition_variable loop_cv;
  bool loop_stop = false;
  bool stop_requested = false;                       // a helper thread is stopping this sync
  std::shared_ptr<sync::net::ContactDialer> dialer;  // the current dial, if any
  std::thread loop;

  std::mutex stop_mu;
  bool stopped = false;
  uint16_t port = 0;
  // Network thread only: each session's final stats, from on_closed to OnSessionEnded.
  std::map<uint64_t, sync::ReplicationStats> final_stats;

  // Last member: destroyed first, while everything its sessions borrow still exists.
  std::unique_ptr<sync::net::NetworkService> service;

  explicit SyncState(std::shared_ptr<VaultCore> vault_core)
      : core(std::move(vault_core)), replica(core, &shut) {}
  ~SyncState() override { Stop(); }

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

  // Network thread: a fresh replication session for a new connection, or none once shut.
  std::unique_ptr<sync::Session> MakeSession(
      const sync::net::SessionInfo& info, bool initiator,
      const std::optional<sync::net::ContactKey>& expected_peer = std::nullopt) {
    if (shut.load()) return nullptr;
    sync::ReplicationConfig config;
    config.initiator = initiator;
    config.expected_peer = expected_peer;
    config.network_key = network_key.Clone();
    const uint64_t id = info.id;
    const std::string peer = info.peer;
    const bool inbound = info.direction == sync::net::Direction::kInbound;
    config.on_progress = [this, id, peer, inbound](const sync::ReplicationStats& s) {
      estelik_sync_event e{};
      e.kind = ESTELIK_SYNC_PROGRESS;
      e.session_id = id;
      e.peer_address = peer.c_str();
      e.inbound = inbound ? 1 : 0;
      e.reason = "";
      CopyStats(s, &e.stats);
      Emit(e);
    };
    config.on_closed = [this, id, out = outcome](const sync::ReplicationStats& s, bool ok,
                                                 const std::string& why) {
      final_stats[id] = s;
      if (!out) return;
      std::lock_guard lock(out->mu);
      out->closed = true;
      out->succeeded = ok;
      out->reason = why;
      out->stats = s;
    };
    auto session = sync::ReplicationSession::Create(replica, std::move(config));
    if (!session.ok()) return nullptr;
    return std::move(*session);
  }

  sync::net::SessionFactory Factory(bool initiator) {
    return [this, initiator](const sync::net::SessionInfo& info) {
      return MakeSession(info, initiator);
    };
  }

  // The contacts a dial tries, in order.
  Result<std::vector<sync::net::ContactKey>> Candidates() {
    if (peer_key) return std::vector<sync::net::ContactKey>{*peer_key};
    std::vector<sync::net::ContactKey> out;
    {
      std::lock_guard lock(core->mu);
      if (shut.load()) return kShutStatus;
      ESTELIK_ASSIGN_OR_RETURN(archive::Archive * archive, core->Get());
      ESTELIK_ASSIGN_OR_RETURN(std::vector<log::Contact> contacts, archive->log().Contacts());
      for (const log::Contact& c : contacts) out.push_back(c.public_key);
    }
    if (last_answered) {
      auto at = std::find(out.begin(), out.end(), *last_answered);
      if (at != out.end()) std::rotate(out.begin(), at, at + 1);
    }
    return out;
  }

  // A dial of dial_host:dial_port as each candidate in turn (retrying rounds with backoff if
  // `retry`), registered so that Stop() cancels it; null once stopping.
  std::shared_ptr<sync::net::ContactDialer> StartDial(std::vector<sync::net::ContactKey> candidates,
                                                      bool retry) {
    sync::net::ContactDialOptions options;
    options.rounds.retry = retry;
    options.on_retry = [this](const std::string& peer, int attempt, const Status& why,
                              std::chrono::milliseconds retry_in) {
      OnDialRetry(peer, attempt, why, retry_in);
    };
    auto factory_for = [this](const sync::net::ContactKey& contact) -> sync::net::SessionFactory {
      return [this, contact](const sync::net::SessionInfo& info) {
        return MakeSession(info, /*initiator=*/true, contact);
      };
    };
    std::lock_guard lock(loop_mu);
    if (loop_stop) return nullptr;
    dialer = std::make_shared<sync::net::ContactDialer>(
        *service, dial_host, dial_port, std::move(candidates), factory_for, std::move(options));
    return dialer;
  }

  // Continuous mode: a dial (retrying with backoff) per round, `interval` between rounds.
  void Loop() {
    for (;;) {
      Result<std::vector<sync::net::ContactKey>> candidates = Candidates();
      if (candidates.ok()) {
        std::shared_ptr<sync::net::ContactDialer> current =
            StartDial(std::move(*candidates), /*retry=*/true);
        if (!current) return;
        (void)current->Wait();
        if (auto answered = current->answered()) last_answered = answered;
        std::lock_guard lock(loop_mu);
        dialer.reset();
      }
      std::unique_lock lock(loop_mu);
      if (loop_cv.wait_for(lock, interval, [this] { return loop_stop; })) return;
    }
  }

  // Ends every session and wipes this sync's keys; idempotent. Must not run on the network
  // thread (callers check tls_callback_of).
  void Stop() {
    std::lock_guard guard(stop_mu);
    shut.store(true);
    if (stopped) return;
    {
      std::lock_guard lock(loop_mu);
      loop_stop = true;
      if (dialer) dialer->Cancel();
    }
    loop_cv.notify_all();
    if (service) service->Stop();  // sessions end; the dial loop's Wait() returns
    if (loop.joinable()) loop.join();
    network_key.Wipe();
    stopped = true;
  }

  // From a callback on a network thread nothing can be joined: refuse new work at once (open
  // sessions fail at their next vault access) and let a helper thread finish the stop, which
  // completes once the callback has returned.
  void RequestStop() {
    shut.store(true);
    {
      std::lock_guard lock(loop_mu);
      loop_stop = true;
      if (dialer) dialer->Cancel();
      if (stop_requested) return;
      stop_requested = true;
    }
    loop_cv.notify_all();
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
  for (auto& [raw, weak] : core.syncs) raw->shut.store(true);
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

Result<crypto::SecretBytes> NetworkKey(const estelik_sync_options* options) {
  if (options == nullptr || options->network_key == nullptr) return sync::DefaultNetworkKey();
  return crypto::SecretBytes::CopyOf({options->network_key, sync::kNetworkKeySize});
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
// vault is not open. The service is started by the caller.
Result<std::shared_ptr<SyncState>> NewSync(estelik_vault* vault,
                                           const estelik_sync_options* options,
                                           const estelik_sync_callbacks* callbacks) {
  ESTELIK_RETURN_IF_ERROR(Require(vault, "vault"));
  ApplyAutoLock(*vault->core);
  auto state = std::make_shared<SyncState>(vault->core);
  if (callbacks != nullptr) state->callbacks = *callbacks;
  ESTELIK_ASSIGN_OR_RETURN(state->network_key, NetworkKey(options));
  ESTELIK_ASSIGN_OR_RETURN(state->peer_key, PeerKey(options));
  state->service = std::make_unique<sync::net::NetworkService>(NetOptions(options), state.get());
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
using estelik::Status;
using estelik::capi::Guard;
using estelik::capi::Require;
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
    ESTELIK_ASSIGN_OR_RETURN(auto state, estelik::capi::NewSync(vault, options, callbacks));
    auto port = state->service->Listen(address.first, address.second, state->Factory(false));
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
    ESTELIK_ASSIGN_OR_RETURN(auto state, estelik::capi::NewSync(vault, options, callbacks));
    state->dial_host = address.first;
    state->dial_port = address.second;
    if (options != nullptr && options->interval_ms > 0) {
      state->interval = std::chrono::milliseconds(options->interval_ms);
    }
    state->loop = std::thread([raw = state.get()] { raw->Loop(); });
    return estelik::capi::Publish(std::move(state), out_sync);
  });
}

estelik_status estelik_sync_once(estelik_vault* vault, const char* host_port,
                                 const estelik_sync_options* options,
                                 const estelik_sync_callbacks* callbacks,
                                 estelik_sync_stats* out_summary, estelik_error* err) {
  if (out_summary != nullptr) *out_summary = estelik_sync_stats{};
  return Guard(err, [&]() -> Status {
    ESTELIK_ASSIGN_OR_RETURN(auto address, estelik::capi::ParseHostPort(host_port, false));
    ESTELIK_ASSIGN_OR_RETURN(auto state, estelik::capi::NewSync(vault, options, callbacks));
    state->outcome = std::make_shared<SyncState::Outcome>();
    state->dial_host = address.first;
    state->dial_port = address.second;
    Status dialed = Status::Ok();
    bool answered = false;
    estelik::Result<std::vector<estelik::sync::net::ContactKey>> candidates = state->Candidates();
    if (!candidates.ok()) {
      dialed = candidates.status();
    } else if (auto dialer = state->StartDial(std::move(*candidates), /*retry=*/false)) {
      dialed = dialer->Wait();
      answered = dialer->answered().has_value();
    } else {
      dialed = Status(Code::kAborted, "sync stopped");
    }
    const bool shut = state->shut.load();
    state->Stop();
    estelik::capi::Unregister(state);
    std::lock_guard lock(state->outcome->mu);
    if (out_summary != nullptr) estelik::capi::CopyStats(state->outcome->stats, out_summary);
    if (shut) {
      return Status(Code::kLocked, "sync aborted: the vault was locked or closed during it");
    }
    // A contact that did not answer also ended a session: only the one that answered counts.
    if (answered && state->outcome->closed && !state->outcome->succeeded) {
      return Status(Code::kProtocol,
                    "sync with " + std::string(host_port) + " failed: " + state->outcome->reason);
    }
    if (!dialed.ok()) {
      return Status(dialed.code(),
                    "sync with " + std::string(host_port) + " failed: " + dialed.message());
    }
    return Status::Ok();
  });
}

estelik_status estelik_sync_stop(estelik_sync* sync, estelik_error* err) {
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(sync, "sync"));
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
  owned->state->StopFromAnyThread();
}

}  // extern "C"
