#include "core/archive/text_delta.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "core/bytes.h"
#include "core/crypto/hash.h"

namespace estelik::archive {
namespace {

bool IsContinuation(char c) { return (static_cast<uint8_t>(c) & 0xC0) == 0x80; }

std::string HashOf(std::string_view text) {
  crypto::Hash256 h = crypto::Blake2b256(text);
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const uint8_t c = static_cast<uint8_t>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      cp = c & 0x07;
    } else {
      return false;  // a continuation byte first, or an overlong two-byte lead (C0, C1)
    }
    if (text.size() - i < n) return false;
    for (size_t k = 1; k < n; ++k) {
      if (!IsContinuation(text[i + k])) return false;
      cp = (cp << 6) | (static_cast<uint8_t>(text[i + k]) & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

std::optional<pb::TextDelta> MakeTextDelta(std::string_view base, std::string_view body) {
  if (!IsValidUtf8(base) || !IsValidUtf8(body)) return std::nullopt;
  const size_t limit = std::min(base.size(), body.size());
  size_t prefix = 0;
  while (prefix < limit && base[prefix] == body[prefix]) ++prefix;
  // Both texts share [0, prefix), so a position before `prefix` is a boundary in both or in
  // neither; step back until `prefix` is a boundary of each (never inside a code point).
  while (prefix > 0 && ((prefix < base.size() && IsContinuation(base[prefix])) ||
                        (prefix < body.size() && IsContinuation(body[prefix])))) {
    --prefix;
  }
  size_t suffix = 0;
  while (suffix < limit - prefix &&
         base[base.size() - 1 - suffix] == body[body.size() - 1 - suffix]) {
    ++suffix;
  }
  // The suffix starts on the same byte in both: shrink it until that byte starts a code point.
  while (suffix > 0 && IsContinuation(base[base.size() - suffix])) --suffix;
  std::string_view insert = body.substr(prefix, body.size() - prefix - suffix);
  if (insert.size() + kTextDeltaOverhead >= body.size()) return std::nullopt;
  pb::TextDelta delta;
  delta.set_keep_prefix(static_cast<uint32_t>(prefix));
  delta.set_keep_suffix(static_cast<uint32_t>(suffix));
  delta.set_insert(std::string(insert));
  delta.set_base_body_hash(HashOf(base));
  return delta;
}

Result<std::string> ApplyTextDelta(std::string_view base, const pb::TextDelta& delta) {
  if (delta.base_body_hash().size() != crypto::kHashSize) {
    return Corrupt("the delta has no 32-byte base body hash");
  }
  if (delta.base_body_hash() != HashOf(base)) {
    return Corrupt("the base body's BLAKE2b-256 differs from the one the delta names");
  }
  const uint64_t kept = uint64_t{delta.keep_prefix()} + delta.keep_suffix();
  if (kept > base.size()) {
    return Corrupt("it keeps " + std::to_string(delta.keep_prefix()) + " + " +
                   std::to_string(delta.keep_suffix()) + " bytes of a " +
                   std::to_string(base.size()) + "-byte base");
  }
  std::string out;
  out.reserve(static_cast<size_t>(kept) + delta.insert().size());
  out.append(base.substr(0, delta.keep_prefix()));
  out.append(delta.insert());
  out.append(base.substr(base.size() - delta.keep_suffix()));
  if (!IsValidUtf8(out)) return Corrupt("the resulting body is not valid UTF-8");
  return out;
}

Result<pb::TestimonyFields> ResolveEditFields(const pb::TestimonyEdit& edit,
                                              std::string_view base_body) {
  if (!edit.has_body_delta()) return edit.fields();
  const std::string what = "edit of testimony " + Hex(edit.testimony_id());
  if (edit.base_op().size() != crypto::kHashSize) {
    return Corrupt(what + " carries a text delta but does not name the op it was made from");
  }
  if (!edit.fields().body().empty()) {
    return Corrupt(what + " carries both a body and a text delta");
  }
  Result<std::string> body = ApplyTextDelta(base_body, edit.body_delta());
  if (!body.ok()) {
    return Corrupt(what + ": its text delta does not apply to the version it was made from (" +
                   body.status().message() + ")");
  }
  pb::TestimonyFields fields = edit.fields();
  fields.set_body(*std::move(body));
  return fields;
}

}  // namespace estelik::archive
