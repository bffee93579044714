// Terminal interaction for the CLI: passphrases without echo, confirmations, progress bars.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace estelik::cli {

// The passphrase from ESTELIK_PASSPHRASE if set, else asked on the terminal (/dev/tty)
// without echo. kInvalidArgument if neither is possible (no terminal, e.g. in a script).
Result<std::string> ReadPassphrase(const std::string& prompt);

// Asks for a new passphrase twice (or reads `env_var` if set) and checks both agree.
Result<std::string> ReadNewPassphrase(const std::string& prompt, const char* env_var);

// A one-line progress bar on stderr, drawn only when stderr is a terminal.
class ProgressBar {
 public:
  ProgressBar(std::string label, uint64_t total);
  ~ProgressBar();
  void Update(uint64_t done);
  void Finish();

 private:
  std::string label_;
  uint64_t total_;
  bool enabled_;
  bool finished_ = false;
  int last_percent_ = -1;
};

}  // namespace estelik::cli
