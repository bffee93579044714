// Files and folders only their owner can read, whatever the umask: what the engine writes
// outside the vault in clear (evidence bundles, extracted attachments) is 0600, its folders
// 0700, so other users of the machine cannot read a testimony a survivor exported.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/status.h"

namespace estelik {

// Creates the directory `path`, mode 0700 whatever the umask. kAlreadyExists if something is
// already there; kIoError (with the reason) otherwise.
Status CreatePrivateDirectory(const std::string& path);

// A file open for writing, mode 0600 whatever the umask. An existing file is truncated and its
// mode set to 0600; a symbolic link at `path` is refused. Move-only; the destructor closes it
// (Close() reports the errors a close can reveal).
class PrivateFile {
 public:
  static Result<PrivateFile> Create(const std::string& path);
  PrivateFile(PrivateFile&& other) noexcept;
  PrivateFile& operator=(PrivateFile&&) = delete;
  PrivateFile(const PrivateFile&) = delete;
  ~PrivateFile();

  // Writes all of `bytes` (kIoError "error writing PATH: reason" otherwise).
  Status Write(std::span<const uint8_t> bytes);
  Status Close();

 private:
  PrivateFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

}  // namespace estelik
