// Op log throughput on a file-backed SQLite database (WAL, synchronous=NORMAL):
//   - Append: local ops created per second (one transaction per op, and 1000 per transaction);
//   - Ingest: remote ops accepted per second, op by op (every signature verified) and as
//     IngestRun batches (one signature per batch + the hash chain);
//   - pure verification of N ops: per-op Ed25519 versus chain-head (one signature + BLAKE2b
//     chain), and their ratio.
// Prints human-readable lines, then one JSON line. Usage: oplog_bench [ops] (default 20000).
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/log/op_log.h"
#include "tests/support/temp_dir.h"

namespace {

using estelik::log::OpLog;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kT = 1'700'000'000'000;

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

Db OpenDb(const std::string& path) {
  sqlite3* raw = nullptr;
  if (sqlite3_open(path.c_str(), &raw) != SQLITE_OK) std::abort();
  Db db(raw);
  sqlite3_exec(raw, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", nullptr, nullptr,
               nullptr);
  return db;
}

std::unique_ptr<OpLog> OpenLog(sqlite3* db, uint8_t seed) {
  estelik::log::OpLogOptions o;
  o.identity_seed = std::vector<uint8_t>(32, seed);
  auto log = OpLog::Open(db, estelik::crypto::SecretBytes::Random(32), o);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.status().ToString().c_str());
    std::abort();
  }
  return std::move(log).value();
}

estelik::pb::OpBody Body(size_t i) {
  estelik::pb::OpBody body;
  body.mutable_annotation_add()->set_testimony_id(std::string(16, '\x07'));
  body.mutable_annotation_add()->set_annotation_id(std::string(16, static_cast<char>(i)));
  body.mutable_annotation_add()->set_text("Annotation " + std::to_string(i) +
                                          ": witness confirms the date and the place.");
  return body;
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

void Check(const estelik::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::abort();
  }
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 20000;
  estelik::testing::TempDir dir;

  // Append, one transaction per op (what an app does on each user action).
  Db local_db = OpenDb(dir.File("local.db"));
  auto local = OpenLog(local_db.get(), 3);
  const size_t single = std::min<size_t>(n, 5000);
  auto t0 = Clock::now();
  for (size_t i = 0; i < single; ++i) {
    Check(local->Append(Body(i), estelik::log::Scope::Private(), kT + i).status());
  }
  auto t1 = Clock::now();
  const double append_per_s = single / Seconds(t0, t1);

  // Alice writes n circle ops in batched transactions; Bob ingests them.
  Db alice_db = OpenDb(dir.File("alice.db"));
  Db bob_db = OpenDb(dir.File("bob.db"));
  Db bob2_db = OpenDb(dir.File("bob2.db"));
  auto alice = OpenLog(alice_db.get(), 1);
  auto bob = OpenLog(bob_db.get(), 2);
  auto bob2 = OpenLog(bob2_db.get(), 2);
  auto circle = alice->CreateCircle("bench", kT);
  Check(circle.status());
  auto scope = estelik::log::Scope::Circle(circle->circle_id);
  Check(alice->AddMember(circle->circle_id, bob->identity().public_key(), kT).status());
  std::vector<estelik::pb::Envelope> ops;
  ops.reserve(n);
  t0 = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    if (i % 1000 == 0) sqlite3_exec(alice_db.get(), "BEGIN", nullptr, nullptr, nullptr);
    auto env = alice->Append(Body(i), scope, kT + 1 + i);
    Check(env.status());
    ops.push_back(*env);
    if (i % 1000 == 999 || i + 1 == n) {
      sqlite3_exec(alice_db.get(), "COMMIT", nullptr, nullptr, nullptr);
    }
  }
  t1 = Clock::now();
  const double append_batched_per_s = n / Seconds(t0, t1);
  auto head_ops = alice->OpsAfter({}, scope, 2);  // circle create + member add
  Check(head_ops.status());

  // Ingest op by op, 1000 per transaction: every signature verified.
  for (auto* b : {bob.get(), bob2.get()}) {
    for (const auto& env : *head_ops) Check(b->Ingest(env, kT).status());
  }
  t0 = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    if (i % 1000 == 0) sqlite3_exec(bob_db.get(), "BEGIN", nullptr, nullptr, nullptr);
    Check(bob->Ingest(ops[i], kT).status());
    if (i % 1000 == 999 || i + 1 == n) {
      sqlite3_exec(bob_db.get(), "COMMIT", nullptr, nullptr, nullptr);
    }
  }
  t1 = Clock::now();
  const double ingest_per_s = n / Seconds(t0, t1);

  // IngestRun in runs of 1000 (one transaction each): one signature per run.
  t0 = Clock::now();
  for (size_t i = 0; i < n; i += 1000) {
    std::vector<estelik::pb::Envelope> run(ops.begin() + i, ops.begin() + std::min(n, i + 1000));
    Check(bob2->IngestRun(run, kT).status());
  }
  t1 = Clock::now();
  const double ingest_run_per_s = n / Seconds(t0, t1);

  // Pure verification of the same n ops.
  t0 = Clock::now();
  for (const auto& env : ops) {
    auto op = estelik::log::ParseOpHeader(env.op());
    Check(op.status());
    Check(estelik::log::VerifyEnvelopeSignature(env, *op));
  }
  t1 = Clock::now();
  const double per_op_s = Seconds(t0, t1);
  t0 = Clock::now();
  Check(estelik::log::VerifyChainRun(ops).status());
  t1 = Clock::now();
  const double chain_s = Seconds(t0, t1);

  std::printf("append (1 op per transaction, %zu ops):   %10.0f ops/s\n", single, append_per_s);
  std::printf("append (1000 ops per transaction):        %10.0f ops/s\n", append_batched_per_s);
  std::printf("ingest per op (every signature):          %10.0f ops/s\n", ingest_per_s);
  std::printf("ingest runs of 1000 (head signature):     %10.0f ops/s\n", ingest_run_per_s);
  std::printf("verify %zu ops, per-op signatures:     %8.3f s (%.0f ops/s)\n", n, per_op_s,
              n / per_op_s);
  std::printf("verify %zu ops, chain head + hashes:   %8.3f s (%.0f ops/s)\n", n, chain_s,
              n / chain_s);
  std::printf("chain verification is %.1fx cheaper\n", per_op_s / chain_s);
  std::printf(
      "{\"bench\":\"oplog\",\"ops\":%zu,\"append_ops_per_s\":%.0f,"
      "\"append_batched_ops_per_s\":%.0f,\"ingest_ops_per_s\":%.0f,"
      "\"ingest_run_ops_per_s\":%.0f,\"verify_per_op_s\":%.4f,\"verify_chain_s\":%.4f,"
      "\"verify_ratio\":%.2f}\n",
      n, append_per_s, append_batched_per_s, ingest_per_s, ingest_run_per_s, per_op_s, chain_s,
      per_op_s / chain_s);
  return 0;
}
