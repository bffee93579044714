// Vault lifecycle: create, open, close, panic-lock, unlock, passphrases, duress, wipe.
#include "core/vault/vault.h"

#include <filesystem>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "core/process_hardening.h"
#include "platform/c/handles.h"

using estelik::Code;
using estelik::InvalidArgument;
using estelik::Result;
using estelik::Status;
using estelik::archive::Archive;
using estelik::capi::ApplyAutoLock;
using estelik::capi::Guard;
using estelik::capi::Passphrase;
using estelik::capi::Require;
using estelik::capi::VaultCore;
using estelik::capi::WithArchive;

namespace {

Result<estelik::vault::KdfParams> Kdf(estelik_kdf kdf) {
  switch (kdf) {
    case ESTELIK_KDF_MODERATE:
      return estelik::vault::ModerateKdfParams();
    case ESTELIK_KDF_INTERACTIVE:
      return estelik::vault::InteractiveKdfParams();
    case ESTELIK_KDF_TEST_ONLY:
      return estelik::vault::MinimalKdfParams();
  }
  return InvalidArgument("kdf must be ESTELIK_KDF_MODERATE, _INTERACTIVE or _TEST_ONLY");
}

// The vault's stored auto-lock setting (kept in the encrypted store, so it is known only
// once unlocked).
Result<uint32_t> StoredAutoLock(Archive& archive) { return archive.AutoLockSeconds(); }

// `dir` absolute and without symlinks or dot segments, so that two spellings of one folder
// compare equal; `dir` itself if the file system cannot say.
std::string CanonicalDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(dir, ec);
  return ec ? dir : canonical.lexically_normal().string();
}

// Every vault handle of this process, for estelik_vault_wipe to lock those on its vault first.
struct OpenHandles {
  std::mutex mu;
  std::vector<std::weak_ptr<VaultCore>> cores;  // closed ones expire; pruned at each Add
};

OpenHandles& Handles() {
  static OpenHandles handles;
  return handles;
}

void AddOpenHandle(const std::shared_ptr<VaultCore>& core) {
  OpenHandles& handles = Handles();
  std::lock_guard lock(handles.mu);
  std::erase_if(handles.cores, [](const std::weak_ptr<VaultCore>& c) { return c.expired(); });
  handles.cores.push_back(core);
}

std::vector<std::shared_ptr<VaultCore>> HandlesOn(const std::string& canonical_dir) {
  OpenHandles& handles = Handles();
  std::lock_guard lock(handles.mu);
  std::vector<std::shared_ptr<VaultCore>> out;
  for (const auto& weak : handles.cores) {
    auto core = weak.lock();
    if (core && core->canonical_dir == canonical_dir) out.push_back(std::move(core));
  }
  return out;
}

Status NewHandle(std::string dir, std::unique_ptr<Archive> archive, estelik_vault** out) {
  ESTELIK_ASSIGN_OR_RETURN(uint32_t auto_lock, StoredAutoLock(*archive));
  auto core = std::make_shared<VaultCore>();
  core->auto_lock_seconds = auto_lock;
  core->canonical_dir = CanonicalDir(dir);
  core->dir = std::move(dir);
  core->SetArchive(std::move(archive));
  AddOpenHandle(core);
  auto handle = std::make_unique<estelik_vault>();
  handle->core = std::move(core);
  *out = handle.release();  // owned by the caller until estelik_vault_close
  return Status::Ok();
}

}  // namespace

extern "C" {

estelik_status estelik_vault_create(const char* dir, const char* passphrase, size_t passphrase_len,
                                    estelik_kdf kdf, estelik_vault** out_vault,
                                    estelik_error* err) {
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_vault, "out_vault"));
    *out_vault = nullptr;
    ESTELIK_RETURN_IF_ERROR(Require(dir, "dir"));
    ESTELIK_RETURN_IF_ERROR(estelik::DisableCoreDumps());  // before any plaintext or key
    ESTELIK_ASSIGN_OR_RETURN(auto pass, Passphrase(passphrase, passphrase_len, "passphrase"));
    estelik::vault::VaultOptions options;
    ESTELIK_ASSIGN_OR_RETURN(options.kdf, Kdf(kdf));
    ESTELIK_ASSIGN_OR_RETURN(auto archive, Archive::Create(dir, pass, options));
    return NewHandle(dir, std::move(archive), out_vault);
  });
}

estelik_status estelik_vault_open(const char* dir, const char* passphrase, size_t passphrase_len,
                                  estelik_vault** out_vault, estelik_error* err) {
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_vault, "out_vault"));
    *out_vault = nullptr;
    ESTELIK_RETURN_IF_ERROR(Require(dir, "dir"));
    ESTELIK_RETURN_IF_ERROR(estelik::DisableCoreDumps());  // before any plaintext or key
    ESTELIK_ASSIGN_OR_RETURN(auto pass, Passphrase(passphrase, passphrase_len, "passphrase"));
    ESTELIK_ASSIGN_OR_RETURN(auto archive, Archive::Open(dir, pass));
    return NewHandle(dir, std::move(archive), out_vault);
  });
}

void estelik_vault_close(estelik_vault* vault) {
  if (vault == nullptr) return;
  std::unique_ptr<estelik_vault> handle(vault);
  std::vector<std::shared_ptr<estelik::capi::SyncState>> running;
  {
    std::lock_guard lock(handle->core->mu);
    handle->core->closed = true;
    handle->core->DropArchive(Code::kAborted);
    running = handle->core->TakeSyncs();
  }
  // After the mutex is released: a sync's network thread may be waiting for it.
  StopSyncs(running);
}

void estelik_vault_lock(estelik_vault* vault) {
  if (vault == nullptr) return;
  estelik::capi::Lock(*vault->core);
}

estelik_status estelik_vault_unlock(estelik_vault* vault, const char* passphrase,
                                    size_t passphrase_len, estelik_error* err) {
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(vault, "vault"));
    ESTELIK_ASSIGN_OR_RETURN(auto pass, Passphrase(passphrase, passphrase_len, "passphrase"));
    std::lock_guard lock(vault->core->mu);
    if (vault->core->archive) return Status::Ok();
    if (!estelik::vault::Vault::Exists(vault->core->dir)) {
      return estelik::NotFound("the vault in " + vault->core->dir +
                               " is gone (wiped or deleted); this handle can only be closed");
    }
    ESTELIK_ASSIGN_OR_RETURN(auto archive, Archive::Open(vault->core->dir, pass));
    ESTELIK_ASSIGN_OR_RETURN(vault->core->auto_lock_seconds, StoredAutoLock(*archive));
    vault->core->SetArchive(std::move(archive));
    vault->core->Touch();
    return Status::Ok();
  });
}

int estelik_vault_is_locked(estelik_vault* vault) {
  if (vault == nullptr) return 1;
  if (vault->core->LockPending()) return 1;  // a lock interrupted a call still stopping
  estelik::capi::ApplyAutoLock(*vault->core);
  std::lock_guard lock(vault->core->mu);
  return vault->core->archive ? 0 : 1;
}

estelik_status estelik_vault_change_passphrase(estelik_vault* vault, const char* old_passphrase,
                                               size_t old_len, const char* new_passphrase,
                                               size_t new_len, estelik_error* err) {
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_ASSIGN_OR_RETURN(auto old_pass, Passphrase(old_passphrase, old_len, "old_passphrase"));
    ESTELIK_ASSIGN_OR_RETURN(auto new_pass, Passphrase(new_passphrase, new_len, "new_passphrase"));
    return archive.ChangePassphrase(old_pass, new_pass);
  });
}

estelik_status estelik_vault_rekey(estelik_vault* vault, const char* passphrase,
                                   size_t passphrase_len, const char* new_passphrase,
                                   size_t new_len, estelik_error* err) {
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(vault, "vault"));
    ApplyAutoLock(*vault->core);
    VaultCore& core = *vault->core;
    std::lock_guard lock(core.mu);
    ESTELIK_RETURN_IF_ERROR(core.Use().status());
    ESTELIK_ASSIGN_OR_RETURN(auto pass, Passphrase(passphrase, passphrase_len, "passphrase"));
    ESTELIK_ASSIGN_OR_RETURN(auto new_pass, Passphrase(new_passphrase, new_len, "new_passphrase"));
    bool syncing = false;
    for (const auto& [state, weak] : core.syncs) syncing = syncing || !weak.expired();
    if (!core.writers.empty() || !core.readers.empty() || syncing) {
      return InvalidArgument(
          "close the open attachment writers and readers and stop the syncs of this vault before "
          "re-keying it");
    }
    std::unique_ptr<Archive> taken;
    {
      // No lock may reach the archive while it is taken apart; a lock meanwhile cancels the
      // re-key instead (VaultCore::Interrupt) and does not wait for it.
      std::lock_guard interrupt_lock(core.interrupt_mu);
      core.interruptible = nullptr;
      taken = std::move(core.archive);
      core.rekey_cancelled.store(false);
      core.rekeying = true;
      core.call_running = true;
    }
    Status status =
        Archive::Rekey(taken, pass, new_pass, [&core] { return core.rekey_cancelled.load(); });
    bool cancelled = false;
    {
      std::lock_guard interrupt_lock(core.interrupt_mu);
      core.rekeying = false;
      core.call_running = false;
      cancelled = core.rekey_cancelled.exchange(false);
    }
    const bool reopened = taken != nullptr;
    if (reopened) core.SetArchive(std::move(taken));
    if (!reopened || cancelled) {
      core.DropArchive(Code::kLocked);
      if (status.ok()) status = estelik::VaultLocked();
    }
    return status;
  });
}

estelik_status estelik_vault_set_duress_passphrase(estelik_vault* vault,
                                                   const char* duress_passphrase, size_t duress_len,
                                                   estelik_error* err) {
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_ASSIGN_OR_RETURN(auto pass,
                             Passphrase(duress_passphrase, duress_len, "duress_passphrase"));
    return archive.SetDuressPassphrase(pass);
  });
}

estelik_status estelik_vault_clear_duress_passphrase(estelik_vault* vault, estelik_error* err) {
  return WithArchive(vault, err, [&](Archive& archive) { return archive.ClearDuressPassphrase(); });
}

estelik_status estelik_vault_set_auto_lock(estelik_vault* vault, uint32_t seconds,
                                           estelik_error* err) {
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(archive.SetAutoLockSeconds(seconds));
    vault->core->auto_lock_seconds = seconds;
    return Status::Ok();
  });
}

estelik_status estelik_vault_get_auto_lock(estelik_vault* vault, uint32_t* out_seconds,
                                           estelik_error* err) {
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(vault, "vault"));
    ESTELIK_RETURN_IF_ERROR(Require(out_seconds, "out_seconds"));
    std::lock_guard lock(vault->core->mu);
    *out_seconds = vault->core->auto_lock_seconds;
    return Status::Ok();
  });
}

int estelik_vault_tick(estelik_vault* vault) {
  if (vault == nullptr) return 1;
  if (vault->core->LockPending()) return 1;  // a lock interrupted a call still stopping
  estelik::capi::ApplyAutoLock(*vault->core);
  std::lock_guard lock(vault->core->mu);
  return vault->core->archive ? 0 : 1;
}

estelik_status estelik_vault_wipe(const char* dir, estelik_error* err) {
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(dir, "dir"));
    // Every handle of this process on the vault drops its keys first, a running call on it
    // included (other processes: the CLI signals the holders of core/vault/holder.h).
    const std::string canonical = CanonicalDir(dir);
    for (const auto& core : HandlesOn(canonical)) estelik::capi::Lock(*core);
    if (!estelik::vault::Vault::Exists(dir)) {
      return estelik::NotFound(std::string("no vault in ") + dir);
    }
    Status wiped = estelik::vault::Vault::Wipe(dir);
    // A handle unlocked by another thread before the key slots were destroyed: locked again.
    for (const auto& core : HandlesOn(canonical)) estelik::capi::Lock(*core);
    return wiped;
  });
}

}  // extern "C"
