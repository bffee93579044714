// ArchiveBackDoor: the one way past the Archive facade to the Vault, Store and OpLog it owns.
//
// For core/evidence (which reads signed ops and streams attachments by id), tests, tools and
// benchmarks only: raw database handles, ops appended or read directly, clocks of their own.
// Never for shells (platform/) or sync (sync/): what they need is a method of Archive, and
// scripts/check-layers fails if either includes this header.
//
// What is changed through the door bypasses the Archive's rules (one transaction per action,
// every change a signed op applied to the store); the caller keeps them or means to break them.
#pragma once

#include "core/archive/archive.h"

namespace estelik::archive {

class ArchiveBackDoor {
 public:
  static vault::Vault& vault(Archive& archive) { return archive.vault(); }
  static store::Store& store(Archive& archive) { return archive.store(); }
  static log::OpLog& log(Archive& archive) { return archive.log(); }
};

}  // namespace estelik::archive
