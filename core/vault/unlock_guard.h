// UnlockGuard: `vault.guard`, the optional "wipe after N consecutive wrong passphrases" rule.
//
// The rule must act before the passphrase is known, so it cannot live inside the encrypted
// store or the key file's sealed slots: it is a 32-byte file of its own (docs/FORMAT.md,
// "vault.key", "vault.guard"), readable without the key. Every vault has one from creation on
// (an older vault gets one at its next open), with the limit 0 (off) unless the owner set it,
// and every open counts its attempts whatever the limit, so the file's presence, size and
// changes look the same in a vault with the rule and one without; only its limit field tells
// them apart (docs/THREAT_MODEL.md, "Wipe after failed unlocks", says what is observable).
//
// One unlock attempt, as Vault::UnlockKey runs it:
//   Begin (open + exclusive flock, so concurrent openers count one by one)
//   RecordAttempt (failures + 1, fsync) -- BEFORE Argon2id runs, so killing the process during
//                                          the KDF, or a crash, never loses a count
//   the passphrase is tried
//   RecordSuccess (failures = 0, fsync)  or  LimitReached() -> the caller panic-wipes
//   or ForgetAttempt (failures - 1) when the attempt failed for another reason (I/O, memory).
//
// Thread safety: an UnlockGuard is used by one thread; distinct guards on the same file
// serialize each other through the lock.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace estelik::vault {

inline constexpr char kGuardFileName[] = "vault.guard";
inline constexpr uint32_t kMaxUnlockGuardLimit = 1000;

struct UnlockGuardState {
  uint32_t limit = 0;     // wipe at this many consecutive wrong passphrases; 0 = never
  uint32_t failures = 0;  // consecutive wrong passphrases (plus attempts in progress)
};

class UnlockGuard {
 public:
  // Writes a fresh guard file (limit 0) into `dir`, fsync'ed with its directory. kAlreadyExists
  // if there is one.
  static Status Create(const std::string& dir);
  // The stored state. A missing or damaged file reads as {0, 0}: the rule is off.
  static UnlockGuardState Read(const std::string& dir);
  // Sets the limit (0..kMaxUnlockGuardLimit; 0 turns the rule off) and resets the count.
  // Callers must have proven the passphrase (Vault::SetUnlockGuard). kInvalidArgument beyond
  // the maximum.
  static Status SetLimit(const std::string& dir, uint32_t limit);

  // Starts one unlock attempt: opens the guard file, creating it (limit 0) if missing or
  // rewriting it (limit 0) if damaged, and holds an exclusive lock on it until destruction.
  // A vault folder where the file cannot be created (read-only medium) gets an inert guard
  // that counts nothing: without the file there is no limit to enforce.
  static Result<UnlockGuard> Begin(const std::string& dir);

  UnlockGuard(UnlockGuard&& other) noexcept;
  UnlockGuard& operator=(UnlockGuard&&) = delete;
  UnlockGuard(const UnlockGuard&) = delete;
  ~UnlockGuard();

  // Counts this attempt and fsyncs. Must succeed before the passphrase is tried: if the count
  // cannot be made durable and a limit is set, the attempt is refused (kIo).
  Status RecordAttempt();
  // The passphrase opened a slot (owner or duress): the count goes back to 0.
  Status RecordSuccess();
  // The attempt failed for a reason other than the passphrase: it does not count.
  void ForgetAttempt();
  // True if a limit is set and the recorded wrong attempts reached it.
  bool LimitReached() const { return state_.limit != 0 && state_.failures >= state_.limit; }
  const UnlockGuardState& state() const { return state_; }

 private:
  UnlockGuard(int fd, UnlockGuardState state) : fd_(fd), state_(state) {}
  Status Store();

  int fd_ = -1;  // -1: inert guard
  UnlockGuardState state_;
};

}  // namespace estelik::vault
