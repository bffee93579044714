// Fuzz target: decoding an op envelope a peer sent (core/log/op_codec.h): protobuf parsing,
// the header's shape checks, and signature verification over arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/log/op_codec.h"
#include "proto/op.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  estelik::pb::Envelope envelope;
  if (envelope.ParseFromArray(data, static_cast<int>(size))) {
    auto op = estelik::log::ParseOpHeader(envelope.op());
    if (op.ok()) (void)estelik::log::VerifyEnvelopeSignature(envelope, *op);
  }
  // The same bytes as a bare op.
  auto bare =
      estelik::log::ParseOpHeader(std::string_view(reinterpret_cast<const char*>(data), size));
  (void)bare;
  return 0;
}
