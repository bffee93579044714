#include "tests/support/damage.h"

#include <cstdlib>
#include <fstream>

namespace estelik::testing {

std::string FlipPages(const std::string& path, const std::set<uint32_t>& pages) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  if (!f) return "cannot open " + path;
  for (uint32_t page : pages) {
    if (page == 0) return "pages are numbered from 1";
    const std::streamoff at =
        static_cast<std::streamoff>((page - 1) * kStorePageBytes + kStorePageBytes / 2);
    f.seekg(at);
    char c = 0;
    if (!f.get(c)) return path + " has no page " + std::to_string(page);
    f.seekp(at);
    f.put(static_cast<char>(c ^ 0x40));
  }
  f.flush();
  return f ? "" : "cannot write " + path;
}

uint32_t DamagedPageNamed(const std::string& message) {
  const std::string prefix = "vault is corrupt or tampered: store.db page ";
  size_t at = message.find(prefix);
  if (at == std::string::npos) return 0;
  return static_cast<uint32_t>(std::strtoul(message.c_str() + at + prefix.size(), nullptr, 10));
}

}  // namespace estelik::testing
