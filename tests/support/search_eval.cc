#include "tests/support/search_eval.h"

#include <fstream>
#include <sstream>

namespace estelik::testing {
namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

// Calls line(fields) for every non-comment line of `path` split at tabs.
bool ReadTsv(const std::string& path, size_t fields,
             const std::function<void(const std::vector<std::string>&)>& line, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot read " + path;
    return false;
  }
  std::string s;
  size_t n = 0;
  while (std::getline(in, s)) {
    ++n;
    if (s.empty() || s[0] == '#') continue;
    const std::vector<std::string> f = Split(s, '\t');
    if (f.size() != fields) {
      *error = path + ":" + std::to_string(n) + ": expected " + std::to_string(fields) + " fields";
      return false;
    }
    line(f);
  }
  return true;
}

}  // namespace

std::string SearchEvalDir(const std::string& source_dir) {
  return source_dir + "/tests/data/search_eval";
}

bool LoadSearchEval(const std::string& dir, SearchEval* out, std::string* error) {
  *out = {};
  if (!ReadTsv(
          dir + "/testimonies.tsv", 3,
          [&](const std::vector<std::string>& f) {
            out->testimonies.push_back({f[0], f[2]});
          },
          error))
    return false;
  return ReadTsv(
      dir + "/queries.tsv", 3,
      [&](const std::vector<std::string>& f) {
        EvalQuery q{f[0], f[1], {}};
        if (!f[2].empty())
          for (const std::string& id : Split(f[2], ',')) q.expected.insert(id);
        out->queries.push_back(std::move(q));
      },
      error);
}

EvalScore ScoreSearchEval(const SearchEval& eval,
                          const std::function<std::vector<std::string>(const std::string&)>& search,
                          std::vector<std::string>* report) {
  EvalScore score;
  for (const EvalQuery& q : eval.queries) {
    const std::vector<std::string> found = search(q.text);
    const std::set<std::string> got(found.begin(), found.end());
    size_t correct = 0;
    std::string wrong, missed;
    for (const std::string& id : got) {
      if (q.expected.count(id))
        ++correct;
      else
        wrong += " " + id;
    }
    for (const std::string& id : q.expected)
      if (!got.count(id)) missed += " " + id;
    score.expected += q.expected.size();
    score.returned += got.size();
    score.correct += correct;
    if (report != nullptr && (!wrong.empty() || !missed.empty())) {
      std::ostringstream line;
      line << q.text << " (" << q.label << "): missed" << (missed.empty() ? " none" : missed)
           << "; wrong" << (wrong.empty() ? " none" : wrong);
      report->push_back(line.str());
    }
  }
  return score;
}

}  // namespace estelik::testing
