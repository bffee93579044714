// Re-keys a vault and, at one step of the re-key, says so on stdout and waits to be killed:
// the crash test's way to stop a real process at each point (tests/integration/rekey_crash_test).
//
// usage: vault_rekey_stepper DIR STEP
//   ESTELIK_PASSPHRASE the current passphrase, ESTELIK_NEW_PASSPHRASE the new one (optional).
//   STEP is a vault::testing::RekeyStep (1..7); at it the tool prints "step STEP" and pauses.
//   Otherwise it prints "done" (exit 0) or the error (exit 1).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/archive/archive.h"
#include "core/vault/rekey_testing.h"

namespace {

int g_stop_at = 0;

void StopHere(estelik::vault::testing::RekeyStep step) {
  if (static_cast<int>(step) != g_stop_at) return;
  std::printf("step %d\n", g_stop_at);
  std::fflush(stdout);
  for (;;) ::pause();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: vault_rekey_stepper DIR STEP\n");
    return 2;
  }
  g_stop_at = std::atoi(argv[2]);
  const char* pass = std::getenv("ESTELIK_PASSPHRASE");
  const char* new_pass = std::getenv("ESTELIK_NEW_PASSPHRASE");
  if (pass == nullptr) return 2;
  estelik::vault::testing::SetRekeyStepHookForTesting(StopHere);
  auto archive = estelik::archive::Archive::Open(argv[1], pass);
  if (!archive.ok()) {
    std::printf("error %s\n", archive.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<estelik::archive::Archive> opened = std::move(archive).value();
  estelik::Status s =
      estelik::archive::Archive::Rekey(opened, pass, new_pass != nullptr ? new_pass : "");
  std::printf("%s\n", s.ok() ? "done" : ("error " + s.ToString()).c_str());
  return s.ok() ? 0 : 1;
}
