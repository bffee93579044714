// Starting a real child process from a test (the estelik CLI, tools/sync_node): the one
// fork/exec of the test suite. Tests that only need a command's output use RunCommand
// (command.h) instead.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace estelik::testing {

// Where a child's standard streams go: an open descriptor of the parent, or -1 for /dev/null.
// The descriptors stay the caller's to close; create pipes with O_CLOEXEC so that the child
// holds only the ends it was given.
struct ChildIo {
  int in = -1;
  int out = -1;
  int err = -1;
};

// Where and as whom a child runs: `cwd` (empty: the parent's), and `uid` (-1: the parent's; else
// the child drops to that user and group, which needs root).
struct ChildPlace {
  std::string cwd;
  int uid = -1;
};

// Forks and execs `argv[0]` (a path, not searched in PATH) with arguments `argv`, streams `io`
// and `env` added to (or replacing in) the environment, in `place`. Returns the child's pid, or
// -1 if fork failed; a child that cannot exec (or chdir, or change user) exits 127.
pid_t SpawnProcess(const std::vector<std::string>& argv, const ChildIo& io,
                   const std::vector<std::pair<std::string, std::string>>& env = {},
                   const ChildPlace& place = {});

// Waits for `pid` and returns its exit code, or 128 + the signal that ended it.
int WaitExit(pid_t pid);

}  // namespace estelik::testing
