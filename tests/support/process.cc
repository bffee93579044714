#include "tests/support/process.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

namespace estelik::testing {
namespace {

// In the child: `fd`, or /dev/null when -1, becomes descriptor `target`.
void Redirect(int fd, int target, int null_flags) {
  if (fd < 0) fd = ::open("/dev/null", null_flags);
  if (fd >= 0 && fd != target) ::dup2(fd, target);
}

}  // namespace

pid_t SpawnProcess(const std::vector<std::string>& argv, const ChildIo& io,
                   const std::vector<std::pair<std::string, std::string>>& env,
                   const ChildPlace& place) {
  // Everything the child needs is built before fork: only async-signal-safe calls after it.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  Redirect(io.in, STDIN_FILENO, O_RDONLY);
  Redirect(io.out, STDOUT_FILENO, O_WRONLY);
  Redirect(io.err, STDERR_FILENO, O_WRONLY);
  for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
  if (!place.cwd.empty() && ::chdir(place.cwd.c_str()) != 0) ::_exit(127);
  if (place.uid >= 0) {
    const auto id = static_cast<uid_t>(place.uid);
    if (::setgroups(0, nullptr) != 0 || ::setgid(id) != 0 || ::setuid(id) != 0) ::_exit(127);
  }
  ::execv(args[0], args.data());
  ::_exit(127);
}

int WaitExit(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace estelik::testing
