// Bytes as text and text as bytes: the one hex spelling the engine writes (lower case, two
// digits a byte) in messages, file names, JSON and reports, and its strict parser; and the one
// human-readable size.
//
// Thread safety: every function is pure and thread-safe. Errors: ParseHex returns false on
// anything but lower-case hex of even length, and then leaves *out unspecified.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace estelik {

// The bytes of `s` (a std::string holds binary ids, keys and hashes throughout the engine).
// The span borrows `s`'s storage.
inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Lower-case hex of `bytes`: two digits a byte, no separators.
std::string Hex(std::span<const uint8_t> bytes);
inline std::string Hex(std::string_view bytes) { return Hex(AsBytes(bytes)); }

// The bytes `hex` spells, into *out. Lower case only (one spelling per value), even length.
bool ParseHex(std::string_view hex, std::string* out);
// The same for text a person typed or pasted: upper-case digits are accepted too.
bool ParseHexIgnoringCase(std::string_view hex, std::string* out);

// True iff `s` is non-empty lower-case hex (of any length: an id prefix may be odd).
bool IsLowerHex(std::string_view s);

// Strict UTF-8 (what proto3 string fields require): no overlong forms, no surrogates,
// nothing above U+10FFFF.
bool IsUtf8(std::string_view s);

// A size as people read it, in binary units: "999 B", "12.1 KiB", "5.3 MiB", "1.0 GiB". The one
// formatter for the CLI and for log lines.
std::string HumanSize(uint64_t bytes);

}  // namespace estelik
