// estelik_identity_*, estelik_contact_*, estelik_circle_* and estelik_testimony_share (into a
// circle), over the Archive.
#include <algorithm>
#include <cstring>
#include <span>
#include <string>

#include "core/archive/archive.h"
#include "core/log/identity.h"
#include "core/log/op_codec.h"
#include "platform/c/handles.h"
#include "proto/api.pb.h"

using estelik::Status;
using estelik::archive::Archive;
using estelik::capi::Guard;
using estelik::capi::Require;
using estelik::capi::ToBuffer;
using estelik::capi::ToString;
using estelik::capi::WithArchive;
using estelik::log::PublicKey;
namespace pb = estelik::pb;

namespace {

static_assert(ESTELIK_PUBLIC_KEY_SIZE == estelik::log::kPublicKeySize);
static_assert(ESTELIK_CIRCLE_ID_SIZE == estelik::log::kCircleIdSize);

estelik::Result<PublicKey> Key(const uint8_t* bytes, std::string_view what) {
  ESTELIK_RETURN_IF_ERROR(Require(bytes, what));
  PublicKey key;
  std::memcpy(key.data(), bytes, key.size());
  return key;
}

estelik::Result<std::string> CircleId(const uint8_t* bytes) {
  ESTELIK_RETURN_IF_ERROR(Require(bytes, "circle_id"));
  return std::string(reinterpret_cast<const char*>(bytes), ESTELIK_CIRCLE_ID_SIZE);
}

std::string Bytes(const PublicKey& key) {
  return std::string(reinterpret_cast<const char*>(key.data()), key.size());
}

void ToProto(const estelik::log::CircleInfo& circle, pb::CircleInfo* info) {
  info->set_circle_id(circle.circle_id);
  info->set_name(circle.name);
  info->set_admin(Bytes(circle.admin));
  info->set_epoch(circle.epoch);
  for (const auto& member : circle.members) info->add_members(Bytes(member));
  info->set_carrier_only(circle.carrier_only);
}

}  // namespace

extern "C" {

estelik_status estelik_identity_public_key(estelik_vault* vault, uint8_t* out_key,
                                           estelik_error* err) {
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_key, "out_key"));
    const PublicKey& key = archive.identity().public_key();
    std::memcpy(out_key, key.data(), key.size());
    return Status::Ok();
  });
}

estelik_status estelik_identity_fingerprint(estelik_vault* vault, char** out, estelik_error* err) {
  if (out != nullptr) *out = nullptr;
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out, "out"));
    return ToString(estelik::log::Fingerprint(archive.identity().public_key()), out);
  });
}

estelik_status estelik_identity_qr_payload(estelik_vault* vault, char** out, estelik_error* err) {
  if (out != nullptr) *out = nullptr;
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out, "out"));
    return ToString(estelik::log::QrPayload(archive.identity().public_key()), out);
  });
}

estelik_status estelik_identity_safety_number(estelik_vault* vault, const uint8_t* peer_key,
                                              char** out, estelik_error* err) {
  if (out != nullptr) *out = nullptr;
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out, "out"));
    ESTELIK_ASSIGN_OR_RETURN(PublicKey peer, Key(peer_key, "peer_key"));
    return ToString(estelik::log::SafetyNumber(archive.identity().public_key(), peer), out);
  });
}

estelik_status estelik_identity_parse_qr(const char* payload, uint8_t* out_key,
                                         estelik_error* err) {
  return Guard(err, [&]() -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(payload, "payload"));
    ESTELIK_RETURN_IF_ERROR(Require(out_key, "out_key"));
    ESTELIK_ASSIGN_OR_RETURN(PublicKey key, estelik::log::ParseQrPayload(payload));
    std::memcpy(out_key, key.data(), key.size());
    return Status::Ok();
  });
}

estelik_status estelik_contact_add(estelik_vault* vault, const uint8_t* public_key,
                                   const char* name, estelik_error* err) {
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_ASSIGN_OR_RETURN(PublicKey key, Key(public_key, "public_key"));
    return archive.AddContact(key, name == nullptr ? "" : name);
  });
}

estelik_status estelik_contact_remove(estelik_vault* vault, const uint8_t* public_key,
                                      estelik_error* err) {
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_ASSIGN_OR_RETURN(PublicKey key, Key(public_key, "public_key"));
    return archive.RemoveContact(key);
  });
}

estelik_status estelik_contact_list(estelik_vault* vault, estelik_buffer* out_list,
                                    estelik_error* err) {
  if (out_list != nullptr) *out_list = estelik_buffer{nullptr, 0};
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_list, "out_list"));
    ESTELIK_ASSIGN_OR_RETURN(auto contacts, archive.Contacts());
    pb::ContactList list;
    for (const auto& contact : contacts) {
      pb::ContactInfo* info = list.add_contacts();
      info->set_public_key(Bytes(contact.public_key));
      info->set_name(contact.name);
      *info->mutable_added() = contact.added;
      info->set_fingerprint(estelik::log::Fingerprint(contact.public_key));
    }
    return ToBuffer(list, out_list);
  });
}

estelik_status estelik_circle_create(estelik_vault* vault, const char* name, uint8_t* out_circle_id,
                                     estelik_error* err) {
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_circle_id, "out_circle_id"));
    ESTELIK_ASSIGN_OR_RETURN(std::string created,
                             archive.CreateCircle(name == nullptr ? "" : name));
    if (created.size() != ESTELIK_CIRCLE_ID_SIZE) {
      return estelik::Internal("circle id has " + std::to_string(created.size()) + " bytes");
    }
    std::memcpy(out_circle_id, created.data(), ESTELIK_CIRCLE_ID_SIZE);
    return Status::Ok();
  });
}

estelik_status estelik_circle_add_member(estelik_vault* vault, const uint8_t* circle_id,
                                         const uint8_t* member_key, estelik_error* err) {
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_ASSIGN_OR_RETURN(std::string id, CircleId(circle_id));
    ESTELIK_ASSIGN_OR_RETURN(PublicKey member, Key(member_key, "member_key"));
    return archive.AddCircleMember(id, member);
  });
}

estelik_status estelik_circle_remove_member(estelik_vault* vault, const uint8_t* circle_id,
                                            const uint8_t* member_key, estelik_error* err) {
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_ASSIGN_OR_RETURN(std::string id, CircleId(circle_id));
    ESTELIK_ASSIGN_OR_RETURN(PublicKey member, Key(member_key, "member_key"));
    return archive.RemoveCircleMember(id, member);
  });
}

estelik_status estelik_circle_get(estelik_vault* vault, const uint8_t* circle_id,
                                  estelik_buffer* out_circle, estelik_error* err) {
  if (out_circle != nullptr) *out_circle = estelik_buffer{nullptr, 0};
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_circle, "out_circle"));
    ESTELIK_ASSIGN_OR_RETURN(std::string id, CircleId(circle_id));
    ESTELIK_ASSIGN_OR_RETURN(auto circle, archive.GetCircle(id));
    pb::CircleInfo info;
    ToProto(circle, &info);
    return ToBuffer(info, out_circle);
  });
}

estelik_status estelik_circle_list(estelik_vault* vault, estelik_buffer* out_list,
                                   estelik_error* err) {
  if (out_list != nullptr) *out_list = estelik_buffer{nullptr, 0};
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_RETURN_IF_ERROR(Require(out_list, "out_list"));
    ESTELIK_ASSIGN_OR_RETURN(auto circles, archive.Circles());
    pb::CircleList list;
    for (const auto& circle : circles) ToProto(circle, list.add_circles());
    return ToBuffer(list, out_list);
  });
}

estelik_status estelik_testimony_share(estelik_vault* vault, const char* testimony_id,
                                       const uint8_t* circle_id, estelik_error* err) {
  return WithArchive(vault, err, [&](Archive& archive) -> Status {
    ESTELIK_ASSIGN_OR_RETURN(std::string id, estelik::capi::TestimonyId(archive, testimony_id));
    ESTELIK_ASSIGN_OR_RETURN(std::string circle, CircleId(circle_id));
    return archive.Share(id, circle);
  });
}

}  // extern "C"
