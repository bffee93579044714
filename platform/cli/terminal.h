// Terminal interaction for the CLI: passphrases without echo, confirmations, progress bars.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace estelik::cli {

// The environment variables that may carry a secret: ESTELIK_PASSPHRASE, ESTELIK_NEW_PASSPHRASE,
// ESTELIK_DURESS_PASSPHRASE and ESTELIK_NETWORK_KEY.
inline constexpr const char* kSecretVariables[] = {"ESTELIK_PASSPHRASE", "ESTELIK_NEW_PASSPHRASE",
                                                   "ESTELIK_DURESS_PASSPHRASE",
                                                   "ESTELIK_NETWORK_KEY"};

// Moves every variable of kSecretVariables that is set into this process's memory, overwrites
// its value where the environment keeps it (the block /proc/<pid>/environ shows) and removes
// it from the environment, so neither that file nor a child process sees it. Call first thing
// in main, before any thread starts.
void TakeSecretsFromEnvironment();

// The value of `name` (one of kSecretVariables) as TakeSecretsFromEnvironment took it, or null
// if it was not set.
const std::string* EnvironmentSecret(const char* name);

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
