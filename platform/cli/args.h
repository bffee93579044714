// Command-line parsing for the estelik command: global flags, one verb, then the verb's own
// flags and positional arguments. Flags are `--name value` or `--name=value`; a flag may be
// repeated (`--tag a --tag b`). `--` ends flags.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace estelik::cli {

class Args {
 public:
  // `value_flags` take a value; `boolean_flags` never do (`--json`, `--yes`). Any other
  // flag is an error naming it.
  static Result<Args> Parse(const std::vector<std::string>& argv,
                            const std::vector<std::string>& value_flags,
                            const std::vector<std::string>& boolean_flags);

  const std::vector<std::string>& positional() const { return positional_; }
  bool Has(const std::string& flag) const { return flags_.count(flag) > 0; }
  // The last value given for `flag`, if any.
  std::optional<std::string> Get(const std::string& flag) const;
  // Every value given for `flag`, in order.
  std::vector<std::string> GetAll(const std::string& flag) const;

 private:
  std::vector<std::string> positional_;
  std::multimap<std::string, std::string> flags_;
};

}  // namespace estelik::cli
