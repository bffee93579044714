// Helpers shared by the Archive's source files. Not part of the public API.
#pragma once

#include <string>

#include "core/log/identity.h"
#include "core/log/op_log.h"
#include "core/store/store.h"
#include "proto/op.pb.h"

namespace estelik::archive {

// `size` random bytes.
std::string RandomId(size_t size);
// The identity's Ed25519 public key as a byte string.
std::string AuthorBytes(const log::Identity& identity);
// The body of an op, to be appended in `scope`, that makes `fields` the next version of
// `current` (as `store` holds it): names the op of the current version as base_op, and
// carries the body as a text delta against the current body when that is smaller and every
// reader of the edit can read its base (docs/FORMAT.md "Testimony edits and text deltas"):
// in a circle, the base op must be ours in the same circle and of the circle's current epoch,
// the one the edit is sealed with. Otherwise (or without a recorded base op, a legacy store)
// the body travels whole.
pb::OpBody EditOpBody(store::Store& store, log::OpLog& log, const log::Scope& scope,
                      const pb::Testimony& current, const pb::TestimonyFields& fields);

}  // namespace estelik::archive
