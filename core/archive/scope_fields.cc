#include "core/archive/scope_fields.h"

namespace estelik::archive {
namespace {

pb::TestimonyFields* MutableFieldsOf(pb::OpBody& body) {
  switch (body.mutation_case()) {
    case pb::OpBody::kTestimonyCreate:
      return body.mutable_testimony_create()->mutable_fields();
    case pb::OpBody::kTestimonyEdit:
      return body.mutable_testimony_edit()->mutable_fields();
    case pb::OpBody::kShareIntoCircle:
      return body.mutable_share_into_circle()->mutable_fields();
    default:
      return nullptr;
  }
}

}  // namespace

void OmitScopeCircle(pb::OpBody& body, std::string_view circle_id) {
  pb::TestimonyFields* fields = MutableFieldsOf(body);
  if (fields != nullptr && !circle_id.empty() &&
      fields->consent_scope() == pb::CONSENT_SCOPE_CIRCLE && fields->circle_id() == circle_id) {
    fields->clear_circle_id();
  }
}

void RestoreScopeCircle(pb::OpBody& body, std::string_view circle_id) {
  pb::TestimonyFields* fields = MutableFieldsOf(body);
  if (fields != nullptr && !circle_id.empty() &&
      fields->consent_scope() == pb::CONSENT_SCOPE_CIRCLE && fields->circle_id().empty()) {
    fields->set_circle_id(std::string(circle_id));
  }
}

}  // namespace estelik::archive
