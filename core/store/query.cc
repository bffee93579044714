#include "core/store/query.h"

#include <memory>
#include <vector>

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

std::vector<Token> Lex(std::string_view in) {
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
    if (!negated && word == "AND") {
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
  Result<std::string> Parse() {
    std::vector<std::string> parts;
    while (!AtEnd()) {
      ESTELIK_ASSIGN_OR_RETURN(std::string e, ParseOr(0));
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
  Result<std::string> ParseOr(int depth) {
    std::vector<std::string> alts;
    while (!AtEnd() && toks_[pos_].kind != Tok::kRParen) {
      if (toks_[pos_].kind == Tok::kOr) {  // leading or doubled OR: drop
        ++pos_;
        continue;
      }
      ESTELIK_ASSIGN_OR_RETURN(std::string a, ParseAnd(depth));
      if (!a.empty()) alts.push_back(std::move(a));
    }
    if (alts.empty()) return std::string();
    if (alts.size() == 1) return alts[0];
    std::string out = "(";
    for (size_t i = 0; i < alts.size(); ++i) out.append(i ? " OR " : "").append(alts[i]);
    return out + ")";
  }

  // and := item ((AND | NOT)? item)*, ending before OR, ')' or the end.
  Result<std::string> ParseAnd(int depth) {
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
        if (depth + 1 > kMaxDepth)
          return InvalidArgument("search text is nested too deeply (more than 16 parentheses)");
        ESTELIK_ASSIGN_OR_RETURN(item, ParseOr(depth + 1));
        if (!AtEnd() && toks_[pos_].kind == Tok::kRParen) ++pos_;  // unclosed: closed here
      } else {
        if (!Searchable(t.text)) continue;
        if (++terms_ > kMaxTerms) return InvalidArgument("search text has more than 64 words");
        item = Quote(t.text) + (t.prefix ? " *" : "");
        negated = negated || t.negated;
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

Result<std::string> BuildMatchExpression(std::string_view user_text) {
  if (user_text.size() > kMaxInputBytes)
    return InvalidArgument("search text is longer than 4096 bytes");
  Parser parser(Lex(user_text));
  std::string expr;
  ESTELIK_ASSIGN_OR_RETURN(expr, parser.Parse());
  if (expr.empty()) {
    if (parser.negated_only())
      return InvalidArgument(
          "search needs at least one word to look for, not only words to exclude");
    return InvalidArgument("search text is empty: type at least one word");
  }
  return expr;
}

}  // namespace estelik::store
