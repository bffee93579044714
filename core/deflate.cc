#include "core/deflate.h"

#include <string.h>  // explicit_bzero
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace estelik {
namespace {

constexpr int kRawWindowBits = -15;  // negative: raw DEFLATE, 32 KiB window

Bytef* In(std::string_view s) { return reinterpret_cast<Bytef*>(const_cast<char*>(s.data())); }

// zlib's window and tables hold plaintext (op bodies): every block it frees is wiped first.
// Each block starts with its size, so the free function knows how much to wipe.
constexpr size_t kHeader = alignof(std::max_align_t);

voidpf WipingAlloc(voidpf, uInt items, uInt size) {
  const size_t n = static_cast<size_t>(items) * size;
  auto* block = static_cast<unsigned char*>(std::malloc(kHeader + n));
  if (block == nullptr) return Z_NULL;
  std::memcpy(block, &n, sizeof n);
  return block + kHeader;
}

void WipingFree(voidpf, voidpf address) {
  if (address == Z_NULL) return;
  auto* block = static_cast<unsigned char*>(address) - kHeader;
  size_t n = 0;
  std::memcpy(&n, block, sizeof n);
  explicit_bzero(block, kHeader + n);
  std::free(block);
}

z_stream NewStream() {
  z_stream z{};
  z.zalloc = WipingAlloc;
  z.zfree = WipingFree;
  return z;
}

void Wipe(std::string& s) { explicit_bzero(s.data(), s.size()); }

}  // namespace

std::string DeflateRaw(std::string_view input, int level) {
  z_stream z = NewStream();
  // Only Z_MEM_ERROR can fail these calls; running out of memory is fatal everywhere else too.
  if (deflateInit2(&z, std::clamp(level, 1, 9), Z_DEFLATED, kRawWindowBits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    std::abort();
  }
  std::string out(deflateBound(&z, static_cast<uLong>(input.size())), '\0');
  z.next_in = In(input);
  z.avail_in = static_cast<uInt>(input.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) std::abort();  // deflateBound guarantees room
  return out;
}

Result<std::string> InflateRaw(std::string_view input, size_t max_output, std::string_view what) {
  if (input.size() > std::numeric_limits<uInt>::max()) {
    return LimitExceeded(std::string(what) + " is too large to inflate");
  }
  z_stream z = NewStream();
  if (inflateInit2(&z, kRawWindowBits) != Z_OK) std::abort();
  z.next_in = In(input);
  z.avail_in = static_cast<uInt>(input.size());
  std::string out;
  // Grow geometrically, never past max_output + 1: one byte more than allowed proves the
  // stream is too large without inflating the rest of it.
  const size_t cap = max_output + 1;
  int rc = Z_OK;
  while (rc == Z_OK) {
    size_t have = out.size();
    size_t want = std::min(cap, std::max<size_t>(4096, have * 2));
    if (want == have) break;
    // Grown by hand, not by resize(): a reallocation must not leave plaintext in freed memory.
    std::string bigger(want, '\0');
    std::memcpy(bigger.data(), out.data(), have);
    Wipe(out);
    out.swap(bigger);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + have);
    z.avail_out = static_cast<uInt>(want - have);
    rc = inflate(&z, Z_FINISH);
    if (rc == Z_BUF_ERROR && z.avail_out == 0) rc = Z_OK;  // needs more room
    out.resize(z.total_out);                               // shrinking never reallocates
  }
  const bool ended = rc == Z_STREAM_END;
  const bool trailing = z.avail_in != 0;
  inflateEnd(&z);
  if (out.size() > max_output || !ended || trailing) Wipe(out);
  if (out.size() > max_output) {
    return LimitExceeded(std::string(what) + " inflates to more than " +
                         std::to_string(max_output) + " bytes");
  }
  if (!ended) return Corrupt(std::string(what) + " is not a complete DEFLATE stream");
  if (trailing) return Corrupt(std::string(what) + " has bytes after its DEFLATE stream");
  return out;
}

}  // namespace estelik
