// KeyFile: `vault.key`, the passphrase-protected home of a vault's master key.
//
// Format (docs/FORMAT.md, "vault.key"): a fixed header carrying the Argon2id parameters and
// salt, then exactly two key slots of identical size. A used slot holds the 256-bit master
// key sealed under a KEK derived from a passphrase; an unused slot is random bytes, so nobody
// can tell whether a second (duress) passphrase exists. One Argon2id run per unlock; both
// slots are always tried, so the time taken does not depend on which slot (if any) matches.
//
// Thread safety: all functions may be called concurrently on different files. Concurrent
// writers of the same file must be serialized by the caller (the Vault does this).
#pragma once

#include <cstdint>
#include <string>

#include "core/crypto/secret.h"
#include "core/status.h"

namespace estelik::vault {

inline constexpr size_t kMasterKeySize = 32;

// Argon2id cost. Stored in the key file so a vault opens on any machine with the cost it
// was created with.
struct KdfParams {
  uint64_t opslimit = 0;
  uint64_t memlimit = 0;  // bytes
};
// crypto_pwhash MODERATE: the desktop default.
KdfParams ModerateKdfParams();
// crypto_pwhash INTERACTIVE: phones and the demo.
KdfParams InteractiveKdfParams();
// crypto_pwhash MIN: tests only; never for real vaults.
KdfParams MinimalKdfParams();

// What a key slot is for. The role is bound into the slot's associated data, so it is known
// only to whoever opens the slot: both roles look the same in the file.
enum class SlotRole {
  kOwner = 0,   // the real master key
  kDuress = 1,  // a decoy key: opening it means the user is being coerced
};

struct UnlockedKey {
  crypto::SecretBytes master_key;  // kMasterKeySize bytes
  int slot = 0;                    // 0 or 1: which slot the passphrase opened
  SlotRole role = SlotRole::kOwner;
};

class KeyFile {
 public:
  // Writes a new key file at `path` (fsync'ed, then the directory fsync'ed) holding a fresh
  // random master key sealed under `passphrase` in a randomly chosen slot. Fails with
  // kAlreadyExists if `path` exists, kInvalidArgument for an empty passphrase or a cost outside
  // opslimit [1, 32], memlimit [8 KiB, 2 GiB]. Returns the master key.
  static Result<UnlockedKey> Create(const std::string& path, std::string_view passphrase,
                                    const KdfParams& params);

  // Returns the master key sealed under `passphrase`. kWrongPassphrase ("wrong passphrase") if
  // no slot opens, kCorrupt if the file is truncated, its header is malformed or its checksum
  // is off and no slot opens, kUnsupported for a newer format version, kNotFound if missing,
  // kLimitExceeded if Argon2id cannot get its memory. Never writes to the file.
  static Result<UnlockedKey> Unlock(const std::string& path, std::string_view passphrase);

  // Re-seals the master key of the slot `old_passphrase` opens under `new_passphrase`,
  // rewriting that slot only (atomic replace of the file; salt, cost and the other slot stay
  // byte for byte). kWrongPassphrase changes nothing; so does kInvalidArgument, returned for an
  // empty new passphrase or one that already opens the other slot. Two Argon2id runs.
  static Status ChangePassphrase(const std::string& path, std::string_view old_passphrase,
                                 std::string_view new_passphrase);

  // Seals `key` (kMasterKeySize bytes) under `passphrase` into slot `slot` (0 or 1), leaving the
  // other slot as it is. Used for the duress passphrase. Atomic replace of the file.
  // kInvalidArgument (nothing written) if `passphrase` already opens the other slot.
  static Status WriteSlot(const std::string& path, int slot, const crypto::SecretBytes& key,
                          std::string_view passphrase, SlotRole role = SlotRole::kOwner);
  // WriteSlot, but the result goes to `out_path` (atomic replace) and `path` stays as it is:
  // the key file of a re-key, written beside the current one (Vault::Rekey).
  static Status WriteSlotTo(const std::string& path, const std::string& out_path, int slot,
                            const crypto::SecretBytes& key, std::string_view passphrase,
                            SlotRole role);

  // Overwrites slot `slot` in place with fresh random bytes and fsyncs (the key it held is gone
  // for good; the other slot keeps working). kCorrupt if the file is damaged.
  static Status DestroySlot(const std::string& path, int slot);

  // Crypto-shred: overwrites both slots in place with random bytes and fsyncs. O(1) whatever
  // the vault's size. A damaged file is overwritten whole. The file itself is left for the
  // caller to delete; it still looks like a key file, one no passphrase opens.
  static Status DestroyAll(const std::string& path);

  // Size of every key file in bytes (all key files have the same size).
  static size_t FileSize();
};

// Derives an independent 32-byte subkey from the master key with crypto_kdf_derive_from_key.
// `context` is exactly 8 characters naming the purpose ("estlpage", "estlattc", ...);
// `subkey_id` separates keys of the same purpose.
crypto::SecretBytes DeriveSubkey(const crypto::SecretBytes& master_key, uint64_t subkey_id,
                                 const char (&context)[9]);

}  // namespace estelik::vault
