// Raw DEFLATE (RFC 1951, no zlib or gzip header) with a hard bound on what inflating may
// produce. Shared by the op codec (compressed op bodies) and the replication protocol
// (compressed messages); both formats are specified in docs/FORMAT.md and docs/PROTOCOL.md.
//
// Thread safety: all functions are thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace estelik {

// `input` compressed as one raw DEFLATE stream at zlib level `level` (1..9).
std::string DeflateRaw(std::string_view input, int level = 6);

// Inflates one complete raw DEFLATE stream. Never produces more than `max_output` bytes:
// LimitExceeded if the stream would inflate past it (a decompression bomb stops there),
// Corrupt if the stream is malformed, truncated or followed by extra bytes. The message names
// `what` ("op body").
Result<std::string> InflateRaw(std::string_view input, size_t max_output, std::string_view what);

}  // namespace estelik
