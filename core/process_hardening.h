// Keeping a process that holds a vault's plaintext and keys out of what the OS writes about it
// when it crashes. Called by every shell that opens a vault: the CLI at start, the C API when a
// vault is created or opened (docs/C_API.md "Process hardening").
#pragma once

#include "core/status.h"

namespace estelik {

// Turns core dumps off for the whole process, for good (idempotent, thread-safe):
//   - RLIMIT_CORE soft and hard limits to 0: no core file, and neither the process nor a child
//     it starts can raise the limit again (POSIX: Linux, Android, macOS, iOS);
//   - on Linux and Android, PR_SET_DUMPABLE 0: no core even through a core_pattern pipe
//     (systemd-coredump, apport), no ptrace attach by other processes of the same user, and
//     /proc/<pid>/environ, mem and maps readable only with CAP_SYS_PTRACE. It stays 0 for the
//     life of the process (execve of a set-uid binary aside).
// macOS has no dumpable flag: the rlimit is what stops /cores/core.<pid>. On iOS the OS writes
// no core files for apps; crash reports hold stacks and registers, not the heap.
// kIoError naming the call that failed; the caller should then refuse to open the vault.
Status DisableCoreDumps();

}  // namespace estelik
