// Fuzz target: the bounded inflater (core/deflate.h) that opens compressed op bodies and
// compressed replication messages from peers. Arbitrary bytes must give a clean error or at
// most the bound's worth of output, and the inner message parse must not crash; anything the
// deflater produces must inflate back to exactly its input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/deflate.h"
#include "proto/op.pb.h"
#include "proto/replication.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr size_t kBound = 1 << 16;  // small, so bombs hit it quickly
  auto inflated = estelik::InflateRaw(input, kBound, "fuzz input");
  if (inflated.ok()) {
    if (inflated->size() > kBound) std::abort();
    estelik::pb::ReplicationMessage message;
    (void)message.ParseFromString(*inflated);
    estelik::pb::OpBody body;
    (void)body.ParseFromString(*inflated);
  }
  // Round trip: what we deflate, we inflate back byte for byte.
  auto back = estelik::InflateRaw(estelik::DeflateRaw(input, 1 + static_cast<int>(size % 9)), size,
                                  "round trip");
  if (!back.ok() || *back != input) std::abort();
  return 0;
}
