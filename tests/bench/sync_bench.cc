// sync_bench: replication between two processes over loopback (tests/tools/sync_node serve and
// sync), against the local ingest rate of the same ops measured in the same run.
//
//   sync_bench [--creates N] [--edits M] [--attachment-mb S]
//   sync_bench --handshakes N
//              only the transport handshake: N in-memory SecureChannel handshakes (transport v2,
//              Noise_XK: Create on both sides, messages 1-3, both sides open), mean and best
//              per handshake; and, for comparison on the same machine and run, N bare
//              noise.h handshakes of XX (transport v1's pattern) and XK with the same keys
//              (defaults: 70000 creates + 30000 edits = 100,000 circle ops, a 200 MiB attachment)
//
// Setup (not timed): vaults A, B and C; A creates a circle with B and C. A records N
// testimonies from the deterministic corpus (tests/support/corpus.h: four scripts, bodies of
// 300..3000 bytes, mostly ~1 KB) and shares each into the circle (one circle op each), and
// makes M small edits (a sentence appended to one of its 64 most recent testimonies; one circle
// op each), interleaved evenly; then one testimony with an S MiB attachment, shared too. Setup
// runs in transactions of 500 testimonies so it takes minutes, not hours.
// Measured:
//   1. local ingest: C applies A's N + M circle ops through Archive::ReceiveOps in batches of
//      1024, in this process, with no network (ops/s);
//   2. sync: `sync_node serve A` in one process, `sync_node sync B` in another, one session:
//      B's apply rate (ops received / time until the last op batch was applied), chunk MiB/s
//      (sealed chunk bytes / the rest of the session), bytes on the wire vs. payload bytes
//      (envelopes + sealed chunks), peak RSS (VmHWM) of both processes;
//   3. incremental: 10 new ops on A, then one more session: bytes both ways. Twice: 10 ops in the
//      history's mix (7 new shared testimonies + 3 small edits, the goal's measure), then 10 new
//      shared testimonies (the worst case for bytes, reported alongside).
// Prints a human summary and one JSON line.
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/archive/archive.h"
#include "core/archive/back_door.h"
#include "core/bytes.h"
#include "core/log/op_codec.h"
#include "core/vault/key_file.h"
#include "sync/protocol/noise.h"
#include "sync/protocol/secure_channel.h"
#include "tests/support/corpus.h"
#include "tests/support/temp_dir.h"

using namespace estelik;

namespace {

// tests/tools/sync_node, next to this program's directory (build/<dir>/tests/bench).
std::string NodePath() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string self = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  std::string dir = self.substr(0, self.rfind('/'));
  return dir.substr(0, dir.rfind('/')) + "/tools/sync_node";
}
const std::string kNode = NodePath();

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "sync_bench: %s\n", what.c_str());
  std::exit(1);
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::string JsonField(const std::string& json, const std::string& key) {
  size_t at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return "";
  at += key.size() + 3;
  size_t end = at;
  while (end < json.size() && json[end] != ',' && json[end] != '}') ++end;
  return json.substr(at, end - at);
}
double JsonNum(const std::string& json, const std::string& key) {
  std::string v = JsonField(json, key);
  return v.empty() ? -1 : std::stod(v);
}

struct Proc {
  pid_t pid = -1;
  int out = -1;  // stdout
  int err = -1;  // stderr
};

Proc Spawn(const std::vector<std::string>& argv) {
  int o[2], e[2];
  if (pipe(o) != 0 || pipe(e) != 0) Die("pipe");
  Proc p;
  p.pid = fork();
  if (p.pid == 0) {
    dup2(o[1], STDOUT_FILENO);
    dup2(e[1], STDERR_FILENO);
    close(o[0]);
    close(o[1]);
    close(e[0]);
    close(e[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(o[1]);
  close(e[1]);
  p.out = o[0];
  p.err = e[0];
  return p;
}

std::string ReadLine(int fd) {
  std::string line;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  return line;
}

std::string ReadAll(int fd) {
  std::string all;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
  return all;
}

// Runs one `sync_node sync` against a fresh `sync_node serve`; returns the client's JSON and
// the server's stderr.
std::pair<std::string, std::string> SyncOnce(const std::string& server_dir,
                                             const std::string& client_dir,
                                             const std::string& circle_hex) {
  Proc server = Spawn({kNode, "serve", server_dir, "--circle", circle_hex});
  std::string port_line = ReadLine(server.out);
  if (port_line.rfind("port ", 0) != 0) Die("server did not start: " + port_line);
  Proc client = Spawn(
      {kNode, "sync", client_dir, "127.0.0.1:" + port_line.substr(5), "--circle", circle_hex});
  std::string json = ReadAll(client.out);
  int status = 0;
  waitpid(client.pid, &status, 0);
  close(client.out);
  close(client.err);
  // Let the server log its session line, then stop it.
  usleep(200 * 1000);
  kill(server.pid, SIGTERM);
  waitpid(server.pid, nullptr, 0);
  fcntl(server.err, F_SETFL, O_NONBLOCK);
  std::string server_log = ReadAll(server.err);
  close(server.out);
  close(server.err);
  return {json, server_log};
}

struct Incremental {
  double ops = 0;
  double bytes = 0;      // both ways, as framed on the wire
  uint64_t payload = 0;  // the new ops' envelopes
};

uint64_t ServerRssKb(const std::string& log) {
  size_t at = log.rfind("rss ");
  return at == std::string::npos ? 0 : std::stoull(log.substr(at + 4));
}

void Exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string what = error != nullptr ? error : "?";
    sqlite3_free(error);
    Die(std::string(sql) + ": " + what);
  }
}

pb::TestimonyFields FieldsOf(const testing::SampleTestimony& t) {
  pb::TestimonyFields fields;
  fields.set_language(t.language);
  fields.set_title(t.title);
  fields.set_body(t.body);
  for (const auto& tag : t.tags) fields.add_tags(tag);
  for (const auto& place : t.places) fields.add_places(place);
  for (const auto& person : t.people) fields.add_people(person);
  return fields;
}

template <typename T>
T Check(Result<T> result, const char* what) {
  if (!result.ok()) Die(std::string(what) + ": " + result.status().ToString());
  return std::move(result).value();
}

// --handshakes: wall time per handshake, in microseconds (mean, best of N).
struct HandshakeTime {
  double mean_us = 0;
  double best_us = 0;
};

template <typename Fn>
HandshakeTime TimeHandshakes(long n, Fn&& one) {
  HandshakeTime t{0, 1e18};
  for (long i = 0; i < n; ++i) {
    const auto start = std::chrono::steady_clock::now();
    one();
    const double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    t.mean_us += us / static_cast<double>(n);
    t.best_us = std::min(t.best_us, us);
  }
  return t;
}

crypto::SecretBytes Ed25519Secret(uint8_t fill, sync::Ed25519PublicKey* public_key) {
  crypto::SecretBytes secret(crypto_sign_SECRETKEYBYTES);
  std::array<uint8_t, crypto_sign_SEEDBYTES> seed;
  seed.fill(fill);
  crypto_sign_seed_keypair(public_key->data(), secret.data(), seed.data());
  return secret;
}

// Bare Noise handshake of `pattern` between two fixed static keys, no framing or payloads.
void NoiseHandshake(sync::noise::Pattern pattern, const crypto::SecretBytes& a_private,
                    const crypto::SecretBytes& b_private) {
  sync::noise::HandshakeConfig a, b;
  a.pattern = b.pattern = pattern;
  a.initiator = true;
  b.initiator = false;
  a.local_static = Check(sync::noise::KeyPair::FromPrivate(a_private.span()), "key");
  b.local_static = Check(sync::noise::KeyPair::FromPrivate(b_private.span()), "key");
  if (pattern == sync::noise::Pattern::kXK) a.remote_static = b.local_static->public_key;
  auto ha = Check(sync::noise::HandshakeState::Create(std::move(a)), "handshake");
  auto hb = Check(sync::noise::HandshakeState::Create(std::move(b)), "handshake");
  std::vector<uint8_t> message, payload;
  for (bool a_writes = true; !ha.IsComplete() || !hb.IsComplete(); a_writes = !a_writes) {
    message.clear();
    payload.clear();
    auto& writer = a_writes ? ha : hb;
    auto& reader = a_writes ? hb : ha;
    if (!writer.WriteMessage({}, &message).ok() || !reader.ReadMessage(message, &payload).ok()) {
      Die("noise handshake failed");
    }
  }
}

int RunHandshakes(long n) {
  crypto::EnsureSodium();
  sync::Ed25519PublicKey alice_key, bob_key;
  const crypto::SecretBytes alice = Ed25519Secret(0xA1, &alice_key);
  const crypto::SecretBytes bob = Ed25519Secret(0xB0, &bob_key);
  const crypto::SecretBytes network(32);
  const auto channel = [&](bool initiator) {
    sync::SecureChannelConfig config;
    config.initiator = initiator;
    config.identity_secret_key = (initiator ? alice : bob).Clone();
    config.network_key = network.Clone();
    config.is_contact = [](const sync::Ed25519PublicKey&) { return true; };
    if (initiator) config.expected_peer = bob_key;
    config.capabilities = {"replication/1", "deflate/1"};
    return Check(sync::SecureChannel::Create(std::move(config)), "channel");
  };
  const HandshakeTime v2 = TimeHandshakes(n, [&] {
    sync::SecureChannel a = channel(true);
    sync::SecureChannel b = channel(false);
    for (int round = 0; round < 4 && (a.HasOutput() || b.HasOutput()); ++round) {
      (void)b.Feed(a.TakeOutput());
      (void)a.Feed(b.TakeOutput());
    }
    if (!a.is_open() || !b.is_open()) Die("handshake did not complete");
  });
  crypto::SecretBytes a_x(32), b_x(32);
  crypto_sign_ed25519_sk_to_curve25519(a_x.data(), alice.data());
  crypto_sign_ed25519_sk_to_curve25519(b_x.data(), bob.data());
  const HandshakeTime xx =
      TimeHandshakes(n, [&] { NoiseHandshake(sync::noise::Pattern::kXX, a_x, b_x); });
  const HandshakeTime xk =
      TimeHandshakes(n, [&] { NoiseHandshake(sync::noise::Pattern::kXK, a_x, b_x); });
  std::printf(
      "handshakes: %ld each, in memory, one thread\n"
      "  SecureChannel v2 (Noise_XK + payloads, both sides): mean %.1f us, best %.1f us\n"
      "  bare noise.h XK: mean %.1f us, best %.1f us\n"
      "  bare noise.h XX (v1's pattern): mean %.1f us, best %.1f us\n",
      n, v2.mean_us, v2.best_us, xk.mean_us, xk.best_us, xx.mean_us, xx.best_us);
  std::printf(
      "{\"bench\":\"handshake\",\"n\":%ld,\"channel_xk_mean_us\":%.1f,"
      "\"channel_xk_best_us\":%.1f,\"noise_xk_mean_us\":%.1f,\"noise_xx_mean_us\":%.1f}\n",
      n, v2.mean_us, v2.best_us, xk.mean_us, xx.mean_us);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--handshakes") == 0) return RunHandshakes(std::atol(argv[i + 1]));
  }
  long creates = 70'000;
  long edits = 30'000;
  long attachment_mb = 200;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--creates") == 0) creates = std::atol(argv[++i]);
    if (std::strcmp(argv[i], "--edits") == 0) edits = std::atol(argv[++i]);
    if (std::strcmp(argv[i], "--attachment-mb") == 0) attachment_mb = std::atol(argv[++i]);
  }
  setenv("ESTELIK_PASSPHRASE", "bench passphrase", 1);
  testing::TempDir tmp;
  const std::string da = tmp.File("a"), db = tmp.File("b"), dc = tmp.File("c");
  vault::VaultOptions options;
  options.kdf = vault::MinimalKdfParams();
  std::string circle;
  std::vector<std::string> recent_ids;  // edited by the incremental round
  uint64_t payload_bytes = 0;
  double local_ops_per_s = 0;
  {
    auto a = archive::Archive::Create(da, "bench passphrase", options);
    auto b = archive::Archive::Create(db, "bench passphrase", options);
    auto c = archive::Archive::Create(dc, "bench passphrase", options);
    if (!a.ok() || !b.ok() || !c.ok()) Die("cannot create vaults");
    if (!(*a)->AddContact((*b)->identity().public_key(), "b").ok() ||
        !(*a)->AddContact((*c)->identity().public_key(), "c").ok() ||
        !(*b)->AddContact((*a)->identity().public_key(), "a").ok()) {
      Die("cannot add contacts");
    }
    auto created = (*a)->CreateCircle("bench");
    if (!created.ok()) Die(created.status().ToString());
    circle = *created;
    if (!(*a)->AddCircleMember(circle, (*b)->identity().public_key()).ok() ||
        !(*a)->AddCircleMember(circle, (*c)->identity().public_key()).ok()) {
      Die("cannot add circle members");
    }
    std::fprintf(stderr, "setup: %ld shared testimonies + %ld edits ...\n", creates, edits);
    auto t0 = std::chrono::steady_clock::now();
    sqlite3* adb = archive::ArchiveBackDoor::vault(**a).db();
    std::vector<std::pair<std::string, pb::TestimonyFields>> recent;  // the last 64 created
    constexpr size_t kBlock = 500;
    long made = 0, edited = 0;
    Exec(adb, "BEGIN IMMEDIATE");
    for (long first = 0; first < creates; first += kBlock) {
      // Seeded per block: bounded memory, and the same corpus on every run.
      const size_t n = std::min<size_t>(kBlock, static_cast<size_t>(creates - first));
      for (const auto& sample : testing::GenerateCorpus(static_cast<uint64_t>(first) + 1, n)) {
        pb::TestimonyFields fields = FieldsOf(sample);
        auto t = (*a)->AddTestimony(fields);
        if (!t.ok()) Die("add: " + t.status().ToString());
        Status shared = (*a)->Share(t->id(), circle);
        if (!shared.ok()) Die("share: " + shared.ToString());
        recent.emplace_back(t->id(), std::move(fields));
        if (recent.size() > 64) recent.erase(recent.begin());
        ++made;
        // Edits spread evenly between creates: after create k, edits * k / creates in all.
        while (edited < edits * made / creates) {
          auto& [id, current] = recent[static_cast<size_t>(edited * 7919) % recent.size()];
          current.set_body(current.body() + " Correction " + std::to_string(edited) +
                           ": the date was the 16th, not the 17th.");
          auto e = (*a)->EditTestimony(id, current);
          if (!e.ok()) Die("edit: " + e.status().ToString());
          ++edited;
        }
      }
      Exec(adb, "COMMIT");
      Exec(adb, "BEGIN IMMEDIATE");
    }
    Exec(adb, "COMMIT");
    for (const auto& [id, fields] : recent) recent_ids.push_back(id);
    std::fprintf(stderr, "  %.1f s\n", Seconds(t0));

    // 1. Local ingest of the same ops (C), in batches of 1024, no network.
    log::VersionVector theirs;
    double ingest_s = 0;
    uint64_t ingested = 0;
    for (;;) {
      auto batch = (*a)->OpsAfter(circle, theirs, 1024);
      if (!batch.ok()) Die(batch.status().ToString());
      if (batch->empty()) break;
      for (const auto& e : *batch) {
        payload_bytes += e.ByteSizeLong();
        auto header = log::ParseOpHeader(e.op());
        theirs[header->author()] = header->seq();
      }
      auto t = std::chrono::steady_clock::now();
      auto received = (*c)->ReceiveOps(circle, *batch);
      ingest_s += Seconds(t);
      if (!received.ok()) Die("local ingest: " + received.status().ToString());
      ingested += batch->size();
    }
    local_ops_per_s = static_cast<double>(ingested) / ingest_s;
    std::fprintf(stderr, "local ingest: %llu ops in %.2f s = %.0f ops/s\n",
                 static_cast<unsigned long long>(ingested), ingest_s, local_ops_per_s);
    if (attachment_mb > 0) {
      std::fprintf(stderr, "attaching %ld MiB ...\n", attachment_mb);
      const std::string file = tmp.File("recording.mp4");
      {
        std::ofstream out(file, std::ios::binary);
        std::string block(1 << 20, '\0');
        uint32_t x = 12345;
        for (long m = 0; m < attachment_mb; ++m) {
          for (char& ch : block) {
            x = x * 1664525u + 1013904223u;
            ch = static_cast<char>(x >> 24);
          }
          out.write(block.data(), static_cast<std::streamsize>(block.size()));
        }
      }
      pb::TestimonyFields fields;
      fields.set_title("recording");
      auto t = (*a)->AddTestimony(fields);
      if (!t.ok()) Die(t.status().ToString());
      auto attached = (*a)->AttachFile(t->id(), file, {"recording.mp4", "", {}}, {});
      if (!attached.ok()) Die(attached.status().ToString());
      Status shared = (*a)->Share(t->id(), circle);
      if (!shared.ok()) Die(shared.ToString());
      std::remove(file.c_str());
      // The share op travels too: count its envelope in the payload.
      auto last = (*a)->OpsAfter(circle, theirs, 16);
      if (!last.ok()) Die(last.status().ToString());
      for (const auto& e : *last) payload_bytes += e.ByteSizeLong();
    }
  }  // vaults closed: the processes below open them

  // 2. Full sync between two processes.
  auto [json, server_log] = SyncOnce(da, db, Hex(circle));
  if (JsonField(json, "ok") != "true") Die("sync failed: " + json + server_log);
  const double received = JsonNum(json, "ops_received");
  const double seconds = JsonNum(json, "seconds");
  const double wire = JsonNum(json, "bytes_in") + JsonNum(json, "bytes_out");
  // The session sends every op before any chunk (text before media): the op phase ends with
  // the last batch applied, the chunk phase is the rest.
  const double ops_seconds = JsonNum(json, "ops_seconds");
  const double apply_rate = received / ops_seconds;
  // Payload: the envelopes and the sealed chunks themselves.
  const double chunk_bytes = JsonNum(json, "chunk_bytes_received");
  const double overhead = wire / (static_cast<double>(payload_bytes) + chunk_bytes) - 1.0;
  const uint64_t client_rss = static_cast<uint64_t>(JsonNum(json, "rss_kb"));
  const uint64_t server_rss = ServerRssKb(server_log);
  const double chunk_mb_per_s = chunk_bytes / (1 << 20) / (seconds - ops_seconds);

  // 3. Incremental: 10 new ops on top of that history, twice: first in the history's mix (7 new
  // testimonies + 3 small edits), then 10 new testimonies (the worst case for bytes).
  auto incremental = [&](long new_testimonies, long small_edits, uint64_t seed) {
    Incremental r;
    {
      auto a = archive::Archive::Open(da, "bench passphrase");
      if (!a.ok()) Die(a.status().ToString());
      auto before = (*a)->Versions(circle);
      if (!before.ok()) Die(before.status().ToString());
      auto samples = testing::GenerateCorpus(seed, static_cast<size_t>(new_testimonies));
      for (long i = 0; i < std::max(new_testimonies, small_edits); ++i) {
        if (i < new_testimonies) {
          auto t = (*a)->AddTestimony(FieldsOf(samples[static_cast<size_t>(i)]));
          if (!t.ok() || !(*a)->Share(t->id(), circle).ok()) Die("incremental share");
        }
        if (i < small_edits) {
          const std::string& id = recent_ids[static_cast<size_t>(i) % recent_ids.size()];
          auto current = (*a)->GetTestimony(id);
          if (!current.ok()) Die(current.status().ToString());
          pb::TestimonyFields fields = current->fields();
          fields.set_body(fields.body() + " Correction: there were three of them, not two.");
          if (!(*a)->EditTestimony(id, fields).ok()) Die("incremental edit");
        }
      }
      auto fresh = (*a)->OpsAfter(circle, *before, 100);
      if (!fresh.ok()) Die(fresh.status().ToString());
      for (const auto& e : *fresh) r.payload += e.ByteSizeLong();
    }
    auto [out, log_text] = SyncOnce(da, db, Hex(circle));
    if (JsonField(out, "ok") != "true") Die("incremental sync failed: " + out + log_text);
    r.ops = JsonNum(out, "ops_received");
    r.bytes = JsonNum(out, "bytes_in") + JsonNum(out, "bytes_out");
    return r;
  };
  const Incremental mix = incremental(7, 3, 999'999);
  const Incremental creates_only = incremental(10, 0, 888'888);

  std::printf(
      "sync of %.0f ops between two processes over 127.0.0.1 (session %.1f s, ops %.1f s):\n",
      received, seconds, ops_seconds);
  std::printf("  apply rate      %.0f ops/s  (local ingest %.0f ops/s; ratio %.2f, goal >= 0.7)\n",
              apply_rate, local_ops_per_s, apply_rate / local_ops_per_s);
  std::printf(
      "  wire bytes      %.0f for %llu envelope + %.0f chunk bytes: overhead %.1f %% (goal < 10 "
      "%%)\n",
      wire, static_cast<unsigned long long>(payload_bytes), chunk_bytes, overhead * 100);
  if (chunk_bytes > 0) {
    std::printf("  chunks          %.0f sealed bytes in %.1f s after the ops: %.1f MiB/s\n",
                chunk_bytes, seconds - ops_seconds, chunk_mb_per_s);
  }
  std::printf("  peak RSS        receiver %llu KB, sender %llu KB (goal < 128 MB)\n",
              static_cast<unsigned long long>(client_rss),
              static_cast<unsigned long long>(server_rss));
  for (const auto& [what, r] : {std::pair{"7 new + 3 edits", mix}, {"10 new", creates_only}}) {
    std::printf(
        "  incremental     %.0f ops (%s): %.0f bytes both ways (goal < 10 KB): %llu bytes of "
        "envelopes + %.0f of handshake, vectors and framing\n",
        r.ops, what, r.bytes, static_cast<unsigned long long>(r.payload),
        r.bytes - static_cast<double>(r.payload));
  }
  std::printf(
      "{\"bench\":\"sync\",\"ops\":%.0f,\"apply_ops_per_s\":%.0f,\"local_ingest_ops_per_s\":%.0f,"
      "\"ratio\":%.3f,\"session_s\":%.1f,\"ops_s\":%.1f,\"wire_bytes\":%.0f,\"payload_bytes\":%llu,"
      "\"overhead\":%.4f,"
      "\"chunk_bytes\":%.0f,\"chunk_mib_per_s\":%.1f,"
      "\"receiver_rss_kb\":%llu,\"sender_rss_kb\":%llu,\"incremental_bytes\":%.0f,"
      "\"incremental_payload_bytes\":%llu,\"incremental_new_only_bytes\":%.0f}\n",
      received, apply_rate, local_ops_per_s, apply_rate / local_ops_per_s, seconds, ops_seconds,
      wire, static_cast<unsigned long long>(payload_bytes), overhead, chunk_bytes, chunk_mb_per_s,
      static_cast<unsigned long long>(client_rss), static_cast<unsigned long long>(server_rss),
      mix.bytes, static_cast<unsigned long long>(mix.payload), creates_only.bytes);
  return 0;
}
