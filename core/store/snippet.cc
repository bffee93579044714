#include "core/store/snippet.h"

#include <algorithm>
#include <cassert>

#include "core/store/fold.h"
#include "core/store/tokenizer.h"

namespace estelik::store {
namespace {

// One occurrence of a phrase: tokens [first, first + count).
struct Instance {
  size_t phrase;
  int first;
  int count;
};

bool WordMatches(const SnippetQuery::Word& w, const SearchToken& t) {
  if (w.prefix) return t.key.starts_with(w.key);
  if (w.stem.empty()) return t.key == w.key;
  return t.key == w.stem || (!t.stem.empty() && t.stem == w.stem);
}

// Every instance of every phrase, ordered by first token.
std::vector<Instance> FindInstances(const std::vector<SnippetQuery::Phrase>& phrases,
                                    const std::vector<SearchToken>& tokens) {
  std::vector<Instance> out;
  const int n = static_cast<int>(tokens.size());
  for (int i = 0; i < n; ++i) {
    for (size_t p = 0; p < phrases.size(); ++p) {
      const int m = static_cast<int>(phrases[p].size());
      if (m == 0 || i + m > n) continue;
      bool all = true;
      for (int k = 0; k < m && all; ++k) all = WordMatches(phrases[p][k], tokens[i + k]);
      if (all) out.push_back({p, i, m});
    }
  }
  return out;
}

// Tokens that start a sentence: the first, and any preceded by '.' or ':' and white space.
std::vector<int> SentenceStarts(std::string_view text, const std::vector<SearchToken>& tokens) {
  std::vector<int> out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i == 0) {
      out.push_back(0);
      continue;
    }
    int at = tokens[i].start - 1;
    while (at >= 0 && (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r'))
      --at;
    if (at != tokens[i].start - 1 && at >= 0 && (text[at] == '.' || text[at] == ':'))
      out.push_back(static_cast<int>(i));
  }
  return out;
}

struct Window {
  int score = 0;
  int start = 0;
};

// Score of the window [from, from + width) and, centred on its instances, where it would start.
Window ScoreWindow(const std::vector<Instance>& instances, size_t phrase_count, int from, int width,
                   int column_tokens) {
  std::vector<bool> seen(phrase_count, false);
  Window w;
  int first = -1, last = 0;
  for (const Instance& in : instances) {
    if (in.first < from || in.first >= from + width) continue;
    w.score += seen[in.phrase] ? 1 : 1000;
    seen[in.phrase] = true;
    if (first < 0) first = in.first;
    last = in.first + in.count;
  }
  w.start = first < 0 ? from : first - (width - (last - first)) / 2;
  w.start = std::max(0, std::min(w.start, column_tokens - width));
  return w;
}

int BestStart(std::string_view text, const std::vector<SearchToken>& tokens,
              const std::vector<Instance>& instances, size_t phrase_count, int width) {
  const int size = static_cast<int>(tokens.size());
  const std::vector<int> sentences =
      size > width ? SentenceStarts(text, tokens) : std::vector<int>{};
  Window best;
  for (const Instance& in : instances) {
    const Window centred = ScoreWindow(instances, phrase_count, in.first, width, size);
    if (centred.score > best.score) best = centred;
    size_t s = 0;
    while (s + 1 < sentences.size() && sentences[s + 1] <= in.first) ++s;
    if (!sentences.empty() && sentences[s] < in.first) {
      Window at = ScoreWindow(instances, phrase_count, sentences[s], width, size);
      at.score += sentences[s] == 0 ? 120 : 100;
      at.start = sentences[s];
      if (at.score > best.score) best = at;
    }
  }
  return best.start;
}

}  // namespace

SnippetQuery::SnippetQuery(std::string_view match) {
  for (size_t i = 0; i < match.size(); ++i) {
    if (match[i] != '"') continue;
    std::string text;
    size_t end = i + 1;
    for (; end < match.size(); ++end) {
      if (match[end] != '"') {
        text.push_back(match[end]);
      } else if (end + 1 < match.size() && match[end + 1] == '"') {
        text.push_back('"');
        ++end;
      } else {
        break;
      }
    }
    const bool prefix = match.substr(end + 1, 2) == " *";
    const bool exact = !text.empty() && text[0] == kExactQueryMarker;
    Phrase phrase;
    const std::vector<SearchToken> words = TokenizeForSearch(text);
    for (size_t k = 0; k < words.size(); ++k) {
      const std::string_view written =
          std::string_view(text).substr(words[k].start, words[k].end - words[k].start);
      Word w;
      char key[kMaxFoldedKeyBytes], stem[kMaxFoldedKeyBytes];
      if (prefix && k + 1 == words.size()) {
        w.key.assign(key, FoldInto(written, key, /*prefix=*/true));
        w.prefix = true;
      } else {
        const FoldedToken t = FoldWithStem(written, key, stem);
        w.key.assign(key, t.key);
        if (!exact && t.stem > 0) w.stem.assign(stem, t.stem);
      }
      phrase.push_back(std::move(w));
    }
    phrases_.push_back(std::move(phrase));
    i = end;
  }
}

std::string SnippetQuery::Snippet(std::string_view text, int max_tokens, std::string_view open,
                                  std::string_view close, std::string_view ellipsis) const {
  assert(max_tokens >= 1);
  const std::vector<SearchToken> tokens = TokenizeForSearch(text);
  if (tokens.empty()) return std::string(text);
  const int size = static_cast<int>(tokens.size());
  const std::vector<Instance> instances = FindInstances(phrases_, tokens);
  const int first = BestStart(text, tokens, instances, phrases_.size(), max_tokens);
  const int last = std::min(size, first + max_tokens) - 1;

  // Highlighted token ranges inside the window, overlapping instances merged.
  std::vector<std::pair<int, int>> spans;  // [from, to] inclusive
  for (const Instance& in : instances) {
    const int from = std::max(in.first, first), to = std::min(in.first + in.count - 1, last);
    if (from > to) continue;
    if (!spans.empty() && from <= spans.back().second)
      spans.back().second = std::max(spans.back().second, to);
    else
      spans.push_back({from, to});
  }
  std::string out;
  if (first > 0) out.append(ellipsis);
  size_t at = static_cast<size_t>(tokens[first].start);
  for (const auto& [from, to] : spans) {
    out.append(text.substr(at, tokens[from].start - at)).append(open);
    at = static_cast<size_t>(tokens[to].end);
    out.append(text.substr(tokens[from].start, at - tokens[from].start)).append(close);
  }
  if (last == size - 1) return out.append(text.substr(at));
  return out.append(text.substr(at, tokens[last].end - at)).append(ellipsis);
}

}  // namespace estelik::store
