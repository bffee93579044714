#include "core/store/query.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "core/store/tokenizer.h"

namespace estelik::store {
namespace {

constexpr size_t kMaxInputBytes = 4096;
constexpr int kMaxDepth = 16;
constexpr int kMaxTerms = 64;

enum class Tok { kTerm, kAnd, kOr, kNot, kLParen, kRParen };

struct Token {
  Tok kind;
  std::string text;      // for kTerm: the words (a phrase when quoted)
  bool prefix = false;   // for kTerm: trailing *
  bool negated = false;  // for kTerm: leading '-'
};

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// A word is searchable when it holds a letter or digit; every non-ASCII byte counts as one
// because the tokenizer, not this parser, decides what a Unicode character is.
bool Searchable(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
      return true;
  }
  return false;
}

// Characters that are FTS5 syntax outside quotes; inside a bare word they split it.
bool IsSyntax(char c) {
  return c == '"' || c == '(' || c == ')' || c == '*' || c == ':' || c == '^' || c == '{' ||
         c == '}' || c == '+' || c == ',';
}

std::vector<Token> Lex(std::string_view in, bool operators_are_words) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < in.size()) {
    char c = in[i];
    if (IsSpace(c)) {
      ++i;
      continue;
    }
    if (c == '(') {
      out.push_back({Tok::kLParen, ""});
      ++i;
      continue;
    }
    if (c == ')') {
      out.push_back({Tok::kRParen, ""});
      ++i;
      continue;
    }
    bool negated = false;
    if (c == '-' || c == '+') {
      negated = c == '-';
      ++i;
      if (i >= in.size() || IsSpace(in[i])) continue;  // a stray sign alone
      c = in[i];
    }
    if (c == '"') {
      ++i;
      size_t end = in.find('"', i);
      if (end == std::string_view::npos) end = in.size();  // unbalanced: close at the end
      Token t{Tok::kTerm, std::string(in.substr(i, end - i))};
      i = end < in.size() ? end + 1 : end;
      if (i < in.size() && in[i] == '*') {
        t.prefix = true;
        ++i;
      }
      t.negated = negated;
      out.push_back(std::move(t));
      continue;
    }
    // A bare word runs to whitespace or syntax; '-' inside a word (e.g. a date) is kept.
    size_t start = i;
    while (i < in.size() && !IsSpace(in[i]) && !IsSyntax(in[i])) ++i;
    std::string word(in.substr(start, i - start));
    bool prefix = false;
    if (i < in.size() && in[i] == '*') {
      prefix = true;
      ++i;
    } else if (word.empty()) {
      ++i;  // a syntax character alone (*, :, ^, ...): skip it
      continue;
    }
    if (operators_are_words) {
      Token t{Tok::kTerm, std::move(word)};
      t.prefix = prefix;
      t.negated = negated;
      out.push_back(std::move(t));
    } else if (!negated && word == "AND") {
      out.push_back({Tok::kAnd, ""});
    } else if (!negated && word == "OR") {
      out.push_back({Tok::kOr, ""});
    } else if (!negated && word == "NOT") {
      out.push_back({Tok::kNot, ""});
    } else {
      Token t{Tok::kTerm, std::move(word)};
      t.prefix = prefix;
      t.negated = negated;
      out.push_back(std::move(t));
    }
  }
  return out;
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"')
      out += "\"\"";
    else
      out.push_back(c);
  }
  out += "\"";
  return out;
}

// Recursive descent over the tokens. Each group yields a fully parenthesized expression or
// an empty string when nothing searchable was inside it.
class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : toks_(std::move(toks)) {}

  // Stray ')' end a top-level ParseOr early; they are skipped and the pieces around them
  // are ANDed.
  std::string Parse() {
    std::vector<std::string> parts;
    while (!AtEnd()) {
      std::string e = ParseOr(0);
      if (!e.empty()) parts.push_back(std::move(e));
      if (!AtEnd()) ++pos_;
    }
    if (parts.size() <= 1) return parts.empty() ? std::string() : parts[0];
    std::string out = "(";
    for (size_t i = 0; i < parts.size(); ++i) out.append(i ? " AND " : "").append(parts[i]);
    return out + ")";
  }

 private:
  bool AtEnd() const { return pos_ >= toks_.size(); }

  // or := and (OR and)*
  std::string ParseOr(int depth) {
    std::vector<std::string> alts;
    while (!AtEnd() && toks_[pos_].kind != Tok::kRParen) {
      if (toks_[pos_].kind == Tok::kOr) {  // leading or doubled OR: drop
        ++pos_;
        continue;
      }
      std::string a = ParseAnd(depth);
      if (!a.empty()) alts.push_back(std::move(a));
    }
    if (alts.empty()) return std::string();
    if (alts.size() == 1) return alts[0];
    std::string out = "(";
    for (size_t i = 0; i < alts.size(); ++i) out.append(i ? " OR " : "").append(alts[i]);
    return out + ")";
  }

  // and := item ((AND | NOT)? item)*, ending before OR, ')' or the end.
  std::string ParseAnd(int depth) {
    std::vector<std::string> pos, neg;
    bool next_negated = false;
    while (!AtEnd()) {
      const Token& t = toks_[pos_];
      if (t.kind == Tok::kOr || t.kind == Tok::kRParen) break;
      ++pos_;
      if (t.kind == Tok::kAnd) continue;  // AND is the default; stray ones vanish
      if (t.kind == Tok::kNot) {
        next_negated = true;
        continue;
      }
      std::string item;
      bool negated = next_negated;
      next_negated = false;
      if (t.kind == Tok::kLParen) {
        if (depth + 1 > kMaxDepth) continue;  // deeper parentheses are ignored
        item = ParseOr(depth + 1);
        if (!AtEnd() && toks_[pos_].kind == Tok::kRParen) ++pos_;  // unclosed: closed here
      } else {
        if (!Searchable(t.text)) continue;
        if (++terms_ > kMaxTerms) continue;  // words past the 64th are ignored
        negated = negated || t.negated;
        if (t.prefix) {
          item = Quote(t.text) + " *";
        } else if (negated) {
          item = Quote(t.text);  // excludes every form of the word
        } else {
          // Every form of the word, and the exact form again so that it ranks first.
          item = "(" + Quote(std::string(1, kExactQueryMarker) + t.text) + " OR " + Quote(t.text) +
                 ")";
        }
      }
      if (item.empty()) continue;
      (negated ? neg : pos).push_back(std::move(item));
    }
    if (pos.empty()) {
      if (!neg.empty()) negated_only_ = true;
      return std::string();
    }
    std::string out;
    if (pos.size() == 1) {
      out = pos[0];
    } else {
      out = "(";
      for (size_t i = 0; i < pos.size(); ++i) out.append(i ? " AND " : "").append(pos[i]);
      out += ")";
    }
    for (const std::string& n : neg) {
      std::string wrapped = "(";
      wrapped.append(out).append(" NOT ").append(n).append(")");
      out = std::move(wrapped);
    }
    return out;
  }

 public:
  bool negated_only() const { return negated_only_; }

 private:
  std::vector<Token> toks_;
  size_t pos_ = 0;
  int terms_ = 0;
  bool negated_only_ = false;
};

}  // namespace

std::string PhraseUnion(std::string_view match) {
  std::string out;
  for (size_t i = 0; i < match.size(); ++i) {
    if (match[i] != '"') continue;
    size_t end = i + 1;
    while (end < match.size()) {
      if (match[end] == '"' && (end + 1 >= match.size() || match[end + 1] != '"')) break;
      end += match[end] == '"' ? 2 : 1;  // "" is an escaped quote inside the phrase
    }
    if (!out.empty()) out += " OR ";
    out.append(match.substr(i, end + 1 - i));
    if (match.substr(end + 1, 2) == " *") out += " *";
    i = end;
  }
  return out;
}

bool IsDisjunction(std::string_view match) {
  for (size_t i = 0; i < match.size(); ++i) {
    if (match[i] == '"') {  // skip the phrase; "" inside it is an escaped quote
      for (++i; i < match.size(); ++i) {
        if (match[i] != '"') continue;
        if (i + 1 < match.size() && match[i + 1] == '"') {
          ++i;
          continue;
        }
        break;
      }
      continue;
    }
    const std::string_view rest = match.substr(i);
    if (rest.starts_with("AND ") || rest.starts_with("NOT ")) return false;
  }
  return true;
}

std::string BuildMatchExpression(std::string_view user_text) {
  // Over-long text is cut at a UTF-8 boundary; control characters are spaces (they separate
  // words anyway, and one of them is the tokenizer's exact-query marker).
  size_t size = std::min(user_text.size(), kMaxInputBytes);
  while (size > 0 && size < user_text.size() &&
         (static_cast<unsigned char>(user_text[size]) & 0xC0) == 0x80)
    --size;
  std::string text(user_text.substr(0, size));
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  Parser parser(Lex(text, /*operators_are_words=*/false));
  std::string expr = parser.Parse();
  if (expr.empty() && !parser.negated_only()) {
    // Only operators ("AND OR NOT"): the user meant the words.
    Parser words(Lex(text, /*operators_are_words=*/true));
    expr = words.Parse();
    if (words.negated_only()) expr.clear();
  }
  return expr;
}

}  // namespace estelik::store
