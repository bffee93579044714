// Testing hook of Vault::Rekey. Never used by production code.
#pragma once

namespace estelik::vault::testing {

// The points of a re-key the hook is called at, in order (docs/FORMAT.md, "Re-key").
enum class RekeyStep {
  kCopied = 1,          // store.db.rekey written by VACUUM INTO, not yet finished or synced
  kStoreSynced = 2,     // store.db.rekey finished and fsync'ed
  kKeyWritten = 3,      // vault.key.rekey written and fsync'ed (prepared)
  kOldStoreClosed = 4,  // the old store's connection closed
  kStoreSwapped = 5,    // store.db.rekey renamed onto store.db (committed)
  kOldKeyShredded = 6,  // the old vault.key's slots overwritten with random bytes
  kDone = 7,            // vault.key.rekey renamed onto vault.key, before the store reopens
};

// Called at each step of every re-key in this process (nullptr: none). Not thread-safe with a
// re-key running.
using RekeyStepHook = void (*)(RekeyStep step);
void SetRekeyStepHookForTesting(RekeyStepHook hook);

}  // namespace estelik::vault::testing
