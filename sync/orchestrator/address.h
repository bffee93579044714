// HOST:PORT, the address form every sync shell takes (`estelik serve --listen`, `estelik sync`,
// estelik_sync_listen/dial/once).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace estelik::sync {

struct HostPort {
  std::string host;  // a name or IP literal; IPv6 without brackets ("::1")
  uint16_t port = 0;
};

// Parses "HOST:PORT"; an IPv6 literal is bracketed ("[::1]:7420" gives host "::1"). The port is
// decimal digits, 1-65535, or also 0 where `allow_zero` (listening on an ephemeral port).
// kInvalidArgument "expected HOST:PORT, e.g. 127.0.0.1:7420; got 'TEXT'" when the host or the
// port is missing, "bad port in 'TEXT'" when the port is not such a number.
Result<HostPort> ParseHostPort(std::string_view text, bool allow_zero = false);

// "HOST:PORT" again, an IPv6 literal bracketed: what ParseHostPort parses back.
std::string FormatHostPort(const HostPort& address);

}  // namespace estelik::sync
