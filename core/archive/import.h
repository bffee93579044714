// The JSONL import format (`estelik import FILE`, estelik_testimony_import): one
// pb::ImportRecord (proto/api.proto) as a JSON object per line, the format of the sample
// corpus. Archive::ImportTestimonies records what ParseImportJsonl returns.
//
// Thread safety: a pure function of its arguments.
#pragma once

#include <string_view>
#include <vector>

#include "core/status.h"
#include "proto/record.pb.h"

namespace estelik::archive {

// Parses every line of `data` (blank lines skipped; unknown JSON keys ignored) into the fields
// of a private testimony. A bad line anywhere fails the whole file: InvalidArgument naming
// `source` and the line (1-based), and nothing is returned.
Result<std::vector<pb::TestimonyFields>> ParseImportJsonl(std::string_view data,
                                                          std::string_view source);

}  // namespace estelik::archive
