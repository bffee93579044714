// Archive::ReceiveOps: applying a batch of ops received from a peer.
//
// A batch is one transaction (Store::Batch): every op is verified, chained and materialized,
// then the whole batch commits, or the first rejected op rolls all of it back and its reason
// is returned. One fsync per batch instead of one per op is what lets sync apply ops at close
// to the rate the vault can verify them (docs/BENCHMARKS.md "## Sync").
//
// Runs of one author's consecutive ops that extend the chain we hold go through
// OpLog::IngestRun, which authenticates the run by the newest op's signature and the hash
// chain; everything else (gaps, duplicates, forks, unknown circles) through OpLog::Ingest, op
// by op. Materialization (Archive::Materialize) then applies every op that joined a chain in
// this batch, in author order then seq order: only an author edits its own testimonies, so
// only the order within one author's chain matters.
#include <algorithm>
#include <map>
#include <set>

#include "core/archive/archive.h"
#include "core/bytes.h"
#include "core/ids.h"
#include "core/log/op_codec.h"

namespace estelik::archive {
namespace {

void Count(log::IngestOutcome outcome, size_t n, Archive::ReceiveReport* report) {
  switch (outcome) {
    case log::IngestOutcome::kDuplicate:
      report->duplicates += n;
      break;
    case log::IngestOutcome::kPending:
      report->pending += n;
      break;
    case log::IngestOutcome::kFork:
      report->forks += n;
      break;
    case log::IngestOutcome::kAccepted:
      break;  // counted from what joined the chains
  }
}

// Names one op of a batch in an error, so a user (or a test) can find it.
std::string OpName(size_t index, size_t count, const pb::Op& op) {
  return "op " + std::to_string(index + 1) + " of " + std::to_string(count) + " (author " +
         ShortId(op.author()) + ", seq " + std::to_string(op.seq()) + ")";
}

}  // namespace

Result<Archive::ReceiveReport> Archive::ReceiveOps(const std::string& circle_id,
                                                   const std::vector<pb::Envelope>& envelopes) {
  ReceiveReport report;
  const log::Scope scope = log::Scope::Circle(circle_id);
  // Headers first: a batch that mixes circles is refused before any work.
  std::vector<pb::Op> headers;
  headers.reserve(envelopes.size());
  for (size_t i = 0; i < envelopes.size(); ++i) {
    Result<pb::Op> op = log::ParseOpHeader(envelopes[i].op());
    if (!op.ok()) {
      return Status(op.status().code(), "op " + std::to_string(i + 1) + " of " +
                                            std::to_string(envelopes.size()) + ": " +
                                            op.status().message());
    }
    if (op->scope().circle_id() != circle_id) {
      return ProtocolError("peer sent an op of another circle in a batch for circle " +
                           ShortId(circle_id));
    }
    headers.push_back(*std::move(op));
  }
  if (envelopes.empty()) return report;

  ESTELIK_ASSIGN_OR_RETURN(store::Store::Batch batch, store_->BeginBatch());
  ESTELIK_ASSIGN_OR_RETURN(log::VersionVector seen, log_->GetVersionVector(scope));
  // The fast path needs the circle known (a run of an unknown circle is held, op by op).
  const bool circle_known = log_->GetCircle(circle_id).ok();
  // Epochs we can read before the batch: one it grants us may open ops we already hold.
  ESTELIK_ASSIGN_OR_RETURN(const std::set<uint32_t> keyed_before, log_->KeyedEpochs(scope));
  // Members per epoch before the batch: an author it adds may have ops here we could not apply.
  ESTELIK_ASSIGN_OR_RETURN(const std::set<log::EpochMember> members_before,
                           log_->EpochMembers(scope));
  // Removal cuts before the batch: one it teaches us may void ops we already applied.
  ESTELIK_ASSIGN_OR_RETURN(const std::vector<log::RemovalCut> cuts_before,
                           log_->RemovalCuts(scope));
  log::VersionVector heads = seen;  // a hint for choosing the path; IngestRun re-checks
  const uint64_t now_ms = WallClockMs();

  size_t i = 0;
  while (i < envelopes.size()) {
    ESTELIK_RETURN_IF_ERROR(store_->interrupt().Check("receiving ops"));
    // A maximal run: one author, consecutive seqs.
    size_t end = i + 1;
    while (end < envelopes.size() && headers[end].author() == headers[i].author() &&
           headers[end].seq() == headers[end - 1].seq() + 1) {
      ++end;
    }
    const std::string& author = headers[i].author();
    auto head = heads.find(author);
    const uint64_t held = head == heads.end() ? 0 : head->second;
    if (circle_known && end - i > 1 && headers[i].seq() == held + 1) {
      std::vector<pb::Envelope> run(envelopes.begin() + static_cast<ptrdiff_t>(i),
                                    envelopes.begin() + static_cast<ptrdiff_t>(end));
      Result<log::IngestOutcome> outcome = log_->IngestRun(run, now_ms);
      if (!outcome.ok()) {
        return Status(outcome.status().code(),
                      "ops " + std::to_string(i + 1) + " to " + std::to_string(end) + " of " +
                          std::to_string(envelopes.size()) + ": " + outcome.status().message());
      }
      Count(*outcome, end - i, &report);
      if (*outcome == log::IngestOutcome::kAccepted) heads[author] = headers[end - 1].seq();
    } else {
      for (size_t k = i; k < end; ++k) {
        Result<log::IngestOutcome> outcome = log_->Ingest(envelopes[k], now_ms);
        if (!outcome.ok()) {
          return Status(outcome.status().code(), OpName(k, envelopes.size(), headers[k]) + ": " +
                                                     outcome.status().message());
        }
        Count(*outcome, 1, &report);
        if (*outcome == log::IngestOutcome::kAccepted) {
          heads[author] = std::max(heads[author], headers[k].seq());
        }
      }
    }
    i = end;
  }

  // A removal that voids ops we applied before it reached us: undo them by re-deriving the
  // store from the log, in this batch. Every replica then holds the state it would have had
  // if the removal had come first (rare: only where a removed member's late ops got here
  // first; cost O(ops)).
  ESTELIK_ASSIGN_OR_RETURN(bool voided, LearnedCutsVoidHeldOps(scope, cuts_before));
  if (voided) {
    report.undone = true;
    ESTELIK_RETURN_IF_ERROR(RederiveInBatch(scope, seen, &report));
    ESTELIK_RETURN_IF_ERROR(batch.Commit());
    return report;
  }

  // Everything that joined a chain in this batch: its ops and any held ops they unblocked.
  // Not only kAccepted ones: a key grant to us that must itself wait for a gap (kPending)
  // still lets the ops held for the then-unknown circle join their chains.
  ESTELIK_ASSIGN_OR_RETURN(std::vector<pb::Envelope> joined, log_->OpsAfter(seen, scope, SIZE_MAX));
  // Ops stored before this batch that it made readable apply first. They precede the batch's
  // ops in every author's chain (a chain never returns to an earlier epoch), and across
  // authors order does not matter.
  ESTELIK_ASSIGN_OR_RETURN(std::vector<pb::Envelope> held,
                           HeldOpsNowReadable(scope, keyed_before, members_before, seen));
  ESTELIK_ASSIGN_OR_RETURN(bool overtaken, HeldOpsWereOvertaken(scope, held, keyed_before, seen));
  if (overtaken) {
    // A later op of the same author was already applied or skipped without them (keys can
    // arrive out of epoch order): replay the log so the author's chain applies in order.
    ESTELIK_RETURN_IF_ERROR(RederiveInBatch(scope, seen, &report));
    ESTELIK_RETURN_IF_ERROR(batch.Commit());
    return report;
  }
  for (const auto& h : held) {
    Status s = Materialize(h);
    if (!s.ok()) return Status(s.code(), "rejected held op, now readable: " + s.message());
  }
  report.accepted += held.size();
  for (const auto& j : joined) {
    Status s = Materialize(j);
    if (!s.ok()) return Status(s.code(), "rejected op from peer: " + s.message());
  }
  report.accepted += joined.size();
  ESTELIK_RETURN_IF_ERROR(batch.Commit());
  return report;
}

}  // namespace estelik::archive

namespace estelik::archive {

Result<bool> Archive::LearnedCutsVoidHeldOps(const log::Scope& scope,
                                             const std::vector<log::RemovalCut>& cuts_before) {
  ESTELIK_ASSIGN_OR_RETURN(std::vector<log::RemovalCut> cuts, log_->RemovalCuts(scope));
  for (const auto& cut : cuts) {
    if (std::find(cuts_before.begin(), cuts_before.end(), cut) != cuts_before.end()) continue;
    ESTELIK_ASSIGN_OR_RETURN(bool held, log_->HoldsOpsPastCut(scope, cut));
    if (held) return true;
  }
  return false;
}

}  // namespace estelik::archive

namespace estelik::archive {

Status Archive::RederiveInBatch(const log::Scope& scope, const log::VersionVector& seen,
                                ReceiveReport* report) {
  RebuildReport rederived;
  ESTELIK_RETURN_IF_ERROR(Rederive(&rederived));
  ESTELIK_ASSIGN_OR_RETURN(log::VersionVector after, log_->GetVersionVector(scope));
  for (const auto& [author, seq] : after) {
    auto before = seen.find(author);
    report->accepted += seq - (before == seen.end() ? 0 : std::min(seq, before->second));
  }
  report->rederived = true;
  return Status::Ok();
}

Result<bool> Archive::HeldOpsWereOvertaken(const log::Scope& scope,
                                           const std::vector<pb::Envelope>& held,
                                           const std::set<uint32_t>& keyed_before,
                                           const log::VersionVector& seen) {
  // Per author, the held seqs; any other op of theirs after the first held one, stored before
  // this batch in an epoch we could read then, was materialized (applied or skipped) already.
  std::map<std::string, std::set<uint64_t>> by_author;
  for (const auto& op : held) {
    ESTELIK_ASSIGN_OR_RETURN(pb::Op header, log::ParseOpHeader(op.op()));
    by_author[header.author()].insert(header.seq());
  }
  for (const auto& [author, seqs] : by_author) {
    auto upto = seen.find(author);
    if (upto == seen.end()) continue;
    ESTELIK_ASSIGN_OR_RETURN(auto chain,
                             log_->ChainEpochs(scope, author, *seqs.begin(), upto->second));
    for (const auto& [seq, epoch] : chain) {
      if (seqs.count(seq) == 0 && keyed_before.count(epoch) > 0) return true;
    }
  }
  return false;
}

Result<std::vector<pb::Envelope>> Archive::HeldOpsNowReadable(
    const log::Scope& scope, const std::set<uint32_t>& keyed_before,
    const std::set<log::EpochMember>& members_before, const log::VersionVector& seen) {
  // (author, seq) -> op: one op may be both of a newly keyed epoch and of a new member.
  std::map<std::pair<std::string, uint64_t>, pb::Envelope> held;
  auto collect = [&](uint32_t epoch, const std::string* only_author) -> Status {
    ESTELIK_ASSIGN_OR_RETURN(std::vector<pb::Envelope> ops,
                             log_->HeldOpsOfEpoch(scope, epoch, seen));
    for (auto& op : ops) {
      ESTELIK_ASSIGN_OR_RETURN(pb::Op header, log::ParseOpHeader(op.op()));
      if (only_author != nullptr && header.author() != *only_author) continue;
      held.emplace(std::make_pair(header.author(), header.seq()), std::move(op));
    }
    return Status::Ok();
  };
  // A member re-added in an epoch whose ops it stored and forwarded while out now holds that
  // epoch's key.
  ESTELIK_ASSIGN_OR_RETURN(const std::set<uint32_t> keyed_after, log_->KeyedEpochs(scope));
  for (uint32_t epoch : keyed_after) {
    if (keyed_before.count(epoch) == 0) ESTELIK_RETURN_IF_ERROR(collect(epoch, nullptr));
  }
  // An author whose ops we stored before we could read their epoch, and whose addition to that
  // epoch only now arrived (a re-added member's posts can reach us before the admin's op).
  ESTELIK_ASSIGN_OR_RETURN(const std::set<log::EpochMember> members_after,
                           log_->EpochMembers(scope));
  for (const auto& [epoch, member] : members_after) {
    if (members_before.count({epoch, member}) > 0 || keyed_after.count(epoch) == 0) continue;
    ESTELIK_RETURN_IF_ERROR(collect(epoch, &member));
  }
  std::vector<pb::Envelope> out;
  out.reserve(held.size());
  for (auto& [_, op] : held) out.push_back(std::move(op));
  return out;
}

}  // namespace estelik::archive
