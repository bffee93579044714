// A deterministic simulated link between two sans-IO Sessions, and simulated peers (real
// Archives in TempDirs) for replication tests.
//
// The link models what a TCP session sees: bytes arrive in order but split anywhere (seeded
// pseudo-random splits), possibly slowly (a byte budget per tick), and the connection may die
// after a given number of bytes (both sessions then get TransportClosed). Loss, reordering and
// duplication of bytes do not happen on a reliable stream; at the replication layer they show
// up as whole sessions that die, repeat or happen in different orders, which the tests drive.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/archive/archive.h"
#include "core/archive/back_door.h"
#include "core/vault/key_file.h"
#include "sync/orchestrator/archive_replica.h"
#include "sync/protocol/replication.h"
#include "tests/support/temp_dir.h"

namespace estelik::testing {

struct SimLinkOptions {
  uint64_t seed = 1;
  size_t max_split = 4096;       // largest piece fed at once (pieces are 1..max_split bytes)
  size_t bytes_per_tick = 0;     // per direction; 0 = unlimited (a fast link)
  uint64_t tick_ms = 5;          // simulated time per step
  uint64_t cut_after_bytes = 0;  // total bytes both ways before the link dies; 0 = never
  size_t max_steps = 2'000'000;
};

struct SimLinkResult {
  bool both_closed = false;
  uint64_t bytes_a_to_b = 0;
  uint64_t bytes_b_to_a = 0;
  uint64_t steps = 0;
  uint64_t total() const { return bytes_a_to_b + bytes_b_to_a; }
};

// Runs `a` and `b` against each other until both are closed (or max_steps).
inline SimLinkResult RunLink(sync::Session& a, sync::Session& b, const SimLinkOptions& options,
                             uint64_t start_ms = 1'000'000) {
  std::mt19937_64 random(options.seed);
  SimLinkResult result;
  uint64_t now = start_ms;
  bool a_transport_closed = false;
  bool b_transport_closed = false;
  auto move = [&](sync::Session& from, sync::Session& to, uint64_t* counter) {
    size_t budget = options.bytes_per_tick == 0 ? SIZE_MAX : options.bytes_per_tick;
    while (budget > 0 && !from.PendingOutput().empty()) {
      if (options.cut_after_bytes != 0 && result.total() >= options.cut_after_bytes) {
        return;
      }
      std::span<const uint8_t> out = from.PendingOutput();
      size_t n = std::min<size_t>(out.size(), 1 + random() % options.max_split);
      n = std::min(n, budget);
      if (options.cut_after_bytes != 0) {
        n = std::min<size_t>(n, options.cut_after_bytes - result.total());
      }
      std::vector<uint8_t> piece(out.begin(), out.begin() + static_cast<ptrdiff_t>(n));
      from.ConsumeOutput(n);
      *counter += n;
      budget -= n;
      if (!to.closed()) to.Feed(piece, now);
    }
  };
  for (; result.steps < options.max_steps; ++result.steps) {
    now += options.tick_ms;
    a.Tick(now);
    b.Tick(now);
    move(a, b, &result.bytes_a_to_b);
    move(b, a, &result.bytes_b_to_a);
    if (options.cut_after_bytes != 0 && result.total() >= options.cut_after_bytes) {
      a.TransportClosed("connection lost (simulated)");
      b.TransportClosed("connection lost (simulated)");
    }
    // A side that closed and flushed ends the connection; the other sees it end.
    if (a.closed() && a.PendingOutput().empty() && !b_transport_closed) {
      b_transport_closed = true;
      b.TransportClosed("peer closed the connection");
    }
    if (b.closed() && b.PendingOutput().empty() && !a_transport_closed) {
      a_transport_closed = true;
      a.TransportClosed("peer closed the connection");
    }
    if (a.closed() && b.closed()) {
      result.both_closed = true;
      break;
    }
  }
  return result;
}

// The network key every simulated peer shares.
inline crypto::SecretBytes SimNetworkKey() {
  crypto::SecretBytes key(sync::kNetworkKeySize);
  std::fill(key.data(), key.data() + key.size(), uint8_t{0x42});
  return key;
}

// An ArchiveReplica whose shared circles are Archive::SharedCircles plus the circles the test
// registered in which both sides are members of the current epoch (a stand-in computed from
// OpLog::GetCircle, so the tests run whether or not Archive::SharedCircles is implemented).
class SimReplica : public sync::ArchiveReplica {
 public:
  using ArchiveReplica::ArchiveReplica;
  std::set<std::string> known_circles;

  Result<std::vector<std::string>> SharedCircles(const log::PublicKey& peer) override {
    ESTELIK_ASSIGN_OR_RETURN(std::vector<std::string> circles, ArchiveReplica::SharedCircles(peer));
    std::set<std::string> all(circles.begin(), circles.end());
    auto lock = Lock();
    for (const std::string& id : known_circles) {
      Result<log::CircleInfo> info = archive().GetCircle(id);
      if (!info.ok()) continue;
      const auto& m = info->members;
      bool peer_in = std::find(m.begin(), m.end(), peer) != m.end();
      bool me_in = std::find(m.begin(), m.end(), archive().identity().public_key()) != m.end();
      if (peer_in && (me_in || info->carrier_only)) all.insert(id);
    }
    return std::vector<std::string>(all.begin(), all.end());
  }
};

struct SimPeer {
  std::string name;
  TempDir dir;
  std::unique_ptr<archive::Archive> archive;
  std::unique_ptr<SimReplica> replica;

  const log::PublicKey& key() const { return archive->identity().public_key(); }
};

inline std::unique_ptr<SimPeer> MakeSimPeer(const std::string& name) {
  auto peer = std::make_unique<SimPeer>();
  peer->name = name;
  vault::VaultOptions options;
  options.kdf = vault::MinimalKdfParams();
  auto archive = archive::Archive::Create(peer->dir.File("vault"), "passphrase " + name, options);
  if (!archive.ok()) return nullptr;
  peer->archive = std::move(*archive);
  peer->replica = std::make_unique<SimReplica>(*peer->archive);
  return peer;
}

inline uint64_t SimClockMs() { return archive::WallClockMs(); }

// Makes each of `a` and `b` a contact of the other (the out-of-band QR exchange).
inline void Befriend(SimPeer& a, SimPeer& b) {
  (void)archive::ArchiveBackDoor::log(*a.archive).AddContact(b.key(), b.name, SimClockMs());
  (void)archive::ArchiveBackDoor::log(*b.archive).AddContact(a.key(), a.name, SimClockMs());
}

// `admin` creates a circle with `members`; every peer in `registry` learns to look at it.
inline std::string MakeCircle(SimPeer& admin, const std::vector<SimPeer*>& members,
                              const std::vector<SimPeer*>& registry) {
  auto created = archive::ArchiveBackDoor::log(*admin.archive)
                     .CreateCircle("circle of " + admin.name, SimClockMs());
  if (!created.ok()) return {};
  for (SimPeer* m : members) {
    if (!archive::ArchiveBackDoor::log(*admin.archive)
             .AddMember(created->circle_id, m->key(), SimClockMs())
             .ok())
      return {};
  }
  admin.replica->known_circles.insert(created->circle_id);
  for (SimPeer* p : registry) p->replica->known_circles.insert(created->circle_id);
  return created->circle_id;
}

// `count` testimonies recorded by `peer` and shared into `circle`, as the app does it: one
// circle op each (the private ops that record them never replicate).
inline Status Post(SimPeer& peer, const std::string& circle, size_t count,
                   const std::string& text = "what I saw") {
  for (size_t i = 0; i < count; ++i) {
    pb::TestimonyFields fields;
    fields.set_title(peer.name + " #" + std::to_string(i));
    fields.set_body(text);
    // Recorded straight into the circle, so the author's store holds what members will.
    fields.set_consent_scope(pb::CONSENT_SCOPE_CIRCLE);
    fields.set_circle_id(circle);
    ESTELIK_RETURN_IF_ERROR(peer.archive->AddTestimony(fields).status());
  }
  return Status::Ok();
}

struct SyncOutcome {
  bool a_ok = false;
  bool b_ok = false;
  std::string a_reason, b_reason;
  sync::ReplicationStats a, b;
  SimLinkResult link;
};

// Lets a test change either side's session config (a's, b's) before the session starts.
using ConfigureSides = std::function<void(sync::ReplicationConfig&, sync::ReplicationConfig&)>;

// One replication session between `a` (dials) and `b` over a simulated link.
inline SyncOutcome SyncPeers(SimPeer& a, SimPeer& b, const SimLinkOptions& options = {},
                             const sync::ReplicationLimits& limits = {},
                             const ConfigureSides& configure = {}) {
  SyncOutcome out;
  sync::ReplicationConfig ca;
  ca.initiator = true;
  ca.network_key = SimNetworkKey();
  ca.expected_peer = b.key();
  ca.limits = limits;
  sync::ReplicationConfig cb;
  cb.network_key = SimNetworkKey();
  cb.limits = limits;
  if (configure) configure(ca, cb);
  auto sa = sync::ReplicationSession::Create(*a.replica, std::move(ca));
  auto sb = sync::ReplicationSession::Create(*b.replica, std::move(cb));
  if (!sa.ok() || !sb.ok()) return out;
  out.link = RunLink(**sa, **sb, options);
  out.a_ok = (*sa)->succeeded();
  out.b_ok = (*sb)->succeeded();
  out.a_reason = (*sa)->close_reason();
  out.b_reason = (*sb)->close_reason();
  out.a = (*sa)->stats();
  out.b = (*sb)->stats();
  return out;
}

// What must be identical on converged replicas.
struct Snapshot {
  std::string state_hash;
  std::vector<log::VersionVector> versions;  // per circle, in the order asked
  bool operator==(const Snapshot&) const = default;
};

inline Snapshot TakeSnapshot(SimPeer& peer, const std::vector<std::string>& circles) {
  Snapshot s;
  auto hash = peer.archive->StateHash();
  if (hash.ok()) s.state_hash.assign(hash->begin(), hash->end());
  for (const std::string& c : circles) {
    auto v = peer.archive->Versions(c);
    s.versions.push_back(v.ok() ? *v : log::VersionVector{{"error", 0}});
  }
  return s;
}

inline uint64_t OpCount(const log::VersionVector& v) {
  uint64_t n = 0;
  for (const auto& [author, seq] : v) n += seq;
  return n;
}

}  // namespace estelik::testing
