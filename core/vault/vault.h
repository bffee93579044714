// Vault: a directory holding `vault.key` and the encrypted `store.db`, opened by a passphrase.
//
// Create() and Open() unlock the master key from vault.key, derive the page key, attach it to
// the encrypting VFS and open store.db through it. The Vault owns the SQLite connection and
// every key; Lock() (panic-lock) closes the connection and wipes them, after which every call
// needs the passphrase again.
//
// Thread safety: a Vault is used from one thread at a time (the C API serializes calls).
#pragma once

#include <sqlite3.h>

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/crypto/secret.h"
#include "core/status.h"
#include "core/vault/key_file.h"

namespace estelik::vault {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using SqliteDb = std::unique_ptr<sqlite3, SqliteCloser>;

struct VaultOptions {
  KdfParams kdf = ModerateKdfParams();
  bool wal = true;  // journal_mode=WAL (default) or DELETE
};

// Longest auto-lock delay a vault accepts: one week.
inline constexpr uint32_t kMaxAutoLockSeconds = 7 * 24 * 3600;

// File names inside a vault directory.
inline constexpr char kKeyFileName[] = "vault.key";
inline constexpr char kStoreFileName[] = "store.db";
// A re-key's new store and key file while it runs (docs/FORMAT.md, "Re-key").
inline constexpr char kRekeyStoreFileName[] = "store.db.rekey";
inline constexpr char kRekeyKeyFileName[] = "vault.key.rekey";

// Subkey ids and contexts derived from the master key (docs/FORMAT.md, "Key hierarchy").
inline constexpr char kPageKeyContext[] = "estlpage";
inline constexpr uint64_t kPageKeyId = 1;

// A subkey by name, as DeriveKey takes it: `context` is exactly 8 characters.
struct SubkeyName {
  uint64_t id = 0;
  std::string_view context;
};

class Vault {
 public:
  // Creates `dir` (mode 0700) if needed and a new vault in it. kAlreadyExists if `dir`
  // already holds a vault.key; nothing is written then.
  static Result<std::unique_ptr<Vault>> Create(const std::string& dir, std::string_view passphrase,
                                               const VaultOptions& options);
  // Opens the vault in `dir`. kNotFound if there is none, kWrongPassphrase if no slot opens
  // (nothing on disk changes), kCorrupt if the key file or store is damaged or tampered.
  static Result<std::unique_ptr<Vault>> Open(const std::string& dir, std::string_view passphrase);

  // True if `dir` contains a vault.key.
  static bool Exists(const std::string& dir);

  // Panic-wipe, no passphrase needed: overwrites both key slots with random bytes and fsyncs
  // (from then on nothing in `dir` can be decrypted, whoever copied it), then deletes the
  // vault's files and the directory if it is left empty. Same cost for any vault size.
  // Processes that hold the vault open keep their keys in memory: shells lock them first
  // (the CLI signals the holders registered by holder.h).
  static Status Wipe(const std::string& dir);

  // The one way to turn a passphrase into the master key of the vault in `dir`, for every
  // opener (Open uses it; so must any tool that reads vault.key itself). It enforces the
  // failed-unlock guard (unlock_guard.h): the attempt is counted and fsync'ed before Argon2id
  // runs; a correct passphrase (owner or duress) resets the count; a wrong one that reaches
  // the limit panic-wipes the vault and still returns kWrongPassphrase ("wrong passphrase"),
  // so the screen shows nothing new. Errors as KeyFile::Unlock, plus kIo if a set limit cannot
  // be counted.
  static Result<UnlockedKey> UnlockKey(const std::string& dir, std::string_view passphrase);
  // The page key of store.db for a tool that opens it through the VFS itself (the sqlite3
  // shell extension): UnlockKey, then the derivation OpenStore uses. Errors as UnlockKey.
  static Result<crypto::SecretBytes> UnlockPageKey(const std::string& dir,
                                                   std::string_view passphrase);

  ~Vault();
  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;

  // The open store connection; nullptr once locked. Owned by the Vault.
  sqlite3* db() const { return db_.get(); }
  const std::string& dir() const { return dir_; }
  std::string KeyFilePath() const;
  std::string StorePath() const;

  // An independent subkey of the master key; kLocked after Lock(). A subkey a re-key carried
  // (Rekey's `carried`) is the one kept in store.db, so it outlives the master key it came from.
  Result<crypto::SecretBytes> DeriveKey(uint64_t subkey_id, const char (&context)[9]) const;

  // Re-seals the master key under `new_passphrase` (rewrites one key slot only).
  Status ChangePassphrase(std::string_view old_passphrase, std::string_view new_passphrase);

  // Re-key: re-encrypts the whole store under a fresh random master key and seals that key
  // under `new_passphrase` (empty: keep `passphrase`) in this vault's key slot. The other slot
  // (a duress passphrase, or random bytes) and the key file's header stay byte for byte, so a
  // duress passphrase keeps working and nothing tells whether there is one. Afterwards an old
  // copy of vault.key opens nothing in store.db. The subkeys in `carried` keep their values
  // (stored in store.db, table vault_keys): data sealed under them stays readable. Crash-safe:
  // the vault opens at every instant under the old key or the new one, and the next UnlockKey
  // completes or undoes an interrupted re-key (docs/FORMAT.md, "Re-key"). The store is closed
  // and reopened: callers finalize their statements on db() first. kWrongPassphrase if
  // `passphrase` does not open this vault's slot (counted by the unlock guard), kInvalidArgument
  // if `new_passphrase` opens the other slot, kLocked after Lock(), kIo/kCorrupt from the disk
  // (the vault then stays as it was, under the old key, and opened). `cancelled` (optional) is
  // polled while the store is copied and before the commit: once it returns true the re-key is
  // undone and kLocked returned (how a panic-lock stops a re-key without waiting for it).
  Status Rekey(std::string_view passphrase, std::string_view new_passphrase,
               std::span<const SubkeyName> carried, const std::function<bool()>& cancelled = {});

  // Makes `duress_passphrase` open a decoy: when it is used, Open() silently destroys the real
  // key slot (crypto-shredding every testimony), deletes the real store and opens a new,
  // empty, working vault under the duress key. The key file's size and structure do not
  // change. Needs the vault opened with its real passphrase (kPermissionDenied otherwise).
  Status SetDuressPassphrase(std::string_view duress_passphrase);
  // Removes the duress passphrase (its slot becomes random bytes again).
  Status ClearDuressPassphrase();
  // True if this Open() was made with a duress passphrase and destroyed the real vault.
  bool opened_under_duress() const { return opened_under_duress_; }

  // Failed-unlock guard: from now on the `max_failures`-th consecutive wrong passphrase given
  // to any opener panic-wipes the vault (0 turns it off; at most kMaxUnlockGuardLimit). Resets
  // the count. Stored outside the encryption, in vault.guard, because it must act before the
  // key is known; docs/THREAT_MODEL.md says what that reveals. kLocked after Lock().
  Status SetUnlockGuard(uint32_t max_failures);
  // The limit currently set (0 = off). Needs no key; reads vault.guard.
  uint32_t UnlockGuardLimit() const;

  // Auto-lock: the shells lock a vault left idle this many seconds (0 = never, the default;
  // at most kMaxAutoLockSeconds). Stored encrypted in store.db (table vault_settings, created
  // on first use). What "idle" means is the shell's: the C API counts seconds without a call,
  // `estelik serve` seconds without a sync session. kLocked after Lock(); kInvalidArgument
  // beyond the maximum; kIo/kCorrupt from SQLite.
  Status SetAutoLockSeconds(uint32_t seconds);
  Result<uint32_t> AutoLockSeconds() const;

  // Panic-lock: closes the connection and wipes every key this Vault holds. Idempotent.
  void Lock();
  bool locked() const { return master_key_.empty(); }

 private:
  Vault(std::string dir, crypto::SecretBytes master_key, int slot);
  Status OpenStore(bool create, bool wal);
  // Rekey's work once the passphrase is proven and the folder is locked against other openers;
  // `committed` is set once store.db is the new store (from then on only forward).
  Status RekeyLocked(const crypto::SecretBytes& new_master, std::string_view passphrase,
                     std::span<const SubkeyName> carried, const std::function<bool()>& cancelled,
                     bool& committed);
  // The subkey (id, context), from table vault_keys if a re-key carried it, else derived.
  Result<crypto::SecretBytes> SubkeyOf(uint64_t id, std::string_view context) const;
  // Completes or undoes a re-key a crash interrupted in `dir`; nothing to do without leftovers.
  static Status FinishInterruptedRekey(const std::string& dir);
  // A value in table vault_settings; empty when never set (or the table was never created).
  Result<std::optional<int64_t>> ReadSetting(const char* name) const;
  // Duress: destroys the owner slot and store, re-marks `key`'s slot as the owner's.
  static Status TriggerDuress(const std::string& dir, const UnlockedKey& key,
                              std::string_view passphrase);

  std::string dir_;
  crypto::SecretBytes master_key_;
  int slot_ = 0;  // the key slot this vault was opened with
  bool opened_under_duress_ = false;
  SqliteDb db_;
};

}  // namespace estelik::vault
