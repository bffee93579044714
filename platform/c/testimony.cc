// Testimonies: create, edit, get, history, withdraw, list, search, resolve, import.
#include <string>
#include <string_view>
#include <vector>

#include "core/archive/import.h"
#include "core/bytes.h"
#include "core/log/identity.h"
#include "platform/c/handles.h"

using estelik::Status;
using estelik::archive::Archive;
using estelik::capi::Parse;
using estelik::capi::Require;
using estelik::capi::TestimonyId;
using estelik::capi::ToBuffer;
using estelik::capi::ToString;
using estelik::capi::WithArchive;
namespace pb = estelik::pb;

namespace {

// Clears an optional out-buffer so that it is empty on every error path.
void Reset(estelik_buffer* out) {
  if (out != nullptr) *out = estelik_buffer{nullptr, 0};
}

Status AddFields(Archive& archive, const pb::TestimonyFields& fields, uint64_t recorded_unix_ms,
                 pb::Testimony* out) {
  ESTELIK_ASSIGN_OR_RETURN(*out, archive.AddTestimony(fields, recorded_unix_ms));
  return Status::Ok();
}

}  // namespace

extern "C" {

estelik_status estelik_testimony_create(estelik_vault* vault, const uint8_t* fields,
                                        size_t fields_len, uint64_t recorded_unix_ms, char** out_id,
                                        estelik_buffer* out_testimony, estelik_error* err) {
  if (out_id != nullptr) *out_id = nullptr;
  Reset(out_testimony);
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    pb::TestimonyFields parsed;
    ESTELIK_RETURN_IF_ERROR(Parse(fields, fields_len, "fields", &parsed));
    pb::Testimony testimony;
    ESTELIK_RETURN_IF_ERROR(AddFields(archive, parsed, recorded_unix_ms, &testimony));
    // The testimony is stored; failing to copy it out now would misreport a success as an
    // error, so allocation failure here is reported but the record stays.
    if (out_id != nullptr) ESTELIK_RETURN_IF_ERROR(ToString(estelik::Hex(testimony.id()), out_id));
    return out_testimony == nullptr ? Status::Ok() : ToBuffer(testimony, out_testimony);
  });
}

estelik_status estelik_testimony_add(estelik_vault* vault, const uint8_t* fields, size_t fields_len,
                                     uint64_t recorded_unix_ms, estelik_buffer* out_testimony,
                                     estelik_error* err) {
  return estelik_testimony_create(vault, fields, fields_len, recorded_unix_ms, nullptr,
                                  out_testimony, err);
}

estelik_status estelik_testimony_add_simple(estelik_vault* vault, const char* language,
                                            const char* title, const char* body, char** out_id,
                                            estelik_error* err) {
  if (out_id != nullptr) *out_id = nullptr;
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    pb::TestimonyFields fields;
    fields.set_language(language == nullptr ? "" : language);
    fields.set_title(title == nullptr ? "" : title);
    fields.set_body(body == nullptr ? "" : body);
    fields.set_consent_scope(pb::CONSENT_SCOPE_PRIVATE);
    // Strings from C are not checked by a protobuf parser: round-trip to enforce UTF-8.
    std::string bytes = fields.SerializeAsString();
    ESTELIK_RETURN_IF_ERROR(Parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                  "language/title/body", &fields));
    pb::Testimony testimony;
    ESTELIK_RETURN_IF_ERROR(AddFields(archive, fields, 0, &testimony));
    if (out_id == nullptr) return Status::Ok();
    return ToString(estelik::Hex(testimony.id()), out_id);
  });
}

estelik_status estelik_testimony_edit(estelik_vault* vault, const char* testimony_id,
                                      const uint8_t* fields, size_t fields_len,
                                      estelik_buffer* out_testimony, estelik_error* err) {
  Reset(out_testimony);
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_ASSIGN_OR_RETURN(std::string id, TestimonyId(archive, testimony_id));
    pb::TestimonyFields parsed;
    ESTELIK_RETURN_IF_ERROR(Parse(fields, fields_len, "fields", &parsed));
    ESTELIK_ASSIGN_OR_RETURN(pb::Testimony testimony, archive.EditTestimony(id, parsed));
    return out_testimony == nullptr ? Status::Ok() : ToBuffer(testimony, out_testimony);
  });
}

estelik_status estelik_testimony_get(estelik_vault* vault, const char* testimony_id,
                                     estelik_buffer* out_testimony, estelik_error* err) {
  Reset(out_testimony);
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_testimony, "out_testimony"));
    ESTELIK_ASSIGN_OR_RETURN(std::string id, TestimonyId(archive, testimony_id));
    ESTELIK_ASSIGN_OR_RETURN(pb::Testimony testimony, archive.GetTestimony(id));
    return ToBuffer(testimony, out_testimony);
  });
}

estelik_status estelik_testimony_get_history(estelik_vault* vault, const char* testimony_id,
                                             estelik_buffer* out_history, estelik_error* err) {
  Reset(out_history);
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_history, "out_history"));
    ESTELIK_ASSIGN_OR_RETURN(std::string id, TestimonyId(archive, testimony_id));
    ESTELIK_ASSIGN_OR_RETURN(pb::History history, archive.History(id));
    return ToBuffer(history, out_history);
  });
}

estelik_status estelik_testimony_history(estelik_vault* vault, const char* testimony_id,
                                         estelik_buffer* out_history, estelik_error* err) {
  return estelik_testimony_get_history(vault, testimony_id, out_history, err);
}

estelik_status estelik_testimony_withdraw(estelik_vault* vault, const char* testimony_id,
                                          estelik_error* err) {
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_ASSIGN_OR_RETURN(std::string id, TestimonyId(archive, testimony_id));
    return archive.Withdraw(id);
  });
}

estelik_status estelik_testimony_list(estelik_vault* vault, const uint8_t* filter,
                                      size_t filter_len, const uint8_t* page, size_t page_len,
                                      estelik_buffer* out_page, estelik_error* err) {
  Reset(out_page);
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_page, "out_page"));
    pb::ListFilter parsed_filter;
    ESTELIK_RETURN_IF_ERROR(Parse(filter, filter_len, "filter", &parsed_filter));
    pb::PageRequest parsed_page;
    ESTELIK_RETURN_IF_ERROR(Parse(page, page_len, "page", &parsed_page));
    ESTELIK_ASSIGN_OR_RETURN(pb::TestimonyPage result, archive.List(parsed_filter, parsed_page));
    return ToBuffer(result, out_page);
  });
}

estelik_status estelik_testimony_search(estelik_vault* vault, const uint8_t* query,
                                        size_t query_len, estelik_buffer* out_page,
                                        estelik_error* err) {
  Reset(out_page);
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_page, "out_page"));
    pb::SearchQuery parsed;
    ESTELIK_RETURN_IF_ERROR(Parse(query, query_len, "query", &parsed));
    ESTELIK_ASSIGN_OR_RETURN(pb::SearchPage result, archive.Search(parsed));
    return ToBuffer(result, out_page);
  });
}

estelik_status estelik_testimony_resolve_id(estelik_vault* vault, const char* testimony_id,
                                            char** out_id, estelik_error* err) {
  if (out_id != nullptr) *out_id = nullptr;
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_id, "out_id"));
    ESTELIK_ASSIGN_OR_RETURN(std::string id, TestimonyId(archive, testimony_id));
    // A full id is decoded without a lookup; make sure it names a testimony.
    ESTELIK_RETURN_IF_ERROR(archive.GetTestimony(id).status());
    return ToString(estelik::Hex(id), out_id);
  });
}

estelik_status estelik_testimony_import(estelik_vault* vault, const uint8_t* jsonl,
                                        size_t jsonl_len, const estelik_progress* progress,
                                        uint64_t* out_imported, estelik_error* err) {
  if (out_imported != nullptr) *out_imported = 0;
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    if (jsonl == nullptr && jsonl_len != 0) return estelik::InvalidArgument("jsonl is NULL");
    const std::string_view data(reinterpret_cast<const char*>(jsonl), jsonl_len);
    ESTELIK_ASSIGN_OR_RETURN(std::vector<pb::TestimonyFields> records,
                             estelik::archive::ParseImportJsonl(data, "the import"));
    ESTELIK_ASSIGN_OR_RETURN(size_t imported,
                             archive.ImportTestimonies(records, estelik::capi::Progress(progress)));
    if (out_imported != nullptr) *out_imported = imported;
    return Status::Ok();
  });
}

}  // extern "C"
