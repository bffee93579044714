// Tags and annotations: add-tag, remove-tag, annotate (Archive::AddTag, RemoveTag, Annotate).
#include <string>

#include "core/bytes.h"
#include "platform/c/handles.h"

using estelik::Status;
using estelik::archive::Archive;
using estelik::capi::Require;
using estelik::capi::TestimonyId;
using estelik::capi::ToString;
using estelik::capi::WithArchive;

extern "C" {

estelik_status estelik_testimony_add_tag(estelik_vault* vault, const char* testimony_id,
                                         const char* tag, estelik_error* err) {
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(tag, "tag"));
    ESTELIK_ASSIGN_OR_RETURN(std::string id, TestimonyId(archive, testimony_id));
    return archive.AddTag(id, tag);
  });
}

estelik_status estelik_testimony_remove_tag(estelik_vault* vault, const char* testimony_id,
                                            const char* tag, estelik_error* err) {
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(tag, "tag"));
    ESTELIK_ASSIGN_OR_RETURN(std::string id, TestimonyId(archive, testimony_id));
    return archive.RemoveTag(id, tag);
  });
}

estelik_status estelik_testimony_annotate(estelik_vault* vault, const char* testimony_id,
                                          const char* text, const char* language,
                                          char** out_annotation_id, estelik_error* err) {
  if (out_annotation_id != nullptr) *out_annotation_id = nullptr;
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(text, "text"));
    ESTELIK_ASSIGN_OR_RETURN(std::string id, TestimonyId(archive, testimony_id));
    ESTELIK_ASSIGN_OR_RETURN(std::string annotation,
                             archive.Annotate(id, text, language == nullptr ? "" : language));
    // The annotation is stored: failing to copy its id out is reported, but it stays.
    return out_annotation_id == nullptr ? Status::Ok()
                                        : ToString(estelik::Hex(annotation), out_annotation_id);
  });
}

}  // extern "C"
