#include "core/bytes.h"

namespace estelik {
namespace {

constexpr char kDigits[] = "0123456789abcdef";

int DigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::string Hex(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

bool ParseHex(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  out->assign(hex.size() / 2, '\0');
  for (size_t i = 0; i < hex.size(); i += 2) {
    int high = DigitValue(hex[i]);
    int low = DigitValue(hex[i + 1]);
    if (high < 0 || low < 0) return false;
    (*out)[i / 2] = static_cast<char>(high << 4 | low);
  }
  return true;
}

bool ParseHexIgnoringCase(std::string_view hex, std::string* out) {
  std::string lower(hex);
  for (char& c : lower) c = AsciiLower(c);
  return ParseHex(lower, out);
}

bool IsLowerHex(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (DigitValue(c) < 0) return false;
  }
  return true;
}

}  // namespace estelik
