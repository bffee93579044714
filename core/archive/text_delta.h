// Text deltas: a testimony edit's body carried as a change to the body of the version it
// replaces (TextDelta in proto/op.proto), so appending a sentence to a long testimony costs
// bytes proportional to the sentence. Rules and bytes: docs/FORMAT.md "Testimony edits and
// text deltas".
//
// Pure functions: no store, no clock. Used by the Archive (author and every replica) and by
// the evidence custody model, so all of them resolve an edit to the same full text.
#pragma once

#include <optional>
#include <string_view>

#include "core/status.h"
#include "proto/op.pb.h"
#include "proto/record.pb.h"

namespace estelik::archive {

// What a delta costs beyond its insert, at most (lengths, the 32-byte base hash, field tags):
// an edit carries a delta only when insert + kTextDeltaOverhead < the new body's size.
inline constexpr size_t kTextDeltaOverhead = 48;

// True if `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF).
bool IsValidUtf8(std::string_view text);

// The delta that turns `base` into `body`: the longest common prefix and suffix that end on
// code point boundaries of both, and the rest of `body` as the insert. std::nullopt when a
// delta would not be smaller than sending `body` whole, or either text is not valid UTF-8.
std::optional<pb::TextDelta> MakeTextDelta(std::string_view base, std::string_view body);

// `delta` applied to `base`. kCorrupt with the reason (the base's hash differs, the kept
// lengths exceed the base, the result is not valid UTF-8) when it does not apply.
Result<std::string> ApplyTextDelta(std::string_view base, const pb::TextDelta& delta);

// The edit's full new fields: its fields as carried, with the body resolved against
// `base_body` (the body of the version it replaces) when it carries a delta. kCorrupt
// "edit of testimony <hex id>: its text delta does not apply to the version it was made from
// (<reason>)", or for a delta edit without a 32-byte base_op or with a non-empty fields.body.
Result<pb::TestimonyFields> ResolveEditFields(const pb::TestimonyEdit& edit,
                                              std::string_view base_body);

}  // namespace estelik::archive
