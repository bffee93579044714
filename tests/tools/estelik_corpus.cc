// estelik_corpus: prints a deterministic fictional testimony corpus as JSON lines.
//
//   estelik_corpus [--count N] [--seed S]     (defaults: --count 25 --seed 1)
//
// Each line has the fields of /work/shared/corpus/testimonies.jsonl plus "people". The same
// arguments print the same bytes on every platform.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/support/corpus.h"

namespace {

bool ParseUnsigned(const char* text, unsigned long long& out) {
  if (text == nullptr || *text == '\0' || *text == '-') return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtoull(text, &end, 10);
  return errno == 0 && end != nullptr && *end == '\0';
}

int Usage() {
  std::fprintf(stderr, "usage: estelik_corpus [--count N] [--seed S]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned long long count = 25, seed = 1;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--count") == 0 && has_value) {
      if (!ParseUnsigned(argv[++i], count)) return Usage();
    } else if (std::strcmp(argv[i], "--seed") == 0 && has_value) {
      if (!ParseUnsigned(argv[++i], seed)) return Usage();
    } else {
      return Usage();
    }
  }
  const auto corpus = estelik::testing::GenerateCorpus(seed, static_cast<size_t>(count));
  std::string line;
  for (const auto& t : corpus) {
    line = estelik::testing::ToJsonLine(t);
    line += '\n';
    if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size()) return 1;
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}
