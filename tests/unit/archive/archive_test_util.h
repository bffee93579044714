// Helpers shared by the archive tests: fast vaults, simple fields, and moving a circle's ops
// and chunks from one Archive to another the way a sync session would (without the network).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "core/archive/archive.h"
#include "core/log/op_codec.h"

namespace estelik::archive::testing {

inline vault::VaultOptions Fast() {
  vault::VaultOptions o;
  o.kdf = vault::MinimalKdfParams();
  return o;
}

inline pb::TestimonyFields Fields(const std::string& title, const std::string& body) {
  pb::TestimonyFields f;
  f.set_title(title);
  f.set_body(body);
  f.set_language("en");
  return f;
}

// Hands `to` every op of `circle` that `from` holds and `to` lacks, as a sync session would.
inline Result<Archive::ReceiveReport> Deliver(Archive& from, Archive& to,
                                              const std::string& circle) {
  auto theirs = to.log().GetVersionVector(log::Scope::Circle(circle));
  log::VersionVector vv = theirs.ok() ? *theirs : log::VersionVector{};
  ESTELIK_ASSIGN_OR_RETURN(auto ops, from.log().OpsAfter(vv, log::Scope::Circle(circle), 100000));
  return to.ReceiveOps(circle, ops);
}

// Copies every chunk `to` is missing of `circle`'s attachments from `from`.
inline void DeliverChunks(Archive& from, Archive& to, const std::string& circle) {
  auto wanted = to.CircleAttachments(circle);
  ASSERT_TRUE(wanted.ok()) << wanted.status().ToString();
  for (const auto& info : *wanted) {
    auto missing = to.store().MissingChunks(info.attachment_id());
    ASSERT_TRUE(missing.ok());
    for (uint64_t i : *missing) {
      auto sealed = from.store().GetSealedChunk(info.attachment_id(), i);
      ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
      ASSERT_TRUE(to.store().PutChunk(info.attachment_id(), i, *sealed).ok());
    }
  }
}

}  // namespace estelik::archive::testing
