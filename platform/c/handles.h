// Internal to platform/c: what the opaque handles of estelik.h are, and the helpers every
// entry point uses to turn a Status into (estelik_status, estelik_error) without letting an
// exception cross the C boundary.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/archive/archive.h"
#include "core/status.h"
#include "platform/c/estelik.h"

namespace estelik::capi {

struct WriterState;
struct ReaderState;
struct SyncState;  // platform/c/sync.cc

// The time auto-lock measures idleness in: steady_clock, unless a test gave the vault another
// (platform/c/testing.h).
using Clock = std::function<std::chrono::steady_clock::time_point()>;

// Shared by a vault handle and every writer/reader opened through it, so that a writer freed
// after its vault was closed still finds a valid (closed) core. `mu` serializes every call.
struct VaultCore {
  std::mutex mu;
  std::string dir;
  std::string canonical_dir;                  // `dir` made absolute, for estelik_vault_wipe
  std::unique_ptr<archive::Archive> archive;  // null while locked or after close
  // `archive` again, for a lock to interrupt the call running on it without waiting for `mu`:
  // set and cleared (before `archive` is destroyed) under both `mu` and `interrupt_mu`.
  std::mutex interrupt_mu;
  archive::Archive* interruptible = nullptr;
  // True while a call of the app (WithArchive) runs on `archive`; under `interrupt_mu`. A lock
  // does not wait for such a call: the call drops the archive itself as it returns.
  bool call_running = false;
  // True while estelik_vault_rekey runs with the archive taken apart (under `interrupt_mu`); a
  // lock meanwhile sets `rekey_cancelled`, which the re-key polls, and the re-key drops the
  // archive as it returns.
  bool rekeying = false;
  std::atomic<bool> rekey_cancelled{false};
  bool closed = false;
  // Engine objects that point into `archive`: they are destroyed before it is (lock/close).
  std::set<WriterState*> writers;
  std::set<ReaderState*> readers;
  // Running listeners, dials and one-shot syncs on this vault. Weak: a sync owns its core,
  // not the other way round; lock/close stop them (StopSyncs) after dropping the archive.
  std::map<SyncState*, std::weak_ptr<SyncState>> syncs;

  // Auto-lock: 0 = never. `last_use` is the `clock` time of the last call made by the app
  // (sync traffic does not count: an idle device must lock even while a server runs).
  uint32_t auto_lock_seconds = 0;
  Clock clock = [] { return std::chrono::steady_clock::now(); };
  std::chrono::steady_clock::time_point last_use = clock();

  // Installs a freshly opened Archive. Caller holds `mu`.
  void SetArchive(std::unique_ptr<archive::Archive> opened);
  // Destroys every open writer/reader's engine object, recording `why`, then the Archive
  // (which closes the store and wipes every key). Caller holds `mu`.
  void DropArchive(Code why);
  // Interrupts the call running on the archive, if any (Archive::Interrupt): it returns LOCKED
  // within one chunk or row, and every call after it finds the vault locked. Returns true if an
  // app call is running (EndCall will drop the archive). Any thread; caller does not hold `mu`
  // (that is the point).
  bool Interrupt();
  // True once a lock interrupted the archive (it may not be dropped yet). Any thread, no `mu`.
  bool LockPending();
  // Brackets an app call on the archive (caller holds `mu`). EndCall drops the archive if a
  // lock interrupted the call meanwhile, and then returns true (stop the syncs, StopSyncsIfLocked).
  void BeginCall();
  bool EndCall();
  // The archive, or LOCKED / ABORTED. Caller holds `mu`. Applies auto-lock first: a vault idle
  // longer than `auto_lock_seconds` is locked here and the call finds it LOCKED; so is one a
  // lock interrupted but has not dropped yet.
  Result<archive::Archive*> Get();
  // Like Get(), and records the call as app activity (resets the auto-lock clock).
  Result<archive::Archive*> Use();
  // True if auto-lock is due now. Caller holds `mu`.
  bool AutoLockDue() const;
  // Records a call made by the app now: resets the auto-lock clock. Caller holds `mu`.
  void Touch() { last_use = clock(); }
  // The syncs to stop after a lock or close (caller holds `mu`; stop them after releasing it).
  std::vector<std::shared_ptr<SyncState>> TakeSyncs();
};

// Stops every sync in `syncs` (they end their sessions and wipe their keys) and marks them so
// they never serve again. Call without holding any vault mutex. A sync whose network thread
// is the calling thread (a callback called estelik_vault_lock) is only marked: its sessions
// fail at their next vault access, as the archive is already gone.
void StopSyncs(const std::vector<std::shared_ptr<SyncState>>& syncs);
// Marks every sync of `core` so that it never serves again (new connections refused, every
// vault access of its sessions fails). Caller holds `core.mu`; cheap, never blocks.
void MarkSyncsShut(VaultCore& core);
// Locks `core` now if auto-lock is due, and stops the syncs of a locked `core`. Takes
// `core->mu` itself; call without holding it.
void ApplyAutoLock(VaultCore& core);
// Stops the syncs of a locked `core` (after a call that a lock interrupted). Takes `core->mu`.
void StopSyncsIfLocked(VaultCore& core);
// Panic-lock (estelik_vault_lock): interrupts the running call; if an app call runs, returns
// at once (the call drops the archive and stops the syncs as it returns, within one chunk or
// row); otherwise drops the archive under `core.mu` (free within one sync step or attachment
// chunk) and stops every sync. Call without holding `mu`.
void Lock(VaultCore& core);

// BeginCall/EndCall for one scope; EndCall's answer goes to *dropped.
class CallScope {
 public:
  CallScope(VaultCore& core, bool* dropped) : core_(core), dropped_(dropped) { core_.BeginCall(); }
  ~CallScope() { *dropped_ = core_.EndCall(); }
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  VaultCore& core_;
  bool* dropped_;
};

struct WriterState {
  std::shared_ptr<VaultCore> core;
  std::unique_ptr<archive::Archive::AttachmentWriter> writer;  // null once dropped
  Code dropped = Code::kOk;
};

struct ReaderState {
  std::shared_ptr<VaultCore> core;
  std::unique_ptr<store::AttachmentReader> reader;  // null once dropped
  Code dropped = Code::kOk;
};

// Fills `err` (if any) from a non-OK status and returns its code; returns ESTELIK_OK otherwise.
estelik_status Report(const Status& status, estelik_error* err);

// Runs `body` (returning Status), converting exceptions (allocation failure, bugs) to
// ESTELIK_INTERNAL so none crosses the C ABI.
template <typename Fn>
estelik_status Guard(estelik_error* err, Fn&& body) {
  try {
    return Report(body(), err);
  } catch (const std::bad_alloc&) {
    return Report(Status(Code::kLimitExceeded, "out of memory"), err);
  } catch (const std::exception& e) {
    return Report(Internal(std::string("unexpected exception: ") + e.what()), err);
  } catch (...) {
    return Report(Internal("unexpected exception"), err);
  }
}

// Runs `fn(archive::Archive&)` under Guard with the handle's mutex held; LOCKED or ABORTED
// without calling `fn` if the vault is locked or closed.
template <typename Fn>
estelik_status WithArchive(estelik_vault* vault, estelik_error* err, Fn&& fn);

// Copies `bytes` into a malloc'd estelik_buffer; LimitExceeded if memory runs out.
Status ToBuffer(std::string_view bytes, estelik_buffer* out);
// Serializes a message into `out`.
Status ToBuffer(const google::protobuf::MessageLite& message, estelik_buffer* out);
// A malloc'd NUL-terminated copy of `text` in *out.
Status ToString(std::string_view text, char** out);
// Parses `len` bytes at `data` (NULL/0 = empty message) as `message`, naming `what` in errors.
Status Parse(const uint8_t* data, size_t len, std::string_view what,
             google::protobuf::MessageLite* message);
// A passphrase view; InvalidArgument if `data` is NULL with a non-zero length.
Result<std::string_view> Passphrase(const char* data, size_t len, std::string_view what);
// A required, non-NULL pointer argument.
Status Require(const void* pointer, std::string_view what);
// The engine's form of an estelik_progress (empty for NULL or a NULL on_progress): a non-zero
// answer of the callback cancels.
archive::CancellableProgressFn Progress(const estelik_progress* progress);
// The raw 16-byte id of a testimony given as 32 hex digits or a unique prefix.
Result<std::string> TestimonyId(archive::Archive& archive, const char* text);

}  // namespace estelik::capi

// The opaque handles are the C names of these.
struct estelik_vault {
  std::shared_ptr<estelik::capi::VaultCore> core;
};
struct estelik_attachment_writer {
  estelik::capi::WriterState state;
};
struct estelik_attachment_reader {
  estelik::capi::ReaderState state;
};

template <typename Fn>
estelik_status estelik::capi::WithArchive(estelik_vault* vault, estelik_error* err, Fn&& fn) {
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(vault, "vault"));
    VaultCore& core = *vault->core;
    // Auto-lock first, outside the mutex held below, since it may stop syncs.
    ApplyAutoLock(core);
    bool dropped = false;
    Status status = [&]() -> Status {
      std::lock_guard lock(core.mu);
      ESTELIK_ASSIGN_OR_RETURN(archive::Archive * archive, core.Use());
      CallScope call(core, &dropped);
      return fn(*archive);
    }();
    // A lock came during the call and left the archive to it: its syncs stop now.
    if (dropped) StopSyncsIfLocked(core);
    return status;
  });
}
