#include "sync/orchestrator/address.h"

namespace estelik::sync {

Result<HostPort> ParseHostPort(std::string_view text, bool allow_zero) {
  const std::string s(text);
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) {
    return InvalidArgument("expected HOST:PORT, e.g. 127.0.0.1:7420; got '" + s + "'");
  }
  HostPort out;
  out.host = s.substr(0, colon);
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  uint32_t port = 0;
  for (size_t i = colon + 1; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9' || port > 65535) return InvalidArgument("bad port in '" + s + "'");
    port = port * 10 + static_cast<uint32_t>(s[i] - '0');
  }
  if (port > 65535 || (port == 0 && !allow_zero)) {
    return InvalidArgument("bad port in '" + s + "'");
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

std::string FormatHostPort(const HostPort& address) {
  const bool v6 = address.host.find(':') != std::string::npos;
  return (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

}  // namespace estelik::sync
