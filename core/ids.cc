#include "core/ids.h"

#include <algorithm>

#include "core/bytes.h"

namespace estelik {

std::string ShortId(std::string_view id) { return Hex(id.substr(0, kShortIdBytes)); }

std::string ShortId(std::span<const uint8_t> id) {
  return Hex(id.first(std::min(id.size(), kShortIdBytes)));
}

Status CheckIdSize(std::string_view bytes, size_t size, const char* what) {
  if (bytes.size() == size) return Status::Ok();
  return InvalidArgument(std::string(what) + " must be " + std::to_string(size) + " bytes, got " +
                         std::to_string(bytes.size()));
}

}  // namespace estelik
