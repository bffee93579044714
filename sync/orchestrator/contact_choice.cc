#include "sync/orchestrator/contact_choice.h"

#include <algorithm>
#include <cctype>

#include "core/bytes.h"

namespace estelik::sync {

std::vector<net::ContactKey> MatchContacts(const std::vector<log::Contact>& contacts,
                                           const std::string& text) {
  std::vector<net::ContactKey> out;
  for (const log::Contact& c : contacts) {
    if (c.name == text) out.push_back(c.public_key);
  }
  if (!out.empty()) return out;
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!IsLowerHex(lower)) return out;
  for (const log::Contact& c : contacts) {
    const std::string key_hex = Hex(c.public_key);
    if (lower.size() == key_hex.size() ? key_hex == lower
                                       : lower.size() >= 4 && key_hex.rfind(lower, 0) == 0) {
      out.push_back(c.public_key);
    }
  }
  return out;
}

std::vector<net::ContactKey> DialOrder(std::vector<net::ContactKey> candidates,
                                       const std::optional<net::ContactKey>& last_answered) {
  if (!last_answered) return candidates;
  auto at = std::find(candidates.begin(), candidates.end(), *last_answered);
  if (at != candidates.end()) std::rotate(candidates.begin(), at, at + 1);
  return candidates;
}

}  // namespace estelik::sync
