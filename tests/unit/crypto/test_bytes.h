// Small helpers shared by the crypto tests.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"

namespace estelik::crypto {

inline std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

inline std::vector<uint8_t> FromHex(std::string_view hex) {
  std::string bytes;
  if (!ParseHex(hex, &bytes)) return {};
  return {bytes.begin(), bytes.end()};
}

}  // namespace estelik::crypto
