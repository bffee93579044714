// vault.guard, version 1 (docs/FORMAT.md, "vault.key" / "vault.guard"). Integers little-endian.
//
//   offset size  field
//        0    7  magic "ESTLGRD"
//        7    1  version = 1
//        8    4  limit: wipe at this many consecutive wrong passphrases (0 = off, <= 1000)
//       12    4  failures: consecutive wrong passphrases, counting an attempt in progress
//       16   16  reserved, zero
//       32       end of file
//
// Crash safety. The count is raised and fsync'ed before Argon2id starts, and lowered only
// after the outcome is known, so whatever instant the process dies at (power cut, kill -9 by
// someone who wants unlimited guesses), the attempt has already been counted. The cost of that
// order is benign: a correct passphrase interrupted by a crash leaves one extra count, which
// the next correct unlock clears. Every write is one 32-byte pwrite at offset 0 (inside one
// 512-byte sector, so applied whole in practice) followed by fdatasync. Attempts from several
// processes are serialized by flock on the file, so no two read the same count.
#include "core/vault/unlock_guard.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace estelik::vault {
namespace {

namespace fs = std::filesystem;

constexpr std::array<uint8_t, 7> kMagic = {'E', 'S', 'T', 'L', 'G', 'R', 'D'};
constexpr uint8_t kVersion = 1;
constexpr size_t kLimitOffset = 8;
constexpr size_t kFailuresOffset = 12;
constexpr size_t kReservedOffset = 16;
constexpr size_t kGuardFileSize = 32;
using GuardBytes = std::array<uint8_t, kGuardFileSize>;

std::string GuardPath(const std::string& dir) { return (fs::path(dir) / kGuardFileName).string(); }

void PutU32(uint8_t* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t GetU32(const uint8_t* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{in[i]} << (8 * i);
  return v;
}

GuardBytes Encode(const UnlockGuardState& state) {
  GuardBytes b{};
  std::memcpy(b.data(), kMagic.data(), kMagic.size());
  b[kMagic.size()] = kVersion;
  PutU32(&b[kLimitOffset], state.limit);
  PutU32(&b[kFailuresOffset], state.failures);
  return b;
}

enum class Parsed { kOk, kDamaged, kNewer };

// Reads the whole file from `fd`. Anything but a well-formed version-1 file is "damaged".
Parsed ReadState(int fd, UnlockGuardState& state) {
  std::array<uint8_t, kGuardFileSize + 1> buf{};
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  if (got != kGuardFileSize || std::memcmp(buf.data(), kMagic.data(), kMagic.size()) != 0) {
    return Parsed::kDamaged;
  }
  if (buf[kMagic.size()] > kVersion) return Parsed::kNewer;
  if (buf[kMagic.size()] != kVersion) return Parsed::kDamaged;
  for (size_t i = kReservedOffset; i < kGuardFileSize; ++i) {
    if (buf[i] != 0) return Parsed::kDamaged;
  }
  state.limit = GetU32(&buf[kLimitOffset]);
  state.failures = GetU32(&buf[kFailuresOffset]);
  if (state.limit > kMaxUnlockGuardLimit) return Parsed::kDamaged;
  return Parsed::kOk;
}

Status WriteState(int fd, const std::string& path, const UnlockGuardState& state) {
  GuardBytes bytes = Encode(state);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoError("cannot write " + path + ": " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd) != 0) return IoError("cannot sync " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open directory " + dir + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return IoError("cannot sync directory " + dir + ": " + std::strerror(err));
  return Status::Ok();
}

bool IsReadOnlyError(int err) { return err == EROFS || err == EACCES || err == EPERM; }

}  // namespace

Status UnlockGuard::Create(const std::string& dir) {
  const std::string path = GuardPath(dir);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return AlreadyExists("a guard file already exists at " + path);
    return IoError("cannot create " + path + ": " + std::strerror(errno));
  }
  // A crash before the write completes leaves a short file, which Begin reads as damaged and
  // rewrites with the rule off: what a new file would have said anyway.
  Status s = WriteState(fd, path, UnlockGuardState{});
  ::close(fd);
  ESTELIK_RETURN_IF_ERROR(s);
  return FsyncDir(dir);
}

UnlockGuardState UnlockGuard::Read(const std::string& dir) {
  UnlockGuardState state;
  int fd = ::open(GuardPath(dir).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return state;
  if (ReadState(fd, state) != Parsed::kOk) state = UnlockGuardState{};
  ::close(fd);
  return state;
}

Status UnlockGuard::SetLimit(const std::string& dir, uint32_t limit) {
  if (limit > kMaxUnlockGuardLimit) {
    return InvalidArgument("the failed-unlock limit must be at most " +
                           std::to_string(kMaxUnlockGuardLimit) + " (0 turns it off), not " +
                           std::to_string(limit));
  }
  ESTELIK_ASSIGN_OR_RETURN(UnlockGuard guard, Begin(dir));
  if (guard.fd_ < 0) {
    return IoError("cannot write " + GuardPath(dir) + ": the vault folder is read-only");
  }
  guard.state_ = UnlockGuardState{limit, 0};
  return guard.Store();
}

Result<UnlockGuard> UnlockGuard::Begin(const std::string& dir) {
  const std::string path = GuardPath(dir);
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    // A vault made before the guard existed (or whose guard file was deleted): give it one,
    // so every vault looks alike. Losing a creation race to another opener is fine.
    // If it cannot be made (read-only medium), there is no file and so no limit to enforce.
    Status created = Create(dir);
    if (!created.ok() && created.code() != Code::kAlreadyExists) return UnlockGuard(-1, {});
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  }
  if (fd < 0) {
    int err = errno;
    // Read-only medium: fine as long as no limit is set; with a limit, refusing is the only
    // way not to hand out uncounted guesses.
    if (IsReadOnlyError(err) && Read(dir).limit == 0) return UnlockGuard(-1, {});
    return IoError("cannot open " + path + " to count the unlock attempt: " + std::strerror(err));
  }
  UnlockGuard guard(fd, {});
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) return IoError("cannot lock " + path + ": " + std::strerror(errno));
  }
  switch (ReadState(fd, guard.state_)) {
    case Parsed::kOk:
      break;
    case Parsed::kNewer:
      return Unsupported(path + " was written by a newer Estelik; upgrade Estelik");
    case Parsed::kDamaged:
      // Nothing better to restore: the limit was readable by anyone with the files anyway, and
      // refusing to open would lock the owner out of their testimony over a 32-byte file.
      guard.state_ = UnlockGuardState{};
      if (::ftruncate(fd, kGuardFileSize) != 0) {
        return IoError("cannot repair " + path + ": " + std::strerror(errno));
      }
      ESTELIK_RETURN_IF_ERROR(guard.Store());
      break;
  }
  return guard;
}

UnlockGuard::UnlockGuard(UnlockGuard&& other) noexcept : fd_(other.fd_), state_(other.state_) {
  other.fd_ = -1;
}

UnlockGuard::~UnlockGuard() {
  if (fd_ >= 0) ::close(fd_);  // also releases the flock
}

Status UnlockGuard::Store() {
  if (fd_ < 0) return Status::Ok();
  return WriteState(fd_, kGuardFileName, state_);
}

Status UnlockGuard::RecordAttempt() {
  if (state_.failures < UINT32_MAX) ++state_.failures;
  return Store();
}

Status UnlockGuard::RecordSuccess() {
  state_.failures = 0;
  return Store();
}

void UnlockGuard::ForgetAttempt() {
  if (state_.failures > 0) --state_.failures;
  (void)Store();  // if this fails, one extra count remains: the safe direction
}

}  // namespace estelik::vault
