// Deterministic generator of fictional testimonies for tests and benchmarks.
//
// The corpus mixes the four scripts survivors from Mangystau write in: English (Latin),
// Russian (Cyrillic), Kazakh (Cyrillic) and Kazakh (Latin, 2021 alphabet), with place and
// person names spelled the way each script spells them (Zhanaozen / Жанаозен / Жаңаөзен /
// Jañaözen). All text comes from templates in corpus.cc; no real person's words.
//
// Output is a pure function of (seed, count): the same bytes on every platform and compiler
// (own PRNG, no <random> distributions). GenerateCorpus(s, n) is a prefix of
// GenerateCorpus(s, n + k).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace estelik::testing {

struct SampleTestimony {
  std::string id;        // "gen-000042"
  std::string language;  // "en", "ru" or "kk"
  std::string script;    // "Latn" or "Cyrl"
  std::string title;
  std::string body;  // 300..3000 bytes of UTF-8, mostly around 1 KB
  std::vector<std::string> tags;
  std::vector<std::string> places;  // as spelled in the body
  std::vector<std::string> people;  // as spelled in the body
  std::string event_date;           // YYYY-MM-DD
};

std::vector<SampleTestimony> GenerateCorpus(uint64_t seed, size_t count);

// One JSON object on one line (no trailing newline) with the fields above, in the layout of
// the shared sample corpus (testimonies.jsonl) plus "people".
std::string ToJsonLine(const SampleTestimony& t);

// Appends `s` to `out` as a JSON string literal (quotes included, control characters escaped,
// UTF-8 passed through).
void AppendJsonString(std::string& out, const std::string& s);

}  // namespace estelik::testing
