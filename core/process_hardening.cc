#include "core/process_hardening.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

#if defined(__linux__)
#include <sys/prctl.h>
#endif

namespace estelik {

Status DisableCoreDumps() {
  const rlimit none{0, 0};
  if (::setrlimit(RLIMIT_CORE, &none) != 0) {
    return IoError(std::string("cannot turn core dumps off: setrlimit(RLIMIT_CORE): ") +
                   std::strerror(errno));
  }
#if defined(__linux__)
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return IoError(std::string("cannot turn core dumps off: prctl(PR_SET_DUMPABLE): ") +
                   std::strerror(errno));
  }
#endif
  return Status::Ok();
}

}  // namespace estelik
