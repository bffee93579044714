// SyncOutcome: what one dial round came to, as both shells report it (the C API's status and
// summary, `estelik sync`'s line or JSON and exit status).
#pragma once

#include <optional>
#include <string>

#include "core/status.h"
#include "sync/net/contact_dial.h"
#include "sync/protocol/replication.h"

namespace estelik::sync {

// How one replication session closed (ReplicationConfig::on_closed).
struct SessionEnd {
  bool succeeded = false;
  std::string reason;
  ReplicationStats stats;
};

struct SyncOutcome {
  bool ok = false;
  // kOk; kProtocol when the contact that answered failed the session; else why the dial
  // failed (kNotFound nobody answered, kIo unreachable, kAborted cancelled, ...).
  Code code = Code::kAborted;
  std::string reason;      // the session's close reason, "done", or why the dial failed
  ReplicationStats stats;  // of the last session that closed (zero if none did)
  std::optional<net::ContactKey> peer;  // the contact that answered, if one did
};

// The outcome of a dial that ended with `dialed` (net::ContactDialer::Wait), where `answered`
// is the contact that answered and `last_closed` the last session that closed. A contact that
// did not answer also closed a session: only the one that answered decides. Its failed session
// is kProtocol with the session's reason; otherwise the dial's status decides.
SyncOutcome DecideOutcome(const Status& dialed, const std::optional<net::ContactKey>& answered,
                          const std::optional<SessionEnd>& last_closed);

// A round that dialed nobody: `why` (not OK) as the outcome.
SyncOutcome FailedOutcome(const Status& why);

// OK, or the outcome's code with "sync with LABEL failed: REASON".
Status OutcomeStatus(const SyncOutcome& outcome, const std::string& label);

}  // namespace estelik::sync
