// sync_node: a small stand-alone replication peer for multi-process tests and the sync
// benchmark. It prepares vaults (identities, contacts, circles, circle ops) and runs
// `serve` / `sync` over TCP exactly as the estelik CLI does (NetworkService +
// ReplicationSession over an ArchiveReplica), with knobs the CLI does not expose.
//
//   sync_node init DIR                      create a vault (minimal KDF); prints the public key hex
//   sync_node key DIR                       prints the public key hex
//   sync_node befriend DIR KEYHEX NAME      adds a contact
//   sync_node circle DIR NAME [KEYHEX...]   creates a circle with members; prints its id hex
//   sync_node post DIR CIRCLEHEX COUNT [BYTES] [EDIT_EVERY]
//                                           COUNT circle ops as the app makes them: testimonies
//                                           shared into the circle (BYTES of text;
//                                           every EDIT_EVERY-th op is a small edit)
//   sync_node serve DIR [--port P] [--circle HEX]... [--max-ops-per-second N]
//                                           prints "port N" then serves until killed
//   sync_node sync DIR HOST:PORT [--circle HEX]... [--max-ops-per-second N]
//                  [--max-ops-per-batch N] [--progress] [--peer KEYHEX]
//                                           one session; prints a JSON summary (and
//                                           "progress ops N chunks M" lines on stderr).
//                                           Dials --peer, or else each contact in turn
//                                           (sync/net/contact_dial.h)
//   sync_node versions DIR CIRCLEHEX        prints "ops N hash H" for the circle
//   sync_node share DIR CIRCLEHEX FILE      a testimony with FILE attached, shared into the
//                                           circle; prints the testimony id hex
//   sync_node export DIR IDHEX OUT          writes the testimony's first attachment to OUT
//
// The passphrase is ESTELIK_PASSPHRASE (default "sync node"). --circle names circles to
// replicate in addition to Archive::SharedCircles (which may not list circles yet); a named
// circle is replicated only with members of its current epoch.
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/archive/archive.h"
#include "core/archive/back_door.h"
#include "core/bytes.h"
#include "core/crypto/hash.h"
#include "core/vault/key_file.h"
#include "sync/net/contact_dial.h"
#include "sync/net/network.h"
#include "sync/orchestrator/archive_replica.h"
#include "sync/protocol/replication.h"

using namespace estelik;

namespace {

std::string Passphrase() {
  const char* p = std::getenv("ESTELIK_PASSPHRASE");
  return p != nullptr ? p : "sync node";
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "sync_node: %s\n", what.c_str());
  std::exit(1);
}

std::string Unhex(const std::string& hex) {
  std::string out;
  if (!ParseHex(hex, &out)) Die("not lower-case hex: " + hex);
  return out;
}

log::PublicKey KeyFromHex(const std::string& hex) {
  log::PublicKey key{};
  std::string bytes = Unhex(hex);
  std::memcpy(key.data(), bytes.data(), std::min(bytes.size(), key.size()));
  return key;
}

template <typename T>
T Check(Result<T> r, const char* what) {
  if (!r.ok()) Die(std::string(what) + ": " + r.status().ToString());
  return std::move(*r);
}

// Peak resident set size of this process: VmHWM in /proc/self/status, in KiB.
double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

uint64_t PeakRssKb() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t kb = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, "VmHWM:", 6) == 0) kb = std::strtoull(line + 6, nullptr, 10);
  }
  std::fclose(f);
  return kb;
}

class NodeReplica : public sync::ArchiveReplica {
 public:
  NodeReplica(archive::Archive& a, std::set<std::string> circles)
      : ArchiveReplica(a), circles_(std::move(circles)) {}
  Result<std::vector<std::string>> SharedCircles(const log::PublicKey& peer) override {
    ESTELIK_ASSIGN_OR_RETURN(auto listed, ArchiveReplica::SharedCircles(peer));
    std::set<std::string> all(listed.begin(), listed.end());
    auto lock = Lock();
    for (const std::string& id : circles_) {
      auto info = archive().GetCircle(id);
      if (!info.ok()) continue;
      const auto& m = info->members;
      if (std::find(m.begin(), m.end(), peer) != m.end()) all.insert(id);
    }
    return std::vector<std::string>(all.begin(), all.end());
  }

 private:
  std::set<std::string> circles_;
};

struct Flags {
  std::set<std::string> circles;
  uint16_t port = 0;
  uint32_t max_ops_per_second = 0;
  uint32_t max_ops_per_batch = 0;
  uint32_t chunks_in_flight = 0;
  bool progress = false;
  std::string peer;  // raw 32 bytes, or empty: try every contact
};

Flags ParseFlags(int argc, char** argv, int from) {
  Flags f;
  for (int i = from; i + 1 < argc; ++i) {
    std::string a = argv[i];
    if (a == "--circle")
      f.circles.insert(Unhex(argv[++i]));
    else if (a == "--port")
      f.port = static_cast<uint16_t>(std::atoi(argv[++i]));
    else if (a == "--max-ops-per-second")
      f.max_ops_per_second = std::atoi(argv[++i]);
    else if (a == "--max-ops-per-batch")
      f.max_ops_per_batch = std::atoi(argv[++i]);
    else if (a == "--peer")
      f.peer = Unhex(argv[++i]);
  }
  for (int i = from; i < argc; ++i) {
    if (std::string(argv[i]) == "--progress") f.progress = true;
  }
  return f;
}

sync::ReplicationLimits Limits(const Flags& f) {
  sync::ReplicationLimits limits;
  if (f.max_ops_per_second != 0) limits.max_ops_per_second = f.max_ops_per_second;
  if (f.max_ops_per_batch != 0) limits.max_ops_per_batch = f.max_ops_per_batch;
  if (f.chunks_in_flight != 0) limits.chunks_in_flight = f.chunks_in_flight;
  return limits;
}

std::unique_ptr<archive::Archive> Open(const std::string& dir) {
  return Check(archive::Archive::Open(dir, Passphrase()), "open vault");
}

int Serve(const std::string& dir, const Flags& flags) {
  auto archive = Open(dir);
  NodeReplica replica(*archive, flags.circles);
  sync::net::NetworkService service;
  auto factory = [&](const sync::net::SessionInfo&) -> std::unique_ptr<sync::Session> {
    sync::ReplicationConfig config;
    config.network_key = sync::DefaultNetworkKey();
    config.limits = Limits(flags);
    config.on_closed = [](const sync::ReplicationStats& s, bool ok, const std::string& why) {
      std::fprintf(stderr, "serve: session %s (%s): sent %llu ops, %llu chunks; rss %llu KB\n",
                   ok ? "ok" : "failed", why.c_str(), static_cast<unsigned long long>(s.ops_sent),
                   static_cast<unsigned long long>(s.chunks_sent),
                   static_cast<unsigned long long>(PeakRssKb()));
    };
    auto session = sync::ReplicationSession::Create(replica, std::move(config));
    if (!session.ok()) return nullptr;
    return std::move(*session);
  };
  uint16_t port = Check(service.Listen("127.0.0.1", flags.port, factory), "listen");
  std::printf("port %u\n", port);
  std::fflush(stdout);
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(3600));
}

std::string VersionsLine(archive::Archive& archive, const std::string& circle) {
  auto v = Check(archive.Versions(circle), "versions");
  std::string input;
  uint64_t ops = 0;
  for (const auto& [author, seq] : v) {
    input += author + std::to_string(seq) + ";";
    ops += seq;
  }
  auto hash = crypto::Blake2b256(std::string_view(input));
  return "ops " + std::to_string(ops) + " hash " +
         Hex({reinterpret_cast<const char*>(hash.data()), 8});
}

int SyncOnce(const std::string& dir, const std::string& target, const Flags& flags) {
  auto archive = Open(dir);
  NodeReplica replica(*archive, flags.circles);
  size_t colon = target.rfind(':');
  std::string host = target.substr(0, colon);
  uint16_t port = static_cast<uint16_t>(std::atoi(target.c_str() + colon + 1));
  sync::net::NetworkService service;
  sync::ReplicationStats stats;
  bool ok = false;
  std::string reason = "no session";
  auto started = std::chrono::steady_clock::now();
  uint64_t last_ops = 0;
  double ops_done_at = 0;
  double first_chunk_at = -1;
  std::vector<sync::net::ContactKey> candidates;
  if (!flags.peer.empty()) {
    if (flags.peer.size() != 32) Die("--peer takes a 64-hex-digit public key");
    candidates.emplace_back();
    std::memcpy(candidates.back().data(), flags.peer.data(), 32);
  } else {
    for (const auto& contact : Check(archive->Contacts(), "contacts")) {
      candidates.push_back(contact.public_key);
    }
  }
  auto factory_for = [&](const sync::net::ContactKey& peer) -> sync::net::SessionFactory {
    return [&, peer](const sync::net::SessionInfo&) -> std::unique_ptr<sync::Session> {
      sync::ReplicationConfig config;
      config.initiator = true;
      config.expected_peer = peer;
      config.network_key = sync::DefaultNetworkKey();
      config.limits = Limits(flags);
      config.on_progress = [&, progress = flags.progress](const sync::ReplicationStats& s) {
        // Phases for the benchmark: ops end when the last batch is applied; chunks follow.
        const double at = Since(started);
        if (s.ops_received != last_ops) {
          last_ops = s.ops_received;
          ops_done_at = at;
        }
        if (s.chunks_received > 0 && first_chunk_at < 0) first_chunk_at = at;
        if (progress) {
          std::fprintf(stderr, "progress ops %llu chunks %llu\n",
                       static_cast<unsigned long long>(s.ops_received),
                       static_cast<unsigned long long>(s.chunks_received));
        }
      };
      config.on_closed = [&](const sync::ReplicationStats& s, bool success,
                             const std::string& why) {
        stats = s;
        ok = success;
        reason = why;
      };
      auto session = sync::ReplicationSession::Create(replica, std::move(config));
      if (!session.ok()) return nullptr;
      return std::move(*session);
    };
  };
  sync::net::ContactDialer dialer(service, host, port, std::move(candidates), factory_for);
  Status dialed = dialer.Wait();
  if (!ok && reason == "no session") reason = dialed.message();
  const double seconds = Since(started);
  service.Stop();
  std::printf(
      "{\"ok\":%s,\"result\":\"%s\",\"ops_received\":%llu,\"ops_accepted\":%llu,"
      "\"ops_sent\":%llu,\"chunks_wanted\":%llu,\"chunks_received\":%llu,\"chunks_sent\":%llu,"
      "\"chunk_bytes_received\":%llu,\"bytes_in\":%llu,"
      "\"bytes_out\":%llu,\"message_bytes_in\":%llu,\"seconds\":%.3f,\"ops_seconds\":%.3f,"
      "\"first_chunk_seconds\":%.3f,\"rss_kb\":%llu}\n",
      ok ? "true" : "false", ok ? "done" : (reason + " / " + dialed.message()).c_str(),
      static_cast<unsigned long long>(stats.ops_received),
      static_cast<unsigned long long>(stats.ops_accepted),
      static_cast<unsigned long long>(stats.ops_sent),
      static_cast<unsigned long long>(stats.chunks_wanted),
      static_cast<unsigned long long>(stats.chunks_received),
      static_cast<unsigned long long>(stats.chunks_sent),
      static_cast<unsigned long long>(stats.chunk_bytes_received),
      static_cast<unsigned long long>(stats.wire_bytes_received),
      static_cast<unsigned long long>(stats.wire_bytes_sent),
      static_cast<unsigned long long>(stats.message_bytes_received), seconds, ops_done_at,
      first_chunk_at, static_cast<unsigned long long>(PeakRssKb()));
  return ok ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) Die("usage: see the comment at the top of tests/tools/sync_node.cc");
  std::string verb = argv[1];
  std::string dir = argv[2];
  const uint64_t now = archive::WallClockMs();
  if (verb == "init") {
    vault::VaultOptions options;
    options.kdf = vault::MinimalKdfParams();
    auto archive = Check(archive::Archive::Create(dir, Passphrase(), options), "create vault");
    const auto& key = archive->identity().public_key();
    std::printf("%s\n", estelik::Hex(key).c_str());
    return 0;
  }
  auto archive = verb == "serve" || verb == "sync" ? nullptr : Open(dir);
  if (verb == "key") {
    std::printf("%s\n", estelik::Hex(archive->identity().public_key()).c_str());
  } else if (verb == "befriend" && argc >= 5) {
    Check(archive::ArchiveBackDoor::log(*archive).AddContact(KeyFromHex(argv[3]), argv[4], now),
          "add contact");
  } else if (verb == "circle" && argc >= 4) {
    auto created =
        Check(archive::ArchiveBackDoor::log(*archive).CreateCircle(argv[3], now), "create circle");
    for (int i = 4; i < argc; ++i) {
      Check(archive::ArchiveBackDoor::log(*archive).AddMember(created.circle_id,
                                                              KeyFromHex(argv[i]), now),
            "add member");
    }
    std::printf("%s\n", Hex(created.circle_id).c_str());
  } else if (verb == "post" && argc >= 5) {
    std::string circle = Unhex(argv[3]);
    long count = std::atol(argv[4]);
    size_t bytes = argc >= 6 ? static_cast<size_t>(std::atol(argv[5])) : 64;
    long edit_every = argc >= 7 ? std::atol(argv[6]) : 0;
    // Each op as the app makes it: a testimony recorded privately and shared into the circle
    // (one circle op), or an edit of the last shared one (one circle op). One transaction.
    std::string last_id;
    sqlite3* db = archive::ArchiveBackDoor::vault(*archive).db();
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) Die("begin");
    for (long i = 0; i < count; ++i) {
      pb::TestimonyFields fields;
      if (edit_every > 0 && i % edit_every == edit_every - 1 && !last_id.empty()) {
        fields.set_title("edited " + std::to_string(i));
        fields.set_body(std::string(bytes / 4, 'e'));
        Check(archive->EditTestimony(last_id, fields), "edit");
        continue;
      }
      fields.set_title("testimony " + std::to_string(i));
      fields.set_body(std::string(bytes, 'a' + static_cast<char>(i % 26)));
      last_id = Check(archive->AddTestimony(fields), "add").id();
      Status shared = archive->Share(last_id, circle);
      if (!shared.ok()) Die("share: " + shared.ToString());
    }
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) Die("commit");
  } else if (verb == "share" && argc >= 5) {
    pb::TestimonyFields fields;
    fields.set_title("shared testimony");
    auto t = Check(archive->AddTestimony(fields), "add testimony");
    Check(archive->AttachFile(t.id(), argv[4], {"interview.m4a", "", {}}, {}), "attach");
    auto shared = archive->Share(t.id(), Unhex(argv[3]));
    if (!shared.ok()) Die("share: " + shared.ToString());
    std::printf("%s\n", Hex(t.id()).c_str());
  } else if (verb == "export" && argc >= 5) {
    Check(archive->ExportAttachment(Unhex(argv[3]), 0, argv[4], {}), "export");
  } else if (verb == "versions" && argc >= 4) {
    std::printf("%s\n", VersionsLine(*archive, Unhex(argv[3])).c_str());
  } else if (verb == "serve") {
    return Serve(dir, ParseFlags(argc, argv, 3));
  } else if (verb == "sync" && argc >= 4) {
    return SyncOnce(dir, argv[3], ParseFlags(argc, argv, 4));
  } else {
    Die("unknown or incomplete command " + verb);
  }
  return 0;
}
