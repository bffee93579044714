// TempDir: a fresh directory under $TMPDIR (or /tmp) removed with everything in it on
// destruction. Tests use real files in it, never mocks of the file system.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace estelik::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // path() / name, as a string.
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Every regular file under `root` (recursively).
std::vector<std::filesystem::path> ListFiles(const std::filesystem::path& root);

// Reads a whole file; empty on error.
std::string ReadFileBytes(const std::filesystem::path& path);

}  // namespace estelik::testing
