#include "platform/cli/args.h"

#include <algorithm>

namespace estelik::cli {

Result<Args> Args::Parse(const std::vector<std::string>& argv,
                         const std::vector<std::string>& value_flags,
                         const std::vector<std::string>& boolean_flags) {
  auto contains = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  Args args;
  bool flags_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (flags_done || a.size() < 3 || a.rfind("--", 0) != 0) {
      if (a == "--") {
        flags_done = true;
        continue;
      }
      args.positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::string value;
    size_t eq = name.find('=');
    bool is_bool = contains(boolean_flags, name.substr(0, eq));
    if (!is_bool && !contains(value_flags, name.substr(0, eq))) {
      return InvalidArgument("unknown option --" + name.substr(0, eq) + " (see --help)");
    }
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      if (is_bool) return InvalidArgument("--" + name + " takes no value");
    } else if (!is_bool) {
      if (i + 1 >= argv.size()) return InvalidArgument("--" + name + " needs a value");
      value = argv[++i];
    }
    args.flags_.emplace(name, value);
  }
  return args;
}

std::optional<std::string> Args::Get(const std::string& flag) const {
  auto [begin, end] = flags_.equal_range(flag);
  if (begin == end) return std::nullopt;
  return std::prev(end)->second;
}

std::vector<std::string> Args::GetAll(const std::string& flag) const {
  std::vector<std::string> values;
  auto [begin, end] = flags_.equal_range(flag);
  for (auto it = begin; it != end; ++it) values.push_back(it->second);
  return values;
}

}  // namespace estelik::cli
