// Holder files: how a long-running process that keeps a vault unlocked (`estelik serve`,
// `estelik sync --watch`) lets `estelik lock` and `estelik wipe` find it and make it drop its
// keys without a passphrase.
//
// A holder writes `vault.holder.<pid>` into the vault folder, containing "<pid> <start>\n"
// (decimal; <start> is the process start time from /proc/<pid>/stat, field 22), nothing
// secret, and removes it once its keys are wiped. The start time lets a locker tell the
// registered process from a later, unrelated one that reuses its pid. A crashed holder leaves
// its file behind; ListHolders reports it and a locker removes it once it sees the process is
// gone.
//
// Thread safety: free functions are safe to call concurrently; a registration is owned by one
// thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace estelik::vault {

inline constexpr char kHolderFilePrefix[] = "vault.holder.";

struct HolderRecord {
  pid_t pid = 0;
  uint64_t start_time = 0;  // clock ticks after boot, as in /proc/<pid>/stat
  std::string path;         // the holder file
};

// The start time of process `pid`, or nullopt if it does not exist (or /proc is unreadable).
std::optional<uint64_t> ProcessStartTime(pid_t pid);

// Every holder file in `dir` (well-formed or not: a malformed one has pid 0). Empty if none.
std::vector<HolderRecord> ListHolders(const std::string& dir);

// True if `record` names a process that is alive and is the one that wrote the file.
bool HolderIsAlive(const HolderRecord& record);

// This process's registration as a holder of the vault in `dir`; the file goes when the
// registration is destroyed. Destroy it only after the keys are wiped: its disappearance is
// the lock's confirmation.
class HolderRegistration {
 public:
  // kIo if the file cannot be written (then nobody could lock this process: callers refuse to
  // run rather than hold keys out of reach of `estelik lock`).
  static Result<HolderRegistration> Register(const std::string& dir);
  HolderRegistration(HolderRegistration&& other) noexcept : path_(std::move(other.path_)) {
    other.path_.clear();
  }
  HolderRegistration& operator=(HolderRegistration&&) = delete;
  HolderRegistration(const HolderRegistration&) = delete;
  ~HolderRegistration();

  const std::string& path() const { return path_; }

 private:
  explicit HolderRegistration(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace estelik::vault
