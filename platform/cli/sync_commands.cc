// `estelik serve` and `estelik sync`: replication with contacts over TCP, run by
// sync::Orchestrator (sync/orchestrator). This file keeps the shell's part: flags, signals,
// the holder registration and printing.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/crypto/hash.h"
#include "core/json.h"
#include "core/vault/holder.h"
#include "platform/cli/commands.h"
#include "platform/cli/print.h"
#include "platform/cli/terminal.h"
#include "sync/net/beacon.h"
#include "sync/net/discovery.h"
#include "sync/orchestrator/address.h"
#include "sync/orchestrator/archive_replica.h"
#include "sync/orchestrator/contact_choice.h"
#include "sync/orchestrator/network_key.h"
#include "sync/orchestrator/orchestrator.h"

namespace estelik::cli {
namespace {

using sync::ReplicationStats;

// --network-key-file F, else ESTELIK_NETWORK_KEY (taken from the environment at start), else
// the public default. The key never comes from the command line, where `ps`, /proc/<pid>/cmdline
// and shell history show it: the old `--network-key HEX` is refused before anything else runs.
Result<crypto::SecretBytes> NetworkKey(const Context& ctx) {
  if (ctx.args.Has("network-key")) {
    return InvalidArgument(
        "--network-key no longer takes the key on the command line, where ps and shell history "
        "show it: put the 64 hex digits in a file only you can read and pass "
        "--network-key-file FILE, or set ESTELIK_NETWORK_KEY (estelik removes it from its "
        "environment when it starts)");
  }
  sync::NetworkKeySource source;
  source.file = ctx.args.Get("network-key-file");
  if (const std::string* env = EnvironmentSecret("ESTELIK_NETWORK_KEY")) {
    if (source.file) {
      return InvalidArgument(
          "give the network key once: --network-key-file or ESTELIK_NETWORK_KEY");
    }
    source.hex = *env;
    source.hex_origin = "ESTELIK_NETWORK_KEY";
  }
  return sync::LoadNetworkKey(std::move(source));
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
  void OnSessionStarted(const sync::net::SessionInfo& info) override {
    std::fprintf(stderr, "session %llu with %s started (%s)\n",
                 static_cast<unsigned long long>(info.id), info.peer.c_str(),
                 info.direction == sync::net::Direction::kInbound ? "inbound" : "outbound");
  }
  void OnSessionEnded(const sync::net::SessionReport& report) override {
    std::fprintf(stderr, "session %llu: %s\n", static_cast<unsigned long long>(report.info.id),
                 Printable(sync::net::DescribeSessionEnd(report)).c_str());
  }
  void OnConnectionRejected(const std::string& peer, const std::string& why) override {
    std::fprintf(stderr, "refused connection from %s: %s\n", Printable(peer).c_str(),
                 Printable(why).c_str());
  }
};

std::string DescribeStats(const ReplicationStats& s) {
  std::string out = s.peer ? "peer " + log::Fingerprint(*s.peer) + ": " : "";
  out += "received " + std::to_string(s.ops_received) + " ops (" + std::to_string(s.ops_accepted) +
         " new), sent " + std::to_string(s.ops_sent) + " ops";
  if (s.chunks_wanted + s.chunks_sent + s.chunks_received > 0) {
    out += "; received " + std::to_string(s.chunks_received) + "/" +
           std::to_string(s.chunks_wanted) + " wanted chunks (" +
           HumanSize(s.chunk_bytes_received) + "), sent " + std::to_string(s.chunks_sent) +
           " chunks (" + HumanSize(s.chunk_bytes_sent) + ")";
  }
  out += "; " + HumanSize(s.wire_bytes_received) + " in, " + HumanSize(s.wire_bytes_sent) + " out";
  return out;
}

// BLAKE2b-256 over (circle id, author, seq) of every head, in order: equal on converged peers.
Result<std::string> VersionsHash(archive::Archive& archive, const std::vector<std::string>& circles,
                                 uint64_t* ops) {
  std::string input;
  *ops = 0;
  for (const std::string& circle : circles) {
    ESTELIK_ASSIGN_OR_RETURN(log::VersionVector versions, archive.Versions(circle));
    input += circle;
    for (const auto& [author, seq] : versions) {
      input += author;
      for (int i = 7; i >= 0; --i) input.push_back(static_cast<char>(seq >> (8 * i)));
      *ops += seq;
    }
  }
  auto hash = crypto::Blake2b256(std::string_view(input));
  return Hex(hash);
}

// The contacts to dial at an address: the one --peer names (a contact's exact name, its
// fingerprint or a prefix of it, or its 64-hex public key), or else every contact, in the order
// the contact list gives.
Result<std::vector<sync::net::ContactKey>> DialCandidates(const Context& ctx,
                                                          archive::Archive& archive) {
  ESTELIK_ASSIGN_OR_RETURN(std::vector<log::Contact> contacts, archive.Contacts());
  const std::optional<std::string> peer = ctx.args.Get("peer");
  if (!peer) {
    std::vector<sync::net::ContactKey> out;
    for (const log::Contact& c : contacts) out.push_back(c.public_key);
    if (out.empty()) return NotFound("no contacts to sync with (see estelik contacts add)");
    return out;
  }
  std::vector<sync::net::ContactKey> out = sync::MatchContacts(contacts, *peer);
  if (out.empty()) {
    return NotFound("--peer '" + *peer +
                    "' is not a contact (give a contact's name, fingerprint or public key; see "
                    "estelik contacts list)");
  }
  if (out.size() > 1) return InvalidArgument("--peer '" + *peer + "' matches several contacts");
  return out;
}

// The session lines `estelik serve` prints on stderr.
sync::SessionHooks ServeHooks() {
  sync::SessionHooks hooks;
  hooks.on_closed = [](const sync::net::SessionInfo& info, const sync::SessionEnd& end) {
    std::fprintf(stderr, "session %llu %s: %s\n", static_cast<unsigned long long>(info.id),
                 end.succeeded ? "synced" : ("failed (" + Printable(end.reason) + ")").c_str(),
                 DescribeStats(end.stats).c_str());
  };
  return hooks;
}

// Prints `listening on HOST:PORT as FINGERPRINT` (or its JSON) on stdout.
void PrintListening(const Context& ctx, const std::string& host, uint16_t port,
                    const std::string& fingerprint) {
  if (ctx.json) {
    JsonWriter w;
    w.BeginObject()
        .Key("listening")
        .String(host + ":" + std::to_string(port))
        .Key("fingerprint")
        .String(fingerprint)
        .EndObject();
    std::printf("%s\n", w.str().c_str());
  } else {
    std::printf("listening on %s:%u as %s\n", host.c_str(), port, fingerprint.c_str());
  }
  std::fflush(stdout);
}

// Announces the server at `port` on the LAN when --discover asks for it (else null).
Result<std::unique_ptr<sync::net::Discovery>> StartDiscovery(const Context& ctx,
                                                             const crypto::SecretBytes& network_key,
                                                             uint16_t port) {
  if (!ctx.args.Has("discover")) return std::unique_ptr<sync::net::Discovery>();
  ESTELIK_ASSIGN_OR_RETURN(crypto::SecretBytes discovery_key,
                           sync::net::DeriveDiscoveryKey(network_key.span()));
  std::vector<sync::net::Advertisement> ads;
  ads.push_back({std::move(discovery_key), port});
  return sync::net::Discovery::Start({}, {}, std::move(ads), nullptr);
}

// One `estelik sync` run, as the orchestrator's round hooks: waits for each round while
// watching the stop signals, prints it, decides whether to go on, and pauses --watch seconds
// between rounds. result() is the command's status once the rounds are over.
class SyncRun {
 public:
  SyncRun(const Context& ctx, archive::Archive& archive, const sigset_t& stop_signals,
          long watch_seconds)
      : ctx_(ctx), archive_(archive), stop_signals_(stop_signals), watch_seconds_(watch_seconds) {}

  // The attachment progress bar of the session running (network thread).
  sync::SessionHooks Hooks() {
    sync::SessionHooks hooks;
    hooks.on_progress = [this](const sync::net::SessionInfo&, const ReplicationStats& s) {
      if (s.chunks_wanted == 0) return;
      if (!bar_) bar_ = std::make_shared<ProgressBar>("attachments", s.chunks_wanted);
      bar_->Update(s.chunks_received + s.chunks_unavailable);
    };
    hooks.on_closed = [this](const sync::net::SessionInfo&, const sync::SessionEnd&) {
      if (bar_) bar_->Finish();
    };
    return hooks;
  }

  sync::Rounds MakeRounds(const sync::HostPort& target,
                          std::vector<sync::net::ContactKey> candidates) {
    sync::Rounds rounds;
    rounds.target = target;
    rounds.retry = watch_seconds_ > 0;  // --watch: reconnect with backoff
    rounds.candidates = [candidates = std::move(candidates)] { return candidates; };
    rounds.await = [this](sync::DialRun& dial) { return Await(dial); };
    rounds.after_round = [this](const sync::SyncOutcome& outcome) { return AfterRound(outcome); };
    rounds.pause = [this] { return Pause(); };
    return rounds;
  }

  const Status& result() const { return result_; }

 private:
  // Waits for the dial, cancelling it on a stop signal.
  sync::SyncOutcome Await(sync::DialRun& dial) {
    started_ = std::chrono::steady_clock::now();
    signal_ = 0;
    for (;;) {
      if (auto outcome = dial.WaitFor(std::chrono::milliseconds(200))) return *outcome;
      if ((signal_ = WaitForSignal(stop_signals_, 0)) != 0) {
        dial.Cancel();
        return dial.Wait();
      }
    }
  }

  bool AfterRound(const sync::SyncOutcome& outcome) {
    ++round_;
    bar_.reset();
    if (signal_ == SIGUSR1) return Finish(PanicLocked());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    if (Status printed = Print(outcome, seconds); !printed.ok()) return Finish(printed);
    if (signal_ != 0) return Finish(Status(Code::kAborted, "sync interrupted"));
    const std::string& label = ctx_.args.positional()[0];
    if (watch_seconds_ == 0) {
      if (outcome.ok) return Finish(Status::Ok());
      return Finish(Status(Code::kProtocol, "sync with " + label + " failed: " + outcome.reason));
    }
    if (!outcome.ok) {
      std::fprintf(stderr, "sync with %s failed: %s\n", Printable(label).c_str(),
                   Printable(outcome.reason).c_str());
    }
    return true;
  }

  bool Pause() {
    const int stop = WaitForSignal(stop_signals_, watch_seconds_ * 1000);
    if (stop == 0) return true;
    return Finish(stop == SIGUSR1 ? PanicLocked() : Status::Ok());
  }

  bool Finish(Status result) {
    result_ = std::move(result);
    return false;
  }

  // The round's line (when it succeeded) or JSON object (always) on stdout.
  Status Print(const sync::SyncOutcome& outcome, double seconds) {
    const ReplicationStats& s = outcome.stats;
    const std::string& label = ctx_.args.positional()[0];
    uint64_t ops = 0;
    ESTELIK_ASSIGN_OR_RETURN(std::string versions_hash, VersionsHash(archive_, s.circle_ids, &ops));
    ESTELIK_ASSIGN_OR_RETURN(auto state_hash, archive_.StateHash());
    if (ctx_.json) {
      JsonWriter w;
      w.BeginObject()
          .Key("peer")
          .String(label)
          .Key("round")
          .Int(round_)
          .Key("ok")
          .Bool(outcome.ok)
          .Key("result")
          .String(outcome.reason)
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
          .String(Hex(state_hash))
          .EndObject();
      std::printf("%s\n", w.str().c_str());
    } else if (outcome.ok) {
      std::printf("synced with %s in %.1f s: %s\n", label.c_str(), seconds,
                  DescribeStats(s).c_str());
    }
    std::fflush(stdout);
    return Status::Ok();
  }

  const Context& ctx_;
  archive::Archive& archive_;
  const sigset_t stop_signals_;
  const long watch_seconds_;
  int round_ = 0;
  int signal_ = 0;  // the stop signal that ended the last dial, if any
  std::chrono::steady_clock::time_point started_;
  Status result_;
  std::shared_ptr<ProgressBar> bar_;  // network thread only (reset between rounds)
};

// --watch SECONDS, or 0 without it.
Result<long> WatchSeconds(const Context& ctx) {
  auto watch = ctx.args.Get("watch");
  if (!watch) return 0L;
  long seconds = 0;
  try {
    seconds = std::stol(*watch);
  } catch (...) {
    seconds = 0;
  }
  if (seconds <= 0) return InvalidArgument("--watch takes a number of seconds, e.g. 60");
  return seconds;
}

}  // namespace

Status RunServe(const Context& ctx) {
  auto listen_text = ctx.args.Get("listen");
  if (!listen_text) return InvalidArgument("serve needs --listen HOST:PORT, e.g. 127.0.0.1:7420");
  ESTELIK_ASSIGN_OR_RETURN(sync::HostPort listen,
                           sync::ParseHostPort(*listen_text, /*allow_zero=*/true));
  ESTELIK_ASSIGN_OR_RETURN(crypto::SecretBytes network_key, NetworkKey(ctx));
  std::optional<vault::HolderRegistration> holder;  // outlives the archive: see RegisterHolder
  ESTELIK_ASSIGN_OR_RETURN(std::unique_ptr<archive::Archive> archive, ctx.OpenArchive());
  ESTELIK_ASSIGN_OR_RETURN(const uint32_t auto_lock_seconds, archive->AutoLockSeconds());
  sync::ArchiveReplica replica(*archive);
  const std::string fingerprint = log::Fingerprint(archive->identity().public_key());

  sigset_t stop_signals = BlockStopSignals();
  ESTELIK_RETURN_IF_ERROR(RegisterHolder(ctx, holder));
  ServeLog log;
  auto orchestrator = std::make_unique<sync::Orchestrator>(
      replica, sync::OrchestratorOptions{network_key.Clone(), {}, &log, ServeHooks()});
  ESTELIK_ASSIGN_OR_RETURN(uint16_t port, orchestrator->Listen(listen));
  ESTELIK_ASSIGN_OR_RETURN(std::unique_ptr<sync::net::Discovery> discovery,
                           StartDiscovery(ctx, network_key, port));
  PrintListening(ctx, listen.host, port, fingerprint);

  // Auto-lock: a server no contact syncs with for auto_lock_seconds drops its keys and exits
  // (it cannot ask for the passphrase again); strangers' connections do not count
  // (Orchestrator::ContactIdle). Checked a few times a second, between signals.
  int sig = 0;
  bool idle = false;
  while (sig == 0 && !idle) {
    sig = WaitForSignal(stop_signals, 250);
    idle = sig == 0 && auto_lock_seconds > 0 &&
           orchestrator->ContactIdle() >= std::chrono::seconds(auto_lock_seconds);
  }
  if (discovery) discovery->Stop();
  if (sig == SIGUSR1 || idle) {
    // No more networking, keys out of memory, gone; the holder file goes last.
    orchestrator.reset();
    archive.reset();
    if (sig == SIGUSR1) return PanicLocked();
    std::fprintf(stderr,
                 "auto-lock: no contact synced for %u s; networking stopped and the vault keys "
                 "were wiped from memory\n",
                 auto_lock_seconds);
    return Status::Ok();
  }
  std::fprintf(stderr, "stopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  orchestrator->Stop();
  return Status::Ok();
}

Status RunSync(const Context& ctx) {
  const auto& pos = ctx.args.positional();
  if (pos.size() != 1) return InvalidArgument("expected `estelik sync HOST:PORT`");
  ESTELIK_ASSIGN_OR_RETURN(sync::HostPort target, sync::ParseHostPort(pos[0]));
  ESTELIK_ASSIGN_OR_RETURN(crypto::SecretBytes network_key, NetworkKey(ctx));
  ESTELIK_ASSIGN_OR_RETURN(const long watch_seconds, WatchSeconds(ctx));
  std::optional<vault::HolderRegistration> holder;  // outlives the archive: see RegisterHolder
  ESTELIK_ASSIGN_OR_RETURN(std::unique_ptr<archive::Archive> archive, ctx.OpenArchive());
  sync::ArchiveReplica replica(*archive);
  // Transport v2 answers only a dialer that names the contact it dials: --peer, or each contact
  // in turn (the one that answered last goes first in later --watch rounds).
  ESTELIK_ASSIGN_OR_RETURN(std::vector<sync::net::ContactKey> candidates,
                           DialCandidates(ctx, *archive));
  sigset_t stop_signals = BlockStopSignals();
  ESTELIK_RETURN_IF_ERROR(RegisterHolder(ctx, holder));
  SyncRun run(ctx, *archive, stop_signals, watch_seconds);
  sync::Orchestrator orchestrator(
      replica, sync::OrchestratorOptions{std::move(network_key), {}, nullptr, run.Hooks()});
  orchestrator.RunRounds(run.MakeRounds(target, std::move(candidates)));
  // Returning destroys the orchestrator, then the archive (keys wiped), then the holder file.
  // Stop first so that a session still running (a panic lock) ends now.
  orchestrator.Stop();
  return run.result();
}

}  // namespace estelik::cli
