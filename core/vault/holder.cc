#include "core/vault/holder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace estelik::vault {
namespace {

namespace fs = std::filesystem;

}  // namespace

std::optional<uint64_t> ProcessStartTime(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  // Field 2 (the command name) is in parentheses and may hold spaces or ')': skip to the last
  // ')', after which fields are plain. Field 22 is the start time, 20 fields after the ')'.
  size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return std::nullopt;
  }
  try {
    return std::stoull(field);
  } catch (...) {
    return std::nullopt;
  }
}

std::vector<HolderRecord> ListHolders(const std::string& dir) {
  std::vector<HolderRecord> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(kHolderFilePrefix, 0) != 0) continue;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) continue;  // being made
    HolderRecord record;
    record.path = it->path().string();
    std::ifstream in(record.path);
    long long pid = 0;
    unsigned long long start = 0;
    if (in >> pid >> start && pid > 0 &&
        name == kHolderFilePrefix + std::to_string(pid)) {  // the name must agree
      record.pid = static_cast<pid_t>(pid);
      record.start_time = start;
    }
    out.push_back(std::move(record));
  }
  return out;
}

bool HolderIsAlive(const HolderRecord& record) {
  if (record.pid <= 0) return false;
  std::optional<uint64_t> start = ProcessStartTime(record.pid);
  return start && *start == record.start_time;
}

Result<HolderRegistration> HolderRegistration::Register(const std::string& dir) {
  const pid_t pid = ::getpid();
  std::optional<uint64_t> start = ProcessStartTime(pid);
  if (!start) return IoError("cannot read this process's start time from /proc");
  const std::string path = (fs::path(dir) / (kHolderFilePrefix + std::to_string(pid))).string();
  const std::string tmp = path + ".tmp";
  const std::string text = std::to_string(pid) + " " + std::to_string(*start) + "\n";
  // Written aside and renamed, so a locker never reads half a line.
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return IoError("cannot register in " + dir + ": " + std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return IoError("cannot register in " + dir + ": " + std::strerror(err));
  }
  return HolderRegistration(path);
}

HolderRegistration::~HolderRegistration() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

}  // namespace estelik::vault
