#include "core/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace estelik {
namespace {

std::string Reason() { return std::strerror(errno); }

}  // namespace

Status CreatePrivateDirectory(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0) {
    if (errno == EEXIST) return AlreadyExists(path + " already exists");
    return IoError("cannot create " + path + ": " + Reason());
  }
  // mkdir applied the umask, which can only have removed bits; set exactly 0700.
  if (::chmod(path.c_str(), 0700) != 0) {
    return IoError("cannot make " + path + " private: " + Reason());
  }
  return Status::Ok();
}

Result<PrivateFile> PrivateFile::Create(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                        S_IRUSR | S_IWUSR);
  if (fd < 0) return IoError("cannot write " + path + ": " + Reason());
  PrivateFile file(fd, path);
  // An existing file keeps its mode through O_TRUNC, and a new one got 0600 minus the umask.
  if (::fchmod(fd, S_IRUSR | S_IWUSR) != 0) {
    return IoError("cannot make " + path + " private: " + Reason());
  }
  return file;
}

PrivateFile::PrivateFile(PrivateFile&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

PrivateFile::~PrivateFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status PrivateFile::Write(std::span<const uint8_t> bytes) {
  if (fd_ < 0) return Internal("write to a closed file " + path_);
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("error writing " + path_ + ": " + Reason());
    }
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status PrivateFile::Close() {
  if (fd_ < 0) return Status::Ok();
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return IoError("error writing " + path_ + ": " + Reason());
  return Status::Ok();
}

}  // namespace estelik
