// Running a shell command from a test and collecting what it printed (tests that drive the
// real `estelik` binary or the stock sqlite3 shell).
#pragma once

#include <string>

namespace estelik::testing {

struct CommandRun {
  int exit_code = -1;  // -1 if it could not run or did not exit normally
  std::string out;     // stdout (and stderr, if the command redirects it there)
};

// `s` single-quoted for /bin/sh.
std::string ShellQuote(const std::string& s);

// Runs `command` with /bin/sh (popen) and waits for it.
CommandRun RunCommand(const std::string& command);

}  // namespace estelik::testing
