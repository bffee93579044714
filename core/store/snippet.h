// Search snippets: the part of a column that shows why a testimony matched, with each match
// highlighted in the words as written (Store::Search, SearchHit.title_snippet/body_snippet).
//
// The same choice FTS5's snippet() makes, computed from the stored text without re-running the
// query against the index (which costs a seek per query term in every index segment per hit):
//  - Instances: a phrase of the query occurs at a token when its words match consecutive
//    tokens as the index would match them (core/store/tokenizer.h): a word matches tokens with
//    its stem as key or as stem, an exact-only word ("\x01w") and a word without a stem match
//    the exact key, the last word of a prefix phrase matches keys that start with its prefix
//    key.
//  - The window of `max_tokens` tokens with the best score: 1000 per distinct phrase in it plus
//    1 per repeated instance, centred on the instances; a window starting at a sentence (after
//    '.' or ':' and a space, or at the start) is tried too and earns 100 (120 at the start).
//  - Text from the window's first token to its last, each instance between `open` and `close`
//    (overlapping instances merged), `ellipsis` before when it does not start the column and
//    after when it does not end it (then the column's trailing text is kept instead).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace estelik::store {

class SnippetQuery {
 public:
  // The phrases of `match`, a BuildMatchExpression result (core/store/query.h).
  explicit SnippetQuery(std::string_view match);

  // The snippet of `text` (one column), at most `max_tokens` tokens (>= 1, asserted).
  std::string Snippet(std::string_view text, int max_tokens, std::string_view open,
                      std::string_view close, std::string_view ellipsis) const;

  struct Word {
    std::string key;   // exact key, or the prefix key of a prefix word
    std::string stem;  // the stem key; empty: match the exact key only
    bool prefix = false;
  };
  using Phrase = std::vector<Word>;
  const std::vector<Phrase>& phrases() const { return phrases_; }

 private:
  std::vector<Phrase> phrases_;
};

}  // namespace estelik::store
