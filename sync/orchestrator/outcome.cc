#include "sync/orchestrator/outcome.h"

namespace estelik::sync {

SyncOutcome DecideOutcome(const Status& dialed, const std::optional<net::ContactKey>& answered,
                          const std::optional<SessionEnd>& last_closed) {
  SyncOutcome out;
  out.peer = answered;
  if (last_closed) out.stats = last_closed->stats;
  if (answered && last_closed && !last_closed->succeeded) {
    out.code = Code::kProtocol;
    out.reason = last_closed->reason;
    return out;
  }
  out.ok = dialed.ok();
  out.code = dialed.code();
  if (!dialed.ok()) {
    out.reason = dialed.message();
  } else {
    out.reason = answered && last_closed ? last_closed->reason : "done";
  }
  return out;
}

SyncOutcome FailedOutcome(const Status& why) {
  SyncOutcome out;
  out.code = why.code();
  out.reason = why.message();
  return out;
}

Status OutcomeStatus(const SyncOutcome& outcome, const std::string& label) {
  if (outcome.ok) return Status::Ok();
  return Status(outcome.code, "sync with " + label + " failed: " + outcome.reason);
}

}  // namespace estelik::sync
