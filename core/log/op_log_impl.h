// OpLog's internals, shared by the units that implement it (not part of the API):
//   op_log.cc   opening, appending, storage of ops and heads, reading, rebuild and redaction;
//   membership.cc circles: membership snapshots, key grants, removal cuts, authorization;
//   contacts.cc contacts;
//   ingest.cc   verifying and chaining remote ops, ops held pending.
// Everything here runs inside the caller's transaction (Transact) unless it says otherwise.
#pragma once

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/log/op_log.h"
#include "core/sql/stmt.h"
#include "core/sql/stmt_cache.h"
#include "core/sql/transaction.h"

namespace estelik::log {
namespace internal {

inline std::string ToString(const PublicKey& k) {
  return std::string(reinterpret_cast<const char*>(k.data()), k.size());
}
inline PublicKey ToKey(std::string_view s) {
  PublicKey k{};
  std::memcpy(k.data(), s.data(), std::min(s.size(), k.size()));
  return k;
}

struct Head {
  uint64_t seq = 0;
  std::string hash;    // empty when seq == 0
  uint32_t epoch = 0;  // of the head op; 0 when seq == 0
};

struct CircleRow {
  std::string admin;
  std::string salt;
  std::string name;
  uint32_t epoch = 0;
  bool carrier_only = false;
};

inline bool IsMembershipOp(const pb::OpBody& b) {
  return b.has_circle_create() || b.has_member_add() || b.has_member_remove();
}
inline const pb::CircleMembership* MembershipOf(const pb::OpBody& b) {
  if (b.has_circle_create()) return &b.circle_create().membership();
  if (b.has_member_add()) return &b.member_add().membership();
  if (b.has_member_remove()) return &b.member_remove().membership();
  return nullptr;
}

}  // namespace internal

struct OpLog::Impl {
  sqlite3* db;
  crypto::SecretBytes private_key;
  OpLogOptions options;
  std::function<void(std::span<uint8_t>)> nonce_source;
  std::map<std::pair<std::string, uint32_t>, crypto::SecretBytes> circle_keys;
  // (scope, author) -> seq -> envelope: signature-verified ops waiting for a gap to fill.
  std::map<std::pair<std::string, std::string>, std::map<uint64_t, pb::Envelope>> pending;
  size_t pending_count = 0;
  sql::StmtCache stmts;

  Result<internal::Head> LoadHead(const std::string& scope, const std::string& author);

  Status SetHead(const std::string& scope, const std::string& author, uint64_t seq,
                 const OpHash& hash);

  Status StoreOp(const pb::Op& op, const OpHash& hash, const pb::Envelope& env, bool canonical,
                 bool sig_checked, bool far_future);

  Status PersistClock(const pb::Hlc& hlc);

  Result<std::optional<internal::CircleRow>> LoadCircle(const std::string& id);

  Result<bool> IsMember(const std::string& circle, uint32_t epoch, const std::string& who);

  Result<std::vector<std::string>> Members(const std::string& circle, uint32_t epoch);

  // The epoch key if we were granted it; nullptr otherwise.
  Result<const crypto::SecretBytes*> CircleKey(const Identity& me, const std::string& circle,
                                               uint32_t epoch);

  // Records a membership snapshot, and a removal's cut. Within one epoch membership only grows
  // (removal starts a new epoch), so applying snapshots as unions gives the same result in any
  // order; cuts are keyed by (circle, member, epoch) and never change once written.
  Status ApplyMembership(const Identity& me, const pb::OpBody& body, const pb::Op& op);

  // A removal's cut, if it carries one (removals written before cuts existed carry none).
  Status RecordCut(const pb::OpBody& body);

  // `grant_op` just gave us the key of its epoch for the first time. A member removed and
  // re-added stored that epoch's removal ops while it could not read them: their cuts count
  // from now on, as on every other replica.
  Status RecordHeldCuts(const pb::Op& grant_op, std::span<const uint8_t> key);

  // Structural checks of a membership body against its op, independent of what we know.
  static Status CheckMembershipShape(const pb::Op& op, const pb::OpBody& body);

  // Who may do what in a circle (DESIGN "Circles"): the admin manages membership; members
  // of the op's epoch post. Contacts never travel.
  Status Authorize(const pb::Op& op, const pb::OpBody& body, const internal::CircleRow& circle);

  // The cut `op` lies past, if any: a removal of its author from the op's circle, in a later
  // epoch than the op's, that kept only seqs up to the cut. Such an op is void: stored and
  // forwarded (the author's chain stays whole) but never applied or opened.
  Result<std::optional<uint64_t>> CutPassed(const pb::Op& op);

  // Every body opened anywhere (Ingest, OpenBody) is checked against the commitment its
  // author signed: an op whose sealed body differs from what it commits to would show members
  // one thing and an investigator another. OpenBodyBytes inflates a compressed body first, so
  // `plaintext_out` always receives the uncompressed bytes the commitment covers.
  Result<pb::OpBody> DecryptBody(const pb::Op& op, std::span<const uint8_t> key,
                                 std::string* plaintext_out = nullptr);

  void FillNonce(std::span<uint8_t> nonce);
};

namespace internal {

// What AppendLocked appends: a body, sealed with `key`, in `circle_id` (empty: the private
// log) at `epoch`, with key grants.
struct AppendSpec {
  const pb::OpBody* body;
  std::string circle_id;
  uint32_t epoch = 0;
  std::span<const uint8_t> key;
  std::vector<std::string> grants;
};

// Shared by Append and the circle/contact calls; the caller holds the transaction.
Result<pb::Envelope> AppendLocked(OpLog::Impl& impl, const Identity& me, HybridClock& clock,
                                  const AppendSpec& spec, uint64_t physical_ms);

// Runs `fn` inside a sql::Transaction (a savepoint when the caller already holds a
// transaction); on failure the database and the clock are as before.
template <typename Fn>
auto Transact(sqlite3* db, HybridClock& clock, Fn fn) -> decltype(fn()) {
  HybridClock saved = clock;
  auto tx = sql::Transaction::Begin(db);
  if (!tx.ok()) return tx.status();
  auto result = fn();
  if (result.ok()) {
    Status st = tx->Commit();
    if (st.ok()) return result;
    result = st;
  }
  clock = saved;
  return result;
}

}  // namespace internal
}  // namespace estelik::log
