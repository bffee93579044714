#include "core/vault/vault.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/sql/sql_status.h"
#include "core/sql/stmt.h"
#include "core/vault/unlock_guard.h"
#include "core/vault/vfs.h"
#include "core/vault/vfs_format.h"

namespace estelik::vault {
namespace {

namespace fs = std::filesystem;

// The files a vault may have besides vault.key, all of them removed by duress and wipe.
const char* const kStoreFiles[] = {
    "store.db",       "store.db-wal",       "store.db-journal",      "store.db-shm",
    "store.db.rekey", "store.db.rekey-wal", "store.db.rekey-journal"};

Status RemoveStoreFiles(const std::string& dir) {
  for (const char* name : kStoreFiles) {
    std::error_code ec;
    fs::remove(fs::path(dir) / name, ec);
    if (ec)
      return IoError("cannot delete " + (fs::path(dir) / name).string() + ": " + ec.message());
  }
  return Status::Ok();
}

Status MakePrivateDir(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) return InvalidArgument(dir + " exists and is not a directory");
    return Status::Ok();
  }
  if (::mkdir(dir.c_str(), 0700) != 0) {
    return IoError("cannot create vault directory " + dir + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

// vault.key opened with the passphrase, so the page key is the right one: a store.db whose first
// pages do not authenticate under it is damaged (or is another vault's store), never a wrong
// passphrase. The VFS alone cannot tell, so it says "wrong key"; the vault knows better.
Status ProvenKeyError(Status status) {
  if (status.code() != Code::kCorrupt || sql::LastDamage().rfind(kWrongKeyNote, 0) != 0) {
    return status;
  }
  return Corrupt(
      "vault is corrupt or tampered: store.db page 1 (vault.key opened with this passphrase, but "
      "store.db does not authenticate under its key: store.db is damaged or belongs to another "
      "vault)");
}

Status SqliteError(sqlite3* db, int rc, const std::string& what) {
  return ProvenKeyError(sql::FromSqlite(db, rc, what));
}

// Create() returns only once store.db holds its first page, and nothing ever shrinks it below
// that. Missing or shorter, it was deleted or cut off; SQLite would take it for a new, empty
// database (its unix VFS even reports a 1-byte file as empty) and the vault would silently
// start over with a new identity. Checked on the file itself, before SQLite touches it, so
// nothing is written. A cut inside a later page is the VFS's to report (it reads every size).
Status CheckExistingStore(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return IoError("cannot read " + path + ": " + std::strerror(errno));
    return Corrupt(
        "vault is corrupt or tampered: store.db is missing beside vault.key (deleted or moved); "
        "nothing was created in its place");
  }
  if (!S_ISREG(st.st_mode)) return Corrupt("vault is corrupt or tampered: store.db is not a file");
  if (st.st_size == 0) {
    return Corrupt(
        "vault is corrupt or tampered: store.db is empty (0 bytes); nothing was "
        "created in its place");
  }
  if (st.st_size < static_cast<off_t>(vfs_format::kPageBytes)) {
    return Corrupt("vault is corrupt or tampered: store.db is truncated (" +
                   std::to_string(st.st_size) + " bytes, page 1 is incomplete)");
  }
  return Status::Ok();
}

}  // namespace

Vault::Vault(std::string dir, crypto::SecretBytes master_key, int slot)
    : dir_(std::move(dir)), master_key_(std::move(master_key)), slot_(slot) {}

Vault::~Vault() { Lock(); }

bool Vault::Exists(const std::string& dir) {
  std::error_code ec;
  return fs::exists(fs::path(dir) / kKeyFileName, ec);
}

std::string Vault::KeyFilePath() const { return (fs::path(dir_) / kKeyFileName).string(); }
std::string Vault::StorePath() const { return (fs::path(dir_) / kStoreFileName).string(); }

Result<std::unique_ptr<Vault>> Vault::Create(const std::string& dir, std::string_view passphrase,
                                             const VaultOptions& options) {
  if (passphrase.empty()) return InvalidArgument("the passphrase must not be empty");
  if (Exists(dir)) return AlreadyExists("a vault already exists in " + dir);
  ESTELIK_RETURN_IF_ERROR(MakePrivateDir(dir));
  std::error_code ec;
  if (fs::exists(fs::path(dir) / kStoreFileName, ec)) {
    return AlreadyExists(dir + " holds a store.db without a vault.key; refusing to overwrite it");
  }
  ESTELIK_ASSIGN_OR_RETURN(UnlockedKey key, KeyFile::Create((fs::path(dir) / kKeyFileName).string(),
                                                            passphrase, options.kdf));
  std::unique_ptr<Vault> vault(new Vault(dir, std::move(key.master_key), key.slot));
  // Every vault has a guard file from the start, so one with a limit set looks like one without.
  Status s = UnlockGuard::Create(dir);
  if (s.code() == Code::kAlreadyExists) s = UnlockGuard::SetLimit(dir, 0);  // a leftover
  if (s.ok()) s = vault->OpenStore(/*create=*/true, options.wal);
  if (!s.ok()) {
    // Leave no half-made vault behind: without the store the key file protects nothing.
    vault->Lock();
    fs::remove(fs::path(dir) / kKeyFileName, ec);
    fs::remove(fs::path(dir) / kStoreFileName, ec);
    fs::remove(fs::path(dir) / kGuardFileName, ec);
    return s;
  }
  return vault;
}

Result<std::unique_ptr<Vault>> Vault::Open(const std::string& dir, std::string_view passphrase) {
  if (!Exists(dir)) return NotFound("no vault in " + dir);
  ESTELIK_ASSIGN_OR_RETURN(UnlockedKey key, UnlockKey(dir, passphrase));
  if (key.role == SlotRole::kDuress) {
    ESTELIK_RETURN_IF_ERROR(TriggerDuress(dir, key, passphrase));
    std::unique_ptr<Vault> vault(new Vault(dir, std::move(key.master_key), key.slot));
    vault->opened_under_duress_ = true;
    ESTELIK_RETURN_IF_ERROR(vault->OpenStore(/*create=*/true, /*wal=*/true));
    return vault;
  }
  ESTELIK_RETURN_IF_ERROR(CheckExistingStore((fs::path(dir) / kStoreFileName).string()));
  std::unique_ptr<Vault> vault(new Vault(dir, std::move(key.master_key), key.slot));
  ESTELIK_RETURN_IF_ERROR(vault->OpenStore(/*create=*/false, /*wal=*/true));
  return vault;
}

Result<UnlockedKey> Vault::UnlockKey(const std::string& dir, std::string_view passphrase) {
  // Checked first so that no guard file is ever written into a folder that holds no vault.
  if (!Exists(dir)) return NotFound("no vault in " + dir);
  // Before vault.key is read: a re-key a crash interrupted may have left it one step behind.
  ESTELIK_RETURN_IF_ERROR(FinishInterruptedRekey(dir));
  ESTELIK_ASSIGN_OR_RETURN(UnlockGuard guard, UnlockGuard::Begin(dir));
  // Counted and on disk before Argon2id starts (see unlock_guard.cc on crash safety).
  ESTELIK_RETURN_IF_ERROR(guard.RecordAttempt());
  Result<UnlockedKey> key = KeyFile::Unlock((fs::path(dir) / kKeyFileName).string(), passphrase);
  if (key.ok()) {
    // Owner and duress passphrases alike: a duress unlock must look like any other.
    ESTELIK_RETURN_IF_ERROR(guard.RecordSuccess());
    return key;
  }
  if (key.status().code() != Code::kWrongPassphrase) {
    guard.ForgetAttempt();  // not a guess: damaged file, no memory, I/O
    return key.status();
  }
  if (guard.LimitReached()) {
    // Same answer as any wrong passphrase: a coercer watching the screen learns nothing more.
    // If the wipe itself fails, the attempt stays counted and the next one tries again.
    (void)Wipe(dir);
  }
  return key.status();
}

// Order matters for a crash half-way: the real key goes first (after that, nothing real can
// be decrypted whatever else happens); a crash before the slot is re-marked leaves a duress
// slot that repeats these steps at the next open.
Status Vault::TriggerDuress(const std::string& dir, const UnlockedKey& key,
                            std::string_view passphrase) {
  std::string key_path = (fs::path(dir) / kKeyFileName).string();
  ESTELIK_RETURN_IF_ERROR(KeyFile::DestroySlot(key_path, 1 - key.slot));
  ESTELIK_RETURN_IF_ERROR(RemoveStoreFiles(dir));
  return KeyFile::WriteSlot(key_path, key.slot, key.master_key, passphrase, SlotRole::kOwner);
}

Status Vault::Wipe(const std::string& dir) {
  if (!Exists(dir)) return NotFound("no vault in " + dir);
  std::string key_path = (fs::path(dir) / kKeyFileName).string();
  // Crypto-shred first: once both slots are random, the rest is undecryptable noise, so a
  // failure to delete below loses nothing a seizer could use.
  ESTELIK_RETURN_IF_ERROR(KeyFile::DestroyAll(key_path));
  // A passphrase change interrupted by a crash can leave a complete older key file beside it.
  // So can a re-key: its new key file (and that file's temporary) open the new store.
  const std::string tmp_path = key_path + ".tmp";
  const std::string rekey_path = (fs::path(dir) / kRekeyKeyFileName).string();
  const std::string rekey_tmp_path = rekey_path + ".tmp";
  for (const std::string* path : {&tmp_path, &rekey_path, &rekey_tmp_path}) {
    std::error_code tmp_ec;
    if (fs::exists(*path, tmp_ec)) (void)KeyFile::DestroyAll(*path);
  }
  ESTELIK_RETURN_IF_ERROR(RemoveStoreFiles(dir));
  std::error_code ec;
  fs::remove(key_path, ec);
  if (ec)
    return IoError("key slots destroyed, but cannot delete " + key_path + ": " + ec.message());
  fs::remove(fs::path(dir) / kGuardFileName, ec);
  fs::remove(tmp_path, ec);
  fs::remove(rekey_path, ec);
  fs::remove(rekey_tmp_path, ec);
  fs::remove(dir, ec);  // only if empty; anything else in it is not ours
  return Status::Ok();
}

Status Vault::SetDuressPassphrase(std::string_view duress_passphrase) {
  if (locked()) return VaultLocked();
  // Also under duress: a decoy must behave exactly like the vault it stands in for. The slot
  // written is the one duress destroyed.
  if (duress_passphrase.empty()) return InvalidArgument("the duress passphrase must not be empty");
  crypto::SecretBytes decoy = crypto::SecretBytes::Random(kMasterKeySize);
  return KeyFile::WriteSlot(KeyFilePath(), 1 - slot_, decoy, duress_passphrase, SlotRole::kDuress);
}

Status Vault::ClearDuressPassphrase() {
  if (locked()) return VaultLocked();
  return KeyFile::DestroySlot(KeyFilePath(), 1 - slot_);
}

Status Vault::SetUnlockGuard(uint32_t max_failures) {
  if (locked()) return VaultLocked();
  return UnlockGuard::SetLimit(dir_, max_failures);
}

uint32_t Vault::UnlockGuardLimit() const { return UnlockGuard::Read(dir_).limit; }

Status Vault::OpenStore(bool create, bool wal) {
  ESTELIK_RETURN_IF_ERROR(RegisterVfs());
  if (locked()) return VaultLocked();
  // Always from the master key itself: a re-key changes exactly this key.
  crypto::SecretBytes page_key = DeriveSubkey(master_key_, kPageKeyId, kPageKeyContext);
  ESTELIK_RETURN_IF_ERROR(AttachKey(StorePath(), page_key));
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(StorePath().c_str(), &raw, flags, kVfsName);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) return SqliteError(raw, rc, "cannot open " + StorePath());
  sqlite3_extended_result_codes(raw, 1);
  if (create) {
    // SQLite creates files 0644 and gives the WAL and journal the database's mode: only the
    // owner may read even the ciphertext.
    ::chmod(StorePath().c_str(), 0600);
    ESTELIK_RETURN_IF_ERROR(ConfigureConnection(raw, wal));
    // Page 1 goes to disk now (a DELETE-journal database is otherwise still 0 bytes): a vault
    // that exists is never without it, so Open can refuse a store.db that is not.
    ESTELIK_RETURN_IF_ERROR(sql::Exec(raw, "PRAGMA user_version = 0"));
  } else {
    // An existing vault keeps the journal mode it was created with. The exclusive lock must be
    // taken before the first WAL access so the wal-index stays in memory (no -shm file with
    // page numbers and checksums on disk); reading the mode then checks the key on page 1.
    ESTELIK_RETURN_IF_ERROR(ProvenKeyError(sql::Exec(raw, "PRAGMA locking_mode=EXCLUSIVE")));
    Result<std::string> mode = sql::QueryText(raw, "PRAGMA journal_mode");
    if (!mode.ok()) return ProvenKeyError(mode.status());
    const bool is_wal = *mode == "wal";
    ESTELIK_RETURN_IF_ERROR(ProvenKeyError(ConfigureConnection(raw, is_wal)));
  }
  db_ = std::move(db);
  return Status::Ok();
}

Result<crypto::SecretBytes> Vault::UnlockPageKey(const std::string& dir,
                                                 std::string_view passphrase) {
  ESTELIK_ASSIGN_OR_RETURN(UnlockedKey unlocked, UnlockKey(dir, passphrase));
  return DeriveSubkey(unlocked.master_key, kPageKeyId, kPageKeyContext);
}

Result<crypto::SecretBytes> Vault::DeriveKey(uint64_t subkey_id, const char (&context)[9]) const {
  return SubkeyOf(subkey_id, std::string_view(context, 8));
}

Status Vault::ChangePassphrase(std::string_view old_passphrase, std::string_view new_passphrase) {
  if (new_passphrase.empty()) return InvalidArgument("the new passphrase must not be empty");
  if (locked()) return VaultLocked();
  return KeyFile::ChangePassphrase(KeyFilePath(), old_passphrase, new_passphrase);
}

void Vault::Lock() {
  db_.reset();
  if (!dir_.empty()) DetachKey(StorePath());
  master_key_.Wipe();
}

}  // namespace estelik::vault
