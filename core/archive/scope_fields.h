// A circle op does not repeat its circle inside the testimony fields it carries: the op's
// signed scope already names it (docs/FORMAT.md "Testimony edits and text deltas", "Circle
// ops carry no circle id in their fields"). The author omits fields.circle_id before sealing;
// every reader (apply, rebuild, the evidence custody model) restores it from the scope, so the
// store and the reports hold full fields. Ops written before this rule carry the id and are
// read unchanged.
//
// Pure functions.
#pragma once

#include <string_view>

#include "proto/op.pb.h"

namespace estelik::archive {

// Clears fields.circle_id in a create, edit or share body when it equals `circle_id` (the
// circle the op is sealed into) and the fields' consent scope is CIRCLE.
void OmitScopeCircle(pb::OpBody& body, std::string_view circle_id);

// Sets fields.circle_id to `circle_id` in a create, edit or share body whose fields' consent
// scope is CIRCLE and whose circle id is empty. No-op for an empty `circle_id` (private op).
void RestoreScopeCircle(pb::OpBody& body, std::string_view circle_id);

}  // namespace estelik::archive
