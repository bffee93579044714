// Prints the search keys of words, one word per input line: "word<TAB>key<TAB>stem" (the
// exact key and the stem key of docs/FORMAT.md "Search folding"). For measuring the stemmer
// against other resources (tests/data/search_eval/measure_stems.py).
//
//   estelik_stem < words.txt
#include <iostream>
#include <string>

#include "core/store/fold.h"

int main() {
  std::ios::sync_with_stdio(false);
  std::string word;
  while (std::getline(std::cin, word)) {
    std::cout << word << '\t' << estelik::store::FoldForSearch(word) << '\t'
              << estelik::store::StemForSearch(word) << '\n';
  }
  return 0;
}
