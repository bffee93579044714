// Vault::Rekey and the completion of a re-key a crash interrupted (docs/FORMAT.md, "Re-key").
//
// The steps, each on disk (fsync'ed) before the next starts:
//   1. store.db.rekey: VACUUM INTO through the VFS under the new page key, the carried subkeys
//      added, checked, closed (its WAL checkpointed away) and fsync'ed;
//   2. vault.key.rekey: vault.key with this vault's slot re-sealed around the new master key;
//   3. the old store's connection closed (its WAL checkpointed away);
//   4. commit: store.db.rekey renamed onto store.db;
//   5. the old vault.key's slots overwritten with random bytes, then vault.key.rekey renamed
//      onto vault.key.
// Recovery rule, applied by UnlockKey before vault.key is read: vault.key.rekey without
// store.db.rekey means the commit happened, so step 5 is (re)done; any other leftover means it
// did not, so vault.key.rekey is shredded and deleted first, then store.db.rekey. At every
// instant one of (vault.key, store.db) or (vault.key.rekey, store.db) opens the vault.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <utility>
#include <vector>

#include "core/sql/sql_status.h"
#include "core/sql/stmt.h"
#include "core/vault/rekey_testing.h"
#include "core/vault/vault.h"
#include "core/vault/vfs.h"

namespace estelik::vault {
namespace testing {
namespace {
std::atomic<RekeyStepHook> g_rekey_hook{nullptr};
}  // namespace

void SetRekeyStepHookForTesting(RekeyStepHook hook) { g_rekey_hook.store(hook); }

}  // namespace testing

namespace {

namespace fs = std::filesystem;

constexpr char kVaultKeysTable[] =
    "CREATE TABLE IF NOT EXISTS vault_keys(context TEXT NOT NULL, id INTEGER NOT NULL, "
    "key BLOB NOT NULL, PRIMARY KEY(context, id)) WITHOUT ROWID";

void Step(testing::RekeyStep step) {
  if (testing::RekeyStepHook hook = testing::g_rekey_hook.load()) hook(step);
}

std::string PathIn(const std::string& dir, const char* name) {
  return (fs::path(dir) / name).string();
}

bool Present(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

Status SyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) return IoError("cannot open " + path + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return IoError("cannot sync " + path + ": " + std::strerror(err));
  return Status::Ok();
}

Status Unlink(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return IoError("cannot delete " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

// An exclusive flock on the vault folder, held by a re-key and by whoever completes one: the
// recovery must never act on files a running re-key is still writing.
class FolderLock {
 public:
  static Result<FolderLock> Take(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return IoError("cannot open " + dir + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return IoError("the vault in " + dir + " is being re-keyed by another process; try again");
      }
      return IoError("cannot lock " + dir + ": " + std::strerror(err));
    }
    return FolderLock(fd);
  }
  FolderLock(FolderLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FolderLock& operator=(FolderLock&&) = delete;
  ~FolderLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  explicit FolderLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Undoes a re-key that did not commit. vault.key.rekey goes first: left alone beside a
// store.db without store.db.rekey, it would read as committed.
Status RollBack(const std::string& dir) {
  const std::string key_new = PathIn(dir, kRekeyKeyFileName);
  for (const std::string& path : {key_new, key_new + ".tmp"}) {
    if (!Present(path)) continue;
    (void)KeyFile::DestroyAll(path);  // best effort: the file goes anyway
    ESTELIK_RETURN_IF_ERROR(Unlink(path));
  }
  ESTELIK_RETURN_IF_ERROR(SyncPath(dir, /*directory=*/true));
  const std::string store_new = PathIn(dir, kRekeyStoreFileName);
  for (const std::string& path : {store_new, store_new + "-wal", store_new + "-journal"}) {
    ESTELIK_RETURN_IF_ERROR(Unlink(path));
  }
  return SyncPath(dir, /*directory=*/true);
}

// Finishes a committed re-key: store.db is the new store, so the old key file opens nothing
// in it; its slots are shredded in place before the new file replaces it.
Status RollForward(const std::string& dir) {
  const std::string key_path = PathIn(dir, kKeyFileName);
  const std::string key_new = PathIn(dir, kRekeyKeyFileName);
  if (Present(key_path)) (void)KeyFile::DestroyAll(key_path);  // the rename replaces it anyway
  Step(testing::RekeyStep::kOldKeyShredded);
  if (::rename(key_new.c_str(), key_path.c_str()) != 0) {
    return IoError("cannot move " + key_new + " to " + key_path + ": " + std::strerror(errno));
  }
  ESTELIK_RETURN_IF_ERROR(SyncPath(dir, /*directory=*/true));
  Step(testing::RekeyStep::kDone);
  return Status::Ok();
}

// While `cancelled` is set, SQLite statements on `db` stop with SQLITE_INTERRUPT (checked every
// few thousand VM steps); the handler goes when this does.
class CancelWhile {
 public:
  CancelWhile(sqlite3* db, const std::function<bool()>& cancelled) : db_(db) {
    if (cancelled) sqlite3_progress_handler(db_, 4096, &CancelWhile::Poll, (void*)&cancelled);
  }
  ~CancelWhile() { sqlite3_progress_handler(db_, 0, nullptr, nullptr); }
  CancelWhile(const CancelWhile&) = delete;
  CancelWhile& operator=(const CancelWhile&) = delete;

 private:
  static int Poll(void* arg) { return (*static_cast<const std::function<bool()>*>(arg))() ? 1 : 0; }
  sqlite3* db_;
};

Status Resolve(const std::string& dir) {
  if (Present(PathIn(dir, kRekeyKeyFileName)) && !Present(PathIn(dir, kRekeyStoreFileName))) {
    return RollForward(dir);
  }
  return RollBack(dir);
}

}  // namespace

Status Vault::FinishInterruptedRekey(const std::string& dir) {
  const std::string key_new = PathIn(dir, kRekeyKeyFileName);
  if (!Present(key_new) && !Present(key_new + ".tmp") &&
      !Present(PathIn(dir, kRekeyStoreFileName))) {
    return Status::Ok();
  }
  ESTELIK_ASSIGN_OR_RETURN(FolderLock lock, FolderLock::Take(dir));
  return Resolve(dir);
}

Status Vault::Rekey(std::string_view passphrase, std::string_view new_passphrase,
                    std::span<const SubkeyName> carried, const std::function<bool()>& cancelled) {
  if (locked() || db_ == nullptr) return VaultLocked();
  const std::string_view sealing = new_passphrase.empty() ? passphrase : new_passphrase;
  {
    // Through the unlock guard, like any other use of the passphrase.
    ESTELIK_ASSIGN_OR_RETURN(UnlockedKey proven, UnlockKey(dir_, passphrase));
    if (proven.slot != slot_ ||
        !crypto::ConstantTimeEquals(proven.master_key.span(), master_key_.span())) {
      return Status(Code::kWrongPassphrase, "wrong passphrase");
    }
  }
  ESTELIK_ASSIGN_OR_RETURN(FolderLock lock, FolderLock::Take(dir_));
  ESTELIK_RETURN_IF_ERROR(RollBack(dir_));  // leftovers of an earlier failure, if any

  crypto::SecretBytes new_master = crypto::SecretBytes::Random(kMasterKeySize);
  bool committed = false;
  Status status = RekeyLocked(new_master, sealing, carried, cancelled, committed);
  if (!committed) {
    // Nothing changed that counts: the old store and key file are the vault's.
    Status undone = RollBack(dir_);
    if (db_ == nullptr) {
      Status reopened = OpenStore(/*create=*/false, /*wal=*/true);
      if (!reopened.ok()) {
        Lock();
        return reopened;
      }
    }
    if (cancelled && cancelled()) {
      return Status(Code::kLocked, "the vault was locked during the re-key; it keeps its old key");
    }
    return status.ok() ? undone : status;
  }
  // From the commit on, the new master key is the vault's, whatever else fails (the next
  // UnlockKey finishes vault.key).
  master_key_ = std::move(new_master);
  if (status.ok()) status = OpenStore(/*create=*/false, /*wal=*/true);
  if (!status.ok()) Lock();
  return status;
}

Status Vault::RekeyLocked(const crypto::SecretBytes& new_master, std::string_view passphrase,
                          std::span<const SubkeyName> carried,
                          const std::function<bool()>& cancelled, bool& committed) {
  const std::string store_new = PathIn(dir_, kRekeyStoreFileName);
  const std::string key_new = PathIn(dir_, kRekeyKeyFileName);

  std::vector<std::pair<SubkeyName, crypto::SecretBytes>> kept;
  for (const SubkeyName& name : carried) {
    ESTELIK_ASSIGN_OR_RETURN(crypto::SecretBytes key, SubkeyOf(name.id, name.context));
    kept.emplace_back(name, std::move(key));
  }
  ESTELIK_ASSIGN_OR_RETURN(std::string journal, sql::QueryText(db_.get(), "PRAGMA journal_mode"));

  // 1. The copy under the new page key.
  {
    crypto::SecretBytes page_key = DeriveSubkey(new_master, kPageKeyId, kPageKeyContext);
    ESTELIK_RETURN_IF_ERROR(AttachKey(store_new, page_key));
  }
  struct Detach {
    const std::string& path;
    ~Detach() { DetachKey(path); }
  } detach{store_new};
  {
    CancelWhile cancel(db_.get(), cancelled);
    ESTELIK_ASSIGN_OR_RETURN(sql::Stmt vacuum, sql::Stmt::Prepare(db_.get(), "VACUUM INTO ?1"));
    ESTELIK_RETURN_IF_ERROR(vacuum.BindText(1, store_new).Run());
  }
  ::chmod(store_new.c_str(), 0600);
  Step(testing::RekeyStep::kCopied);
  {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(store_new.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                             kVfsName);
    SqliteDb copy(raw);
    if (rc != SQLITE_OK) return sql::FromSqlite(raw, rc, "cannot open " + store_new);
    sqlite3_extended_result_codes(raw, 1);
    ESTELIK_RETURN_IF_ERROR(ConfigureConnection(raw, journal == "wal"));
    ESTELIK_RETURN_IF_ERROR(sql::Exec(raw, kVaultKeysTable));
    for (const auto& [name, key] : kept) {
      ESTELIK_ASSIGN_OR_RETURN(
          sql::Stmt insert, sql::Stmt::Prepare(raw,
                                               "INSERT OR IGNORE INTO vault_keys(context, id, key) "
                                               "VALUES(?1, ?2, ?3)"));
      ESTELIK_RETURN_IF_ERROR(insert.BindText(1, name.context)
                                  .BindInt(2, static_cast<int64_t>(name.id))
                                  .BindBlob(3, key.span())
                                  .Run());
    }
    CancelWhile cancel(raw, cancelled);
    ESTELIK_ASSIGN_OR_RETURN(std::string check, sql::QueryText(raw, "PRAGMA quick_check"));
    if (check != "ok") return Corrupt("the re-keyed copy of store.db does not check: " + check);
  }  // closing checkpoints its WAL into it and deletes the WAL
  if (Present(store_new + "-wal") || Present(store_new + "-journal")) {
    return IoError("the re-keyed copy of store.db kept a journal after it was closed");
  }
  ESTELIK_RETURN_IF_ERROR(SyncPath(store_new, /*directory=*/false));
  ESTELIK_RETURN_IF_ERROR(SyncPath(dir_, /*directory=*/true));
  Step(testing::RekeyStep::kStoreSynced);

  // 2. The key file that opens it (fsync'ed, renamed into place, directory fsync'ed).
  ESTELIK_RETURN_IF_ERROR(KeyFile::WriteSlotTo(KeyFilePath(), key_new, slot_, new_master,
                                               passphrase, SlotRole::kOwner));
  Step(testing::RekeyStep::kKeyWritten);

  // Last point of return.
  if (cancelled && cancelled()) return Status(Code::kLocked, "the vault was locked");

  // 3. The old store closed: nothing of it may stay in a WAL or journal the new one would meet.
  db_.reset();
  DetachKey(StorePath());
  Step(testing::RekeyStep::kOldStoreClosed);
  if (Present(StorePath() + "-wal") || Present(StorePath() + "-journal")) {
    return IoError("store.db kept a journal after it was closed; the re-key was undone");
  }

  // 4. Commit.
  if (::rename(store_new.c_str(), StorePath().c_str()) != 0) {
    return IoError("cannot move " + store_new + " to " + StorePath() + ": " + std::strerror(errno));
  }
  committed = true;
  ESTELIK_RETURN_IF_ERROR(SyncPath(dir_, /*directory=*/true));
  Step(testing::RekeyStep::kStoreSwapped);

  // 5. The new key file in place of the old one.
  return RollForward(dir_);
}

Result<crypto::SecretBytes> Vault::SubkeyOf(uint64_t id, std::string_view context) const {
  if (locked()) return VaultLocked();
  if (context.size() != 8) return InvalidArgument("a subkey context is exactly 8 characters");
  if (db_ != nullptr) {
    ESTELIK_ASSIGN_OR_RETURN(
        sql::Stmt exists,
        sql::Stmt::Prepare(
            db_.get(), "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'vault_keys'"));
    ESTELIK_ASSIGN_OR_RETURN(bool table, exists.Step());
    if (table) {
      ESTELIK_ASSIGN_OR_RETURN(
          sql::Stmt stmt,
          sql::Stmt::Prepare(db_.get(),
                             "SELECT key FROM vault_keys WHERE context = ?1 AND id = ?2"));
      stmt.BindText(1, context).BindInt(2, static_cast<int64_t>(id));
      ESTELIK_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (row) {
        std::span<const uint8_t> key = stmt.BlobSpan(0);
        if (key.size() != 32) {
          return Corrupt("vault is corrupt or tampered: a kept subkey is " +
                         std::to_string(key.size()) + " bytes");
        }
        return crypto::SecretBytes::CopyOf(key);
      }
    }
  }
  char name[9] = {};
  std::memcpy(name, context.data(), 8);
  return DeriveSubkey(master_key_, id, name);
}

}  // namespace estelik::vault
