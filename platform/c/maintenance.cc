// Vault maintenance: the failed-unlock guard and rebuilding the store from the op log.
#include "platform/c/handles.h"
#include "proto/api.pb.h"

using estelik::Status;
using estelik::archive::Archive;
using estelik::capi::Require;
using estelik::capi::ToBuffer;
using estelik::capi::WithArchive;

extern "C" {

estelik_status estelik_vault_set_unlock_guard(estelik_vault* vault, uint32_t max_failures,
                                              estelik_error* err) {
  return WithArchive(vault, err,
                     [&](Archive& archive) { return archive.SetUnlockGuard(max_failures); });
}

estelik_status estelik_vault_get_unlock_guard(estelik_vault* vault, uint32_t* out_max_failures,
                                              estelik_error* err) {
  if (out_max_failures != nullptr) *out_max_failures = 0;
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_max_failures, "out_max_failures"));
    *out_max_failures = archive.UnlockGuardLimit();
    return Status::Ok();
  });
}

estelik_status estelik_vault_rebuild(estelik_vault* vault, estelik_buffer* out_report,
                                     estelik_error* err) {
  if (out_report != nullptr) *out_report = estelik_buffer{nullptr, 0};
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_ASSIGN_OR_RETURN(Archive::RebuildReport done, archive.Rebuild());
    if (out_report == nullptr) return Status::Ok();
    estelik::pb::RebuildReport report;
    report.set_state_hash_before(done.before.data(), done.before.size());
    report.set_state_hash_after(done.after.data(), done.after.size());
    report.set_applied(done.applied);
    report.set_redacted(done.redacted);
    report.set_unreadable(done.unreadable);
    return ToBuffer(report, out_report);
  });
}

}  // extern "C"
