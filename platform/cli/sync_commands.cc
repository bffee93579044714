// `estelik serve` and `estelik sync`: replication with contacts over TCP (sync/net driving
// sync/protocol's ReplicationSession).
//
// Help text for the command table (to be added to commands.h/commands.cc by the CLI owner):
//
//   {"serve",
//    "answer sync sessions from contacts until stopped (SIGINT/SIGTERM; SIGUSR1 panic-locks)",
//    "  --listen HOST:PORT        address to listen on (e.g. 127.0.0.1:7420, 0.0.0.0:7420;\n"
//    "                            port 0 picks a free port, printed on stdout)\n"
//    "  --network-key HEX         the community's 32-byte network key (64 hex digits)\n"
//    "  --network-key-file F      ... or read from a file (64 hex digits or 32 raw bytes)\n"
//    "  --discover                announce this server on the LAN (encrypted beacons)\n"
//    "Without a network key the public default is used: it separates Estelik from other\n"
//    "protocols only. Only contacts get past the handshake. SIGUSR1 stops networking, wipes\n"
//    "the vault keys from memory and exits at once (panic lock).\n"
//    "\nexample:\n  estelik serve --listen 0.0.0.0:7420 --network-key-file ~/circle.key\n",
//    {"listen", "network-key", "network-key-file"},
//    {"discover"},
//    RunServe},
//   {"sync",
//    "sync once (or continuously) with a contact's `estelik serve`",
//    "  HOST:PORT                 the contact's server\n"
//    "  --network-key HEX | --network-key-file F   as for serve\n"
//    "  --peer NAME|FINGERPRINT|KEY  the contact whose server it is (a contact's name,\n"
//    "                            fingerprint or 64-hex public key); without it each\n"
//    "                            contact is tried in turn, one connection each\n"
//    "  --watch SECONDS           keep syncing every SECONDS, reconnecting with backoff,\n"
//    "                            until interrupted\n"
//    "Prints what was received and sent (ops, attachment chunks, bytes); --json for scripts.\n"
//    "Exits non-zero with the reason if the session fails.\n"
//    "\nexample:\n  estelik sync 192.168.1.20:7420 --network-key-file ~/circle.key\n",
//    {"network-key", "network-key-file", "peer", "watch"},
//    {},
//    RunSync},
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/crypto/hash.h"
#include "core/json.h"
#include "core/vault/holder.h"
#include "platform/cli/commands.h"
#include "platform/cli/terminal.h"
#include "sync/net/beacon.h"
#include "sync/net/contact_dial.h"
#include "sync/net/discovery.h"
#include "sync/net/network.h"
#include "sync/protocol/archive_replica.h"
#include "sync/protocol/replication.h"

namespace estelik::cli {
namespace {

using sync::ReplicationStats;

// HOST:PORT (IPv6 as [::1]:PORT). Port 0 (an ephemeral port) only where `allow_zero`.
Result<std::pair<std::string, uint16_t>> ParseHostPort(const std::string& text,
                                                       bool allow_zero = false) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return InvalidArgument("expected HOST:PORT, e.g. 127.0.0.1:7420; got '" + text + "'");
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned long port = 70000;
  try {
    size_t used = 0;
    port = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) port = 70000;
  } catch (...) {
    port = 70000;
  }
  if ((port == 0 && !allow_zero) || port > 65535) {
    return InvalidArgument("bad port in '" + text + "'");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

Result<crypto::SecretBytes> ParseHexKey(std::string hex, const std::string& where) {
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back()))) hex.pop_back();
  if (hex.size() != 2 * sync::kNetworkKeySize) {
    return InvalidArgument(where + ": a network key is 64 hex digits (32 bytes)");
  }
  crypto::SecretBytes key(sync::kNetworkKeySize);
  for (size_t i = 0; i < sync::kNetworkKeySize; ++i) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = nibble(hex[2 * i]);
    int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return InvalidArgument(where + ": a network key is 64 hex digits");
    key.data()[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  std::fill(hex.begin(), hex.end(), '\0');
  return key;
}

Result<crypto::SecretBytes> NetworkKey(const Context& ctx) {
  if (auto hex = ctx.args.Get("network-key")) return ParseHexKey(*hex, "--network-key");
  if (auto file = ctx.args.Get("network-key-file")) {
    std::ifstream in(*file, std::ios::binary);
    if (!in) return NotFound("cannot read network key file " + *file);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() == sync::kNetworkKeySize) {
      auto key = crypto::SecretBytes::CopyOf(
          {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
      std::fill(bytes.begin(), bytes.end(), '\0');
      return key;
    }
    return ParseHexKey(std::move(bytes), *file);
  }
  return sync::DefaultNetworkKey();
}

std::string Hex(std::string_view bytes) {
  return log::Hex({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

std::string HumanBytes(uint64_t n) {
  char buf[32];
  if (n < 1024) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  } else if (n < 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KB", static_cast<double>(n) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(n) / (1024 * 1024));
  }
  return buf;
}

// Blocks the stop signals in this thread and every thread started after it, so that only
// sigwait/sigtimedwait in the main thread sees them.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// A stop signal if one is pending within `timeout_ms`, else 0.
int WaitForSignal(const sigset_t& set, long timeout_ms) {
  timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000};
  int sig = sigtimedwait(&set, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

// One session's outcome, filled on the network thread and read by the main thread after the
// dial is over.
struct Outcome {
  std::mutex mu;
  bool closed = false;
  bool succeeded = false;
  std::string reason;
  ReplicationStats stats;
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The panic-lock message: SIGUSR1 is what `estelik lock` and `estelik wipe` send.
Status PanicLocked() {
  return Status(Code::kAborted,
                "panic lock: networking stopped and the vault keys were wiped from memory");
}

// Registers this process as a holder of the vault so `estelik lock` can reach it. Call after
// BlockStopSignals (a SIGUSR1 then waits for the main loop) and keep the registration
// declared before the Archive, so it is removed only after the keys are wiped.
Status RegisterHolder(const Context& ctx, std::optional<vault::HolderRegistration>& holder) {
  ESTELIK_ASSIGN_OR_RETURN(vault::HolderRegistration registration,
                           vault::HolderRegistration::Register(ctx.vault_dir));
  holder.emplace(std::move(registration));
  return Status::Ok();
}

class ServeLog : public sync::net::NetworkEvents {
 public:
  // Milliseconds since the last session started or ended; 0 while one is running (serve's
  // auto-lock counts idle time without a session).
  int64_t IdleMs() const {
    if (active_.load() > 0) return 0;
    return NowMs() - last_activity_ms_.load();
  }

  void OnSessionStarted(const sync::net::SessionInfo& info) override {
    ++active_;
    last_activity_ms_ = NowMs();
    std::fprintf(stderr, "session %llu with %s started (%s)\n",
                 static_cast<unsigned long long>(info.id), info.peer.c_str(),
                 info.direction == sync::net::Direction::kInbound ? "inbound" : "outbound");
  }
  void OnSessionEnded(const sync::net::SessionReport& report) override {
    --active_;
    last_activity_ms_ = NowMs();
    std::fprintf(stderr, "session %llu: %s\n", static_cast<unsigned long long>(report.info.id),
                 sync::net::DescribeSessionEnd(report).c_str());
  }
  void OnConnectionRejected(const std::string& peer, const std::string& why) override {
    std::fprintf(stderr, "refused connection from %s: %s\n", peer.c_str(), why.c_str());
  }

 private:
  std::atomic<int> active_{0};
  std::atomic<int64_t> last_activity_ms_{NowMs()};
};

std::string DescribeStats(const ReplicationStats& s) {
  std::string out = s.peer ? "peer " + log::Fingerprint(*s.peer) + ": " : "";
  out += "received " + std::to_string(s.ops_received) + " ops (" + std::to_string(s.ops_accepted) +
         " new), sent " + std::to_string(s.ops_sent) + " ops";
  if (s.chunks_wanted + s.chunks_sent + s.chunks_received > 0) {
    out += "; received " + std::to_string(s.chunks_received) + "/" +
           std::to_string(s.chunks_wanted) + " wanted chunks (" +
           HumanBytes(s.chunk_bytes_received) + "), sent " + std::to_string(s.chunks_sent) +
           " chunks (" + HumanBytes(s.chunk_bytes_sent) + ")";
  }
  out +=
      "; " + HumanBytes(s.wire_bytes_received) + " in, " + HumanBytes(s.wire_bytes_sent) + " out";
  return out;
}

// BLAKE2b-256 over (circle id, author, seq) of every head, in order: equal on converged peers.
Result<std::string> VersionsHash(archive::Archive& archive, const std::vector<std::string>& circles,
                                 uint64_t* ops) {
  std::string input;
  *ops = 0;
  for (const std::string& circle : circles) {
    ESTELIK_ASSIGN_OR_RETURN(log::VersionVector versions,
                             archive.log().GetVersionVector(log::Scope::Circle(circle)));
    input += circle;
    for (const auto& [author, seq] : versions) {
      input += author;
      for (int i = 7; i >= 0; --i) input.push_back(static_cast<char>(seq >> (8 * i)));
      *ops += seq;
    }
  }
  auto hash = crypto::Blake2b256(std::string_view(input));
  return Hex({reinterpret_cast<const char*>(hash.data()), hash.size()});
}

// The contacts to dial at an address: the one --peer names (a contact's exact name, its
// fingerprint or a prefix of it, or its 64-hex public key), or else every contact, in the order
// the contact list gives.
Result<std::vector<sync::net::ContactKey>> DialCandidates(const Context& ctx,
                                                          archive::Archive& archive) {
  ESTELIK_ASSIGN_OR_RETURN(std::vector<log::Contact> contacts, archive.log().Contacts());
  std::vector<sync::net::ContactKey> out;
  const std::optional<std::string> peer = ctx.args.Get("peer");
  if (!peer) {
    for (const log::Contact& c : contacts) out.push_back(c.public_key);
    if (out.empty()) return NotFound("no contacts to sync with (see estelik contacts add)");
    return out;
  }
  std::string lower = *peer;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const bool hex =
      !lower.empty() && lower.find_first_not_of("0123456789abcdef") == std::string::npos;
  for (const log::Contact& c : contacts) {
    if (c.name == *peer) out.push_back(c.public_key);
  }
  if (out.empty() && hex) {
    for (const log::Contact& c : contacts) {
      const std::string key_hex = log::Hex(c.public_key);
      if (lower.size() == key_hex.size() ? key_hex == lower
                                         : lower.size() >= 4 && key_hex.rfind(lower, 0) == 0) {
        out.push_back(c.public_key);
      }
    }
  }
  if (out.empty()) {
    return NotFound("--peer '" + *peer +
                    "' is not a contact (give a contact's name, fingerprint or public key; see "
                    "estelik contacts list)");
  }
  if (out.size() > 1) return InvalidArgument("--peer '" + *peer + "' matches several contacts");
  return out;
}

}  // namespace

Status RunServe(const Context& ctx) {
  auto listen_text = ctx.args.Get("listen");
  if (!listen_text) return InvalidArgument("serve needs --listen HOST:PORT, e.g. 127.0.0.1:7420");
  ESTELIK_ASSIGN_OR_RETURN(auto listen, ParseHostPort(*listen_text, /*allow_zero=*/true));
  ESTELIK_ASSIGN_OR_RETURN(crypto::SecretBytes network_key, NetworkKey(ctx));
  std::optional<vault::HolderRegistration> holder;  // outlives the archive: see RegisterHolder
  ESTELIK_ASSIGN_OR_RETURN(std::unique_ptr<archive::Archive> archive, ctx.OpenArchive());
  ESTELIK_ASSIGN_OR_RETURN(const uint32_t auto_lock_seconds, archive->vault().AutoLockSeconds());
  sync::ArchiveReplica replica(*archive);
  const std::string fingerprint = log::Fingerprint(archive->identity().public_key());

  sigset_t stop_signals = BlockStopSignals();
  ESTELIK_RETURN_IF_ERROR(RegisterHolder(ctx, holder));
  ServeLog log;
  auto service = std::make_unique<sync::net::NetworkService>(sync::net::NetworkOptions{}, &log);
  auto factory = [&](const sync::net::SessionInfo& info) -> std::unique_ptr<sync::Session> {
    sync::ReplicationConfig config;
    config.network_key = network_key.Clone();
    const uint64_t id = info.id;
    config.on_closed = [id](const ReplicationStats& stats, bool ok, const std::string& why) {
      std::fprintf(stderr, "session %llu %s: %s\n", static_cast<unsigned long long>(id),
                   ok ? "synced" : ("failed (" + why + ")").c_str(), DescribeStats(stats).c_str());
    };
    auto session = sync::ReplicationSession::Create(replica, std::move(config));
    if (!session.ok()) return nullptr;
    return std::move(*session);
  };
  ESTELIK_ASSIGN_OR_RETURN(uint16_t port, service->Listen(listen.first, listen.second, factory));

  std::unique_ptr<sync::net::Discovery> discovery;
  if (ctx.args.Has("discover")) {
    ESTELIK_ASSIGN_OR_RETURN(crypto::SecretBytes discovery_key,
                             sync::net::DeriveDiscoveryKey(network_key.span()));
    std::vector<sync::net::Advertisement> ads;
    ads.push_back({std::move(discovery_key), port});
    ESTELIK_ASSIGN_OR_RETURN(discovery,
                             sync::net::Discovery::Start({}, {}, std::move(ads), nullptr));
  }

  if (ctx.json) {
    JsonWriter w;
    w.BeginObject()
        .Key("listening")
        .String(listen.first + ":" + std::to_string(port))
        .Key("fingerprint")
        .String(fingerprint)
        .EndObject();
    std::printf("%s\n", w.str().c_str());
  } else {
    std::printf("listening on %s:%u as %s\n", listen.first.c_str(), port, fingerprint.c_str());
  }
  std::fflush(stdout);

  // Auto-lock: a server nobody syncs with for auto_lock_seconds drops its keys and exits (it
  // cannot ask for the passphrase again). Checked once a second, between signals.
  int sig = 0;
  bool idle = false;
  while (sig == 0 && !idle) {
    sig = WaitForSignal(stop_signals, 1000);
    idle = sig == 0 && auto_lock_seconds > 0 && log.IdleMs() >= int64_t{auto_lock_seconds} * 1000;
  }
  if (discovery) discovery->Stop();
  if (sig == SIGUSR1 || idle) {
    // No more networking, keys out of memory, gone; the holder file goes last.
    service.reset();
    archive.reset();
    if (sig == SIGUSR1) return PanicLocked();
    std::fprintf(stderr,
                 "auto-lock: no sync session for %u s; networking stopped and the vault keys "
                 "were wiped from memory\n",
                 auto_lock_seconds);
    return Status::Ok();
  }
  std::fprintf(stderr, "stopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  service->Stop();
  return Status::Ok();
}

Status RunSync(const Context& ctx) {
  const auto& pos = ctx.args.positional();
  if (pos.size() != 1) return InvalidArgument("expected `estelik sync HOST:PORT`");
  ESTELIK_ASSIGN_OR_RETURN(auto target, ParseHostPort(pos[0]));
  ESTELIK_ASSIGN_OR_RETURN(crypto::SecretBytes network_key, NetworkKey(ctx));
  long watch_seconds = 0;
  if (auto watch = ctx.args.Get("watch")) {
    try {
      watch_seconds = std::stol(*watch);
    } catch (...) {
      watch_seconds = 0;
    }
    if (watch_seconds <= 0) return InvalidArgument("--watch takes a number of seconds, e.g. 60");
  }
  std::optional<vault::HolderRegistration> holder;  // outlives the archive: see RegisterHolder
  ESTELIK_ASSIGN_OR_RETURN(std::unique_ptr<archive::Archive> archive, ctx.OpenArchive());
  sync::ArchiveReplica replica(*archive);
  // Transport v2 answers only a dialer that names the contact it dials: --peer, or each contact
  // in turn (the one that answered last goes first in later --watch rounds).
  ESTELIK_ASSIGN_OR_RETURN(std::vector<sync::net::ContactKey> candidates,
                           DialCandidates(ctx, *archive));
  sigset_t stop_signals = BlockStopSignals();
  ESTELIK_RETURN_IF_ERROR(RegisterHolder(ctx, holder));
  sync::net::NetworkService service;

  for (int round = 1;; ++round) {
    auto outcome = std::make_shared<Outcome>();
    std::shared_ptr<ProgressBar> bar;  // network thread only
    auto factory_for = [&,
                        outcome](const sync::net::ContactKey& peer) -> sync::net::SessionFactory {
      return [&, outcome, peer](const sync::net::SessionInfo&) -> std::unique_ptr<sync::Session> {
        sync::ReplicationConfig config;
        config.initiator = true;
        config.expected_peer = peer;
        config.network_key = network_key.Clone();
        config.on_progress = [&bar](const ReplicationStats& s) {
          if (s.chunks_wanted == 0) return;
          if (!bar) bar = std::make_shared<ProgressBar>("attachments", s.chunks_wanted);
          bar->Update(s.chunks_received + s.chunks_unavailable);
        };
        config.on_closed = [outcome, &bar](const ReplicationStats& s, bool ok,
                                           const std::string& why) {
          if (bar) bar->Finish();
          std::lock_guard<std::mutex> lock(outcome->mu);
          outcome->closed = true;
          outcome->succeeded = ok;
          outcome->reason = why;
          outcome->stats = s;
        };
        auto session = sync::ReplicationSession::Create(replica, std::move(config));
        if (!session.ok()) return nullptr;
        return std::move(*session);
      };
    };
    sync::net::ContactDialOptions dial_options;
    dial_options.rounds.retry = watch_seconds > 0;  // --watch: reconnect with backoff
    const auto started = std::chrono::steady_clock::now();
    sync::net::ContactDialer dial(service, target.first, target.second, candidates, factory_for,
                                  std::move(dial_options));
    std::optional<Status> result;
    int sig = 0;
    while (!(result = dial.WaitFor(std::chrono::milliseconds(200)))) {
      if ((sig = WaitForSignal(stop_signals, 0)) != 0) {
        dial.Cancel();
        result = dial.Wait();
        break;
      }
    }
    // Returning destroys the dialer, the service, then the archive (keys wiped), then the holder
    // file. Stop the service first so that a session still running ends now.
    if (sig == SIGUSR1) {
      service.Stop();
      return PanicLocked();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::lock_guard<std::mutex> lock(outcome->mu);
    const ReplicationStats& s = outcome->stats;
    // A contact that did not answer also closed a session; what counts is whether one answered.
    const bool answered = dial.answered().has_value();
    const bool ok = answered && outcome->closed ? outcome->succeeded : result->ok();
    const std::string reason =
        answered && outcome->closed ? outcome->reason : (result->ok() ? "done" : result->message());
    if (auto answered = dial.answered()) {  // who is at this address: dial it first next time
      auto at = std::find(candidates.begin(), candidates.end(), *answered);
      if (at != candidates.end()) std::rotate(candidates.begin(), at, at + 1);
    }
    uint64_t ops = 0;
    ESTELIK_ASSIGN_OR_RETURN(std::string versions_hash, VersionsHash(*archive, s.circle_ids, &ops));
    ESTELIK_ASSIGN_OR_RETURN(auto state_hash, archive->store().StateHash());
    if (ctx.json) {
      JsonWriter w;
      w.BeginObject()
          .Key("peer")
          .String(pos[0])
          .Key("round")
          .Int(round)
          .Key("ok")
          .Bool(ok)
          .Key("result")
          .String(reason)
          .Key("ops_received")
          .Uint(s.ops_received)
          .Key("ops_accepted")
          .Uint(s.ops_accepted)
          .Key("ops_sent")
          .Uint(s.ops_sent)
          .Key("chunks_wanted")
          .Uint(s.chunks_wanted)
          .Key("chunks_received")
          .Uint(s.chunks_received)
          .Key("chunks_unavailable")
          .Uint(s.chunks_unavailable)
          .Key("chunks_sent")
          .Uint(s.chunks_sent)
          .Key("chunk_bytes_received")
          .Uint(s.chunk_bytes_received)
          .Key("chunk_bytes_sent")
          .Uint(s.chunk_bytes_sent)
          .Key("bytes_in")
          .Uint(s.wire_bytes_received)
          .Key("bytes_out")
          .Uint(s.wire_bytes_sent)
          .Key("seconds")
          .Double(seconds)
          .Key("circles")
          .Uint(s.circle_ids.size())
          .Key("circle_ops")
          .Uint(ops)
          .Key("versions_hash")
          .String(versions_hash)
          .Key("state_hash")
          .String(Hex({reinterpret_cast<const char*>(state_hash.data()), state_hash.size()}))
          .EndObject();
      std::printf("%s\n", w.str().c_str());
    } else if (ok) {
      std::printf("synced with %s in %.1f s: %s\n", pos[0].c_str(), seconds,
                  DescribeStats(s).c_str());
    }
    std::fflush(stdout);
    if (sig != 0) return Status(Code::kAborted, "sync interrupted");
    if (watch_seconds == 0) {
      if (!ok) return Status(Code::kProtocol, "sync with " + pos[0] + " failed: " + reason);
      return Status::Ok();
    }
    if (!ok) std::fprintf(stderr, "sync with %s failed: %s\n", pos[0].c_str(), reason.c_str());
    if (int stop = WaitForSignal(stop_signals, watch_seconds * 1000); stop != 0) {
      return stop == SIGUSR1 ? PanicLocked() : Status::Ok();
    }
  }
}

}  // namespace estelik::cli
