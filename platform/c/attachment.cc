// Attachments as streams: a writer (begin/write/finish/abort) and a verifying reader
// (open/info/size/read/read_at/verify/close). Both share their vault's mutex and die with its
// Archive.
#include <memory>
#include <span>
#include <string>

#include "platform/c/handles.h"

using estelik::Code;
using estelik::Result;
using estelik::Status;
using estelik::archive::Archive;
using estelik::capi::ApplyAutoLock;
using estelik::capi::Guard;
using estelik::capi::ReaderState;
using estelik::capi::Require;
using estelik::capi::TestimonyId;
using estelik::capi::ToBuffer;
using estelik::capi::VaultCore;
using estelik::capi::WithArchive;
using estelik::capi::WriterState;
namespace pb = estelik::pb;

namespace {

Status Dropped(Code why, std::string_view what) {
  if (why == Code::kLocked) {
    return Status(Code::kLocked, std::string("the vault was locked while this ") +
                                     std::string(what) + " was open; open it again after unlock");
  }
  return Status(Code::kAborted,
                std::string("the vault was closed while this ") + std::string(what) + " was open");
}

// Runs `fn(store::AttachmentReader&)` for a reader's call: under Guard, auto-lock applied first,
// the vault's mutex held, counted as app activity. LOCKED / ABORTED without calling `fn` if the
// reader was dropped (its vault was locked or closed).
template <typename Fn>
estelik_status WithReader(estelik_attachment_reader* reader, estelik_error* err, Fn&& fn) {
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(reader, "reader"));
    ReaderState& state = reader->state;
    ApplyAutoLock(*state.core);
    std::lock_guard lock(state.core->mu);
    if (!state.reader) return Dropped(state.dropped, "attachment reader");
    state.core->Touch();
    return fn(*state.reader);
  });
}

}  // namespace

extern "C" {

estelik_status estelik_attachment_begin(estelik_vault* vault, const char* testimony_id,
                                        const char* name, const char* media_type,
                                        estelik_attachment_kind kind,
                                        estelik_attachment_writer** out_writer,
                                        estelik_error* err) {
  if (out_writer != nullptr) *out_writer = nullptr;
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_writer, "out_writer"));
    if (kind < ESTELIK_ATTACHMENT_GUESS || kind > ESTELIK_ATTACHMENT_DOCUMENT) {
      return estelik::InvalidArgument("kind " + std::to_string(static_cast<int>(kind)) +
                                      " is not an estelik_attachment_kind");
    }
    ESTELIK_ASSIGN_OR_RETURN(std::string id, TestimonyId(archive, testimony_id));
    estelik::archive::NewAttachment meta;
    meta.name = name == nullptr ? "" : name;
    meta.media_type = media_type == nullptr ? "" : media_type;
    meta.kind = static_cast<pb::AttachmentKind>(kind);
    ESTELIK_ASSIGN_OR_RETURN(auto writer, archive.BeginAttachment(id, meta));
    auto handle = std::make_unique<estelik_attachment_writer>();
    handle->state.core = vault->core;
    handle->state.writer = std::move(writer);
    vault->core->writers.insert(&handle->state);
    *out_writer = handle.release();  // freed by estelik_attachment_finish or _abort
    return Status::Ok();
  });
}

estelik_status estelik_attachment_write(estelik_attachment_writer* writer, const uint8_t* data,
                                        size_t len, estelik_error* err) {
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(writer, "writer"));
    if (data == nullptr && len != 0) return estelik::InvalidArgument("data is NULL");
    WriterState& state = writer->state;
    ApplyAutoLock(*state.core);
    std::lock_guard lock(state.core->mu);
    if (!state.writer) return Dropped(state.dropped, "attachment writer");
    state.core->Touch();
    return state.writer->Append(std::span(data, len));
  });
}

estelik_status estelik_attachment_finish(estelik_attachment_writer* writer,
                                         estelik_buffer* out_info, estelik_error* err) {
  if (out_info != nullptr) *out_info = estelik_buffer{nullptr, 0};
  std::unique_ptr<estelik_attachment_writer> owned(writer);
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(writer, "writer"));
    WriterState& state = owned->state;
    ApplyAutoLock(*state.core);
    std::lock_guard lock(state.core->mu);
    if (!state.writer) return Dropped(state.dropped, "attachment writer");
    state.core->Touch();
    state.core->writers.erase(&state);
    Result<pb::AttachmentInfo> info = state.writer->Finish();
    state.writer.reset();  // before the lock is released and the handle freed
    ESTELIK_RETURN_IF_ERROR(info.status());
    return out_info == nullptr ? Status::Ok() : ToBuffer(*info, out_info);
  });
}

void estelik_attachment_abort(estelik_attachment_writer* writer) {
  if (writer == nullptr) return;
  std::unique_ptr<estelik_attachment_writer> owned(writer);
  std::lock_guard lock(owned->state.core->mu);
  owned->state.core->writers.erase(&owned->state);
  owned->state.writer.reset();  // an unfinished writer leaves nothing visible
}

estelik_status estelik_attachment_open(estelik_vault* vault, const char* testimony_id, size_t index,
                                       estelik_attachment_reader** out_reader, estelik_error* err) {
  if (out_reader != nullptr) *out_reader = nullptr;
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_reader, "out_reader"));
    ESTELIK_ASSIGN_OR_RETURN(std::string id, TestimonyId(archive, testimony_id));
    ESTELIK_ASSIGN_OR_RETURN(auto reader, archive.OpenAttachment(id, index));
    auto handle = std::make_unique<estelik_attachment_reader>();
    handle->state.core = vault->core;
    handle->state.reader = std::move(reader);
    vault->core->readers.insert(&handle->state);
    *out_reader = handle.release();  // freed by estelik_attachment_close
    return Status::Ok();
  });
}

estelik_status estelik_attachment_get_info(estelik_attachment_reader* reader,
                                           estelik_buffer* out_info, estelik_error* err) {
  if (out_info != nullptr) *out_info = estelik_buffer{nullptr, 0};
  return WithReader(reader, err, [&](estelik::store::AttachmentReader& r) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_info, "out_info"));
    return ToBuffer(r.info(), out_info);
  });
}

estelik_status estelik_attachment_info(estelik_attachment_reader* reader, estelik_buffer* out_info,
                                       estelik_error* err) {
  return estelik_attachment_get_info(reader, out_info, err);
}

estelik_status estelik_attachment_read(estelik_attachment_reader* reader, uint8_t* out,
                                       size_t capacity, size_t* out_read, estelik_error* err) {
  if (out_read != nullptr) *out_read = 0;
  return WithReader(reader, err, [&](estelik::store::AttachmentReader& r) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_read, "out_read"));
    if (out == nullptr && capacity != 0) return estelik::InvalidArgument("out is NULL");
    ESTELIK_ASSIGN_OR_RETURN(*out_read, r.Read(std::span(out, capacity)));
    return Status::Ok();
  });
}

estelik_status estelik_attachment_get_size(estelik_attachment_reader* reader, uint64_t* out_size,
                                           estelik_error* err) {
  if (out_size != nullptr) *out_size = 0;
  return WithReader(reader, err, [&](estelik::store::AttachmentReader& r) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_size, "out_size"));
    *out_size = r.info().size();
    return Status::Ok();
  });
}

estelik_status estelik_attachment_size(estelik_attachment_reader* reader, uint64_t* out_size,
                                       estelik_error* err) {
  return estelik_attachment_get_size(reader, out_size, err);
}

estelik_status estelik_attachment_read_at(estelik_attachment_reader* reader, uint64_t offset,
                                          uint8_t* out, size_t capacity, size_t* out_read,
                                          estelik_error* err) {
  if (out_read != nullptr) *out_read = 0;
  return WithReader(reader, err, [&](estelik::store::AttachmentReader& r) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_read, "out_read"));
    if (out == nullptr && capacity != 0) return estelik::InvalidArgument("out is NULL");
    ESTELIK_ASSIGN_OR_RETURN(*out_read, r.ReadAt(offset, std::span(out, capacity)));
    return Status::Ok();
  });
}

estelik_status estelik_attachment_verify(estelik_attachment_reader* reader, estelik_error* err) {
  return WithReader(reader, err,
                    [&](estelik::store::AttachmentReader& r) -> Status { return r.Verify(); });
}

void estelik_attachment_close(estelik_attachment_reader* reader) {
  if (reader == nullptr) return;
  std::unique_ptr<estelik_attachment_reader> owned(reader);
  std::lock_guard lock(owned->state.core->mu);
  owned->state.core->readers.erase(&owned->state);
  owned->state.reader.reset();
}

}  // extern "C"
