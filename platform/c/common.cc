// Errors, buffers and argument helpers shared by every entry point of estelik.h.
#include <cassert>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/bytes.h"
#include "core/ids.h"
#include "core/log/identity.h"
#include "core/store/store.h"
#include "platform/c/handles.h"
#include "platform/c/testing.h"

namespace estelik::capi {

void VaultCore::SetArchive(std::unique_ptr<archive::Archive> opened) {
  assert(archive == nullptr);
  std::lock_guard lock(interrupt_mu);
  archive = std::move(opened);
  interruptible = archive.get();
}

bool VaultCore::Interrupt() {
  std::lock_guard lock(interrupt_mu);
  if (interruptible != nullptr) interruptible->Interrupt();
  if (rekeying) rekey_cancelled.store(true);
  return call_running;
}

bool VaultCore::LockPending() {
  std::lock_guard lock(interrupt_mu);
  return (interruptible != nullptr && interruptible->interrupted()) ||
         (rekeying && rekey_cancelled.load());
}

void VaultCore::BeginCall() {
  std::lock_guard lock(interrupt_mu);
  call_running = true;
}

bool VaultCore::EndCall() {
  {
    // Under interrupt_mu, so a lock either sees the call running (and leaves the drop to us) or
    // sees it over (and drops the archive itself).
    std::lock_guard lock(interrupt_mu);
    call_running = false;
    if (interruptible == nullptr || !interruptible->interrupted()) return false;
  }
  DropArchive(Code::kLocked);
  return true;
}

void VaultCore::DropArchive(Code why) {
  {
    // No lock may reach the archive once its destruction begins.
    std::lock_guard lock(interrupt_mu);
    interruptible = nullptr;
  }
  // Writers and readers hold statements and keys that point into the Archive's connection:
  // they go first.
  for (WriterState* w : writers) {
    w->writer.reset();
    w->dropped = why;
  }
  writers.clear();
  for (ReaderState* r : readers) {
    r->reader.reset();
    r->dropped = why;
  }
  readers.clear();
  archive.reset();
  // Whoever locked, a sync of this handle never serves again (the caller stops the networks
  // after releasing `mu`, see StopSyncs).
  MarkSyncsShut(*this);
}

bool VaultCore::AutoLockDue() const {
  return archive != nullptr && auto_lock_seconds > 0 &&
         clock() - last_use >= std::chrono::seconds(auto_lock_seconds);
}

Result<archive::Archive*> VaultCore::Get() {
  if (closed) return Status(Code::kAborted, "the vault handle was closed");
  // The cheap check at every call entry: keys of an idle vault are wiped before anything runs.
  // A lock that interrupted the archive has not dropped it yet: it is dropped here.
  if (AutoLockDue() || (archive && archive->interrupted())) DropArchive(Code::kLocked);
  if (!archive) {
    return Status(Code::kLocked, "the vault is locked; unlock it with its passphrase");
  }
  return archive.get();
}

Result<archive::Archive*> VaultCore::Use() {
  ESTELIK_ASSIGN_OR_RETURN(archive::Archive * a, Get());
  Touch();
  return a;
}

std::vector<std::shared_ptr<SyncState>> VaultCore::TakeSyncs() {
  std::vector<std::shared_ptr<SyncState>> out;
  for (auto& [raw, weak] : syncs) {
    if (auto sync = weak.lock()) out.push_back(std::move(sync));
  }
  return out;
}

void SetClockForTesting(estelik_vault* vault, Clock clock) {
  std::lock_guard lock(vault->core->mu);
  vault->core->clock = std::move(clock);
  vault->core->Touch();
}

namespace {

// Locks `core` if `auto_lock` and auto-lock is due, then stops the syncs of a locked `core`.
void SettleLock(VaultCore& core, bool auto_lock) {
  std::vector<std::shared_ptr<SyncState>> running;
  {
    std::lock_guard lock(core.mu);
    if (auto_lock && core.AutoLockDue()) core.DropArchive(Code::kLocked);
    // Also after a lock that a sync's own vault access (or an app call) applied, which could
    // not stop the networks there: this call does.
    if (core.archive || core.syncs.empty()) return;
    running = core.TakeSyncs();
  }
  StopSyncs(running);
}

}  // namespace

void ApplyAutoLock(VaultCore& core) { SettleLock(core, /*auto_lock=*/true); }

void StopSyncsIfLocked(VaultCore& core) { SettleLock(core, /*auto_lock=*/false); }

void Lock(VaultCore& core) {
  // The running call first, without waiting for it: it returns within one chunk or row. If it
  // is an app call (which may be the caller's own thread, in a progress callback), it drops the
  // keys and stops the syncs itself as it returns.
  if (core.Interrupt()) return;
  std::vector<std::shared_ptr<SyncState>> running;
  {
    // Keys next: the archive goes while we hold the mutex, so no sync can use it again; then
    // the networks stop (their sessions end and wipe their channel keys).
    std::lock_guard lock(core.mu);
    core.DropArchive(Code::kLocked);
    running = core.TakeSyncs();
  }
  StopSyncs(running);
}

estelik_status Report(const Status& status, estelik_error* err) {
  if (err != nullptr) estelik_error_clear(err);  // a success leaves no stale message behind
  if (status.ok()) return ESTELIK_OK;
  if (err != nullptr) {
    err->domain = "estelik";
    err->code = static_cast<int>(status.code());
    // On allocation failure the code still says what happened; the message stays NULL.
    err->message = static_cast<char*>(std::malloc(status.message().size() + 1));
    if (err->message != nullptr) {
      std::memcpy(err->message, status.message().c_str(), status.message().size() + 1);
    }
  }
  return static_cast<estelik_status>(status.code());
}

Status ToBuffer(std::string_view bytes, estelik_buffer* out) {
  // malloc(0) may return NULL; always allocate at least one byte so data is non-NULL.
  auto* data = static_cast<uint8_t*>(std::malloc(bytes.empty() ? 1 : bytes.size()));
  if (data == nullptr) return LimitExceeded("out of memory for a result buffer");
  if (!bytes.empty()) std::memcpy(data, bytes.data(), bytes.size());
  out->data = data;
  out->size = bytes.size();
  return Status::Ok();
}

Status ToBuffer(const google::protobuf::MessageLite& message, estelik_buffer* out) {
  std::string bytes;
  if (!message.SerializeToString(&bytes)) {
    return Internal("could not serialize " + message.GetTypeName());
  }
  return ToBuffer(bytes, out);
}

Status ToString(std::string_view text, char** out) {
  auto* data = static_cast<char*>(std::malloc(text.size() + 1));
  if (data == nullptr) return LimitExceeded("out of memory for a result string");
  std::memcpy(data, text.data(), text.size());
  data[text.size()] = '\0';
  *out = data;
  return Status::Ok();
}

Status Parse(const uint8_t* data, size_t len, std::string_view what,
             google::protobuf::MessageLite* message) {
  message->Clear();
  if (len == 0) return Status::Ok();
  if (data == nullptr) {
    return InvalidArgument(std::string(what) + " is NULL but its length is " + std::to_string(len));
  }
  if (len > static_cast<size_t>(INT_MAX)) {
    return LimitExceeded(std::string(what) + " is larger than 2 GiB");
  }
  if (!message->ParseFromArray(data, static_cast<int>(len))) {
    return InvalidArgument(std::string(what) + " is not a valid serialized " +
                           message->GetTypeName() + " (" + std::to_string(len) +
                           " bytes that do not parse as protobuf, or a string that is not UTF-8)");
  }
  return Status::Ok();
}

Result<std::string_view> Passphrase(const char* data, size_t len, std::string_view what) {
  if (data == nullptr && len != 0) {
    return InvalidArgument(std::string(what) + " is NULL but its length is " + std::to_string(len));
  }
  return std::string_view(data == nullptr ? "" : data, len);
}

Status Require(const void* pointer, std::string_view what) {
  if (pointer == nullptr) return InvalidArgument(std::string(what) + " must not be NULL");
  return Status::Ok();
}

archive::CancellableProgressFn Progress(const estelik_progress* progress) {
  if (progress == nullptr || progress->on_progress == nullptr) return {};
  const estelik_progress callback = *progress;
  return [callback](uint64_t done, uint64_t total) {
    return callback.on_progress(callback.user_data, done, total) == 0;
  };
}

Result<std::string> TestimonyId(archive::Archive& archive, const char* text) {
  ESTELIK_RETURN_IF_ERROR(Require(text, "testimony_id"));
  std::string_view hex(text);
  // A full id needs no lookup (ResolveId scans the list to prove a prefix unique).
  std::string id;
  if (hex.size() == kTestimonyIdSize * 2 && ParseHexIgnoringCase(hex, &id)) return id;
  return archive.ResolveId(hex);
}

}  // namespace estelik::capi

using estelik::CodeName;

extern "C" {

const char* estelik_version(void) { return "0.1.0"; }

void estelik_error_clear(estelik_error* err) {
  if (err == nullptr) return;
  std::free(err->message);
  err->domain = nullptr;
  err->code = 0;
  err->message = nullptr;
}

const char* estelik_status_name(estelik_status status) {
  if (status < ESTELIK_OK || status > ESTELIK_INTERNAL) return "unknown";
  // CodeName returns views of string literals, so data() is NUL-terminated and static.
  return CodeName(static_cast<estelik::Code>(status)).data();
}

void estelik_buffer_free(estelik_buffer* buf) {
  if (buf == nullptr) return;
  std::free(buf->data);
  buf->data = nullptr;
  buf->size = 0;
}

void estelik_string_free(char* str) { std::free(str); }

}  // extern "C"
