// The labelled search evaluation set in tests/data/search_eval (written by its make_eval.py):
// short testimonies in the four scripts with inflected names, and queries with the testimonies
// each must find. The search quality test and search_bench load it and score a search with it.
#pragma once

#include <cstddef>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace estelik::testing {

struct EvalTestimony {
  std::string id;  // "t001"
  std::string text;
};

struct EvalQuery {
  std::string text;                // what the user types
  std::string label;               // the name or word it looks for
  std::set<std::string> expected;  // ids of every testimony it must find (may be empty)
};

struct SearchEval {
  std::vector<EvalTestimony> testimonies;
  std::vector<EvalQuery> queries;
};

// The directory of the set in the source tree this program was built from.
std::string SearchEvalDir(const std::string& source_dir);

// Reads testimonies.tsv and queries.tsv from `dir`. Returns false and sets *error on a missing
// file or a malformed line.
bool LoadSearchEval(const std::string& dir, SearchEval* out, std::string* error);

// Micro-averaged over all queries: recall = correct / expected, precision = correct / returned.
struct EvalScore {
  size_t expected = 0;
  size_t returned = 0;
  size_t correct = 0;
  double recall() const { return expected == 0 ? 1.0 : static_cast<double>(correct) / expected; }
  double precision() const { return returned == 0 ? 1.0 : static_cast<double>(correct) / returned; }
};

// Runs every query through `search` (the eval ids of every testimony it finds) and scores the
// results. For each query with a miss or a wrong hit, appends a line to *report if not null.
EvalScore ScoreSearchEval(const SearchEval& eval,
                          const std::function<std::vector<std::string>(const std::string&)>& search,
                          std::vector<std::string>* report);

}  // namespace estelik::testing
