#include "core/store/tokenizer.h"

#include <array>
#include <climits>
#include <cstring>
#include <memory>

#include "core/sql/stmt.h"
#include "core/store/fold.h"

namespace estelik::store {
namespace {

constexpr std::array<CharClass, 128> BuildAsciiClasses() {
  std::array<CharClass, 128> c{};
  for (auto& x : c) x = CharClass::kSeparator;
  for (int i = '0'; i <= '9'; ++i) c[i] = CharClass::kToken;
  for (int i = 'a'; i <= 'z'; ++i) c[i] = c[i - 0x20] = CharClass::kToken;
  c['\''] = c['`'] = CharClass::kApostrophe;
  return c;
}
constexpr std::array<CharClass, 128> kAscii = BuildAsciiClasses();

struct Classified {
  CharClass cls;
  uint32_t len;
};

inline Classified ClassifyAt(const unsigned char* p, const unsigned char* end) {
  if (*p < 0x80) return {kAscii[*p], 1};
  const Utf8Char ch = DecodeUtf8(p, end);
  return {ClassifyNonAscii(ch.cp), ch.len};
}

// Calls emit(token_begin, token_end) for each token of [p, end). Stops and returns the first
// non-zero value emit returns.
template <typename Emit>
int ForEachToken(const unsigned char* p, const unsigned char* end, Emit&& emit) {
  while (p < end) {
    Classified c = ClassifyAt(p, end);
    if (c.cls != CharClass::kToken) {
      p += c.len;
      continue;
    }
    const unsigned char* begin = p;
    p += c.len;
    while (p < end) {
      c = ClassifyAt(p, end);
      if (c.cls == CharClass::kToken) {
        p += c.len;
      } else if (c.cls == CharClass::kApostrophe && p + c.len < end &&
                 ClassifyAt(p + c.len, end).cls == CharClass::kToken) {
        p += c.len;  // an apostrophe between two word characters belongs to the word
      } else {
        break;
      }
    }
    if (const int rc = emit(begin, p); rc != 0) return rc;
  }
  return 0;
}

bool HasTokenAfter(const unsigned char* p, const unsigned char* end) {
  return ForEachToken(p, end, [](const unsigned char*, const unsigned char*) { return 1; }) != 0;
}

// The tokenizer has no per-table state, so every xCreate returns this one object.
struct EstelikTokenizer {
  int unused = 0;
};
EstelikTokenizer g_instance;

int Create(void*, const char** args, int nargs, Fts5Tokenizer** out) {
  (void)args;
  *out = nullptr;
  if (nargs != 0) return SQLITE_ERROR;  // the estelik tokenizer takes no options
  *out = reinterpret_cast<Fts5Tokenizer*>(&g_instance);
  return SQLITE_OK;
}

void Delete(Fts5Tokenizer*) {}

bool SameKey(const char* a, size_t an, const char* b, size_t bn) {
  return an == bn && std::memcmp(a, b, an) == 0;
}

int Tokenize(Fts5Tokenizer*, void* ctx, int flags, const char* text, int length,
             int (*token)(void*, int, const char*, int, int, int)) {
  if (text == nullptr || length <= 0) return SQLITE_OK;
  const auto* base = reinterpret_cast<const unsigned char*>(text);
  const auto* end = base + length;
  const bool prefix = (flags & FTS5_TOKENIZE_PREFIX) != 0;
  const bool query = (flags & FTS5_TOKENIZE_QUERY) != 0;
  const bool exact_only = query && text[0] == kExactQueryMarker;
  return ForEachToken(base, end, [&](const unsigned char* b, const unsigned char* e) {
    const std::string_view word(reinterpret_cast<const char*>(b), static_cast<size_t>(e - b));
    const int start = static_cast<int>(b - base);
    const int stop = static_cast<int>(e - base);
    char key[kMaxFoldedKeyBytes];
    // Only the last word of a prefix query carries the '*'; a prefix matches exact keys.
    if (prefix && !HasTokenAfter(e, end)) {
      const size_t n = FoldInto(word, key, /*prefix=*/true);
      return n == 0 ? SQLITE_OK : token(ctx, 0, key, static_cast<int>(n), start, stop);
    }
    char stem[1 + kMaxFoldedKeyBytes];
    stem[0] = kStemKeyMarker;
    const FoldedToken t = FoldWithStem(word, key, stem + 1);
    if (t.key == 0) return SQLITE_OK;  // nothing searchable (only marks or apostrophes)
    if (exact_only || t.stem == 0) return token(ctx, 0, key, static_cast<int>(t.key), start, stop);
    if (query) {
      // Any form of the word: the stem written as a whole word, or the stem of an inflected
      // word (FTS5 query synonyms: either token matches).
      const int rc = token(ctx, 0, stem + 1, static_cast<int>(t.stem), start, stop);
      if (rc != SQLITE_OK) return rc;
      return token(ctx, FTS5_TOKEN_COLOCATED, stem, static_cast<int>(t.stem + 1), start, stop);
    }
    const int rc = token(ctx, 0, key, static_cast<int>(t.key), start, stop);
    if (rc != SQLITE_OK || SameKey(key, t.key, stem + 1, t.stem)) return rc;
    return token(ctx, FTS5_TOKEN_COLOCATED, stem, static_cast<int>(t.stem + 1), start, stop);
  });
}

}  // namespace

Result<fts5_api*> GetFts5Api(sqlite3* db) {
  if (db == nullptr) return InvalidArgument("GetFts5Api: no database connection");
  auto stmt = sql::Stmt::Prepare(db, "SELECT fts5(?1)");
  if (!stmt.ok()) {
    return Unsupported(std::string("this SQLite has no FTS5: ") + sqlite3_errmsg(db));
  }
  fts5_api* api = nullptr;
  stmt->BindPointer(1, &api, "fts5_api_ptr");
  auto row = stmt->Step();
  if (!row.ok() || !*row || api == nullptr) {
    return Unsupported("this SQLite has no FTS5 (fts5() returned no API)");
  }
  if (api->iVersion < 2) return Unsupported("this SQLite's FTS5 API is too old (need version 2)");
  return api;
}

Status RegisterTokenizer(sqlite3* db) {
  ESTELIK_ASSIGN_OR_RETURN(fts5_api * api, GetFts5Api(db));
  fts5_tokenizer tokenizer{&Create, &Delete, &Tokenize};
  const int rc = api->xCreateTokenizer(api, kTokenizerName, nullptr, &tokenizer, nullptr);
  if (rc != SQLITE_OK) {
    return Internal(std::string("could not register the FTS5 tokenizer 'estelik': ") +
                    sqlite3_errstr(rc));
  }
  return Status::Ok();
}

std::vector<SearchToken> TokenizeForSearch(std::string_view text) {
  std::vector<SearchToken> tokens;
  const size_t length = text.size() > static_cast<size_t>(INT_MAX) ? INT_MAX : text.size();
  const auto* base = reinterpret_cast<const unsigned char*>(text.data());
  ForEachToken(base, base + length, [&](const unsigned char* b, const unsigned char* e) {
    char key[kMaxFoldedKeyBytes];
    char stem[kMaxFoldedKeyBytes];
    const FoldedToken t = FoldWithStem(
        std::string_view(reinterpret_cast<const char*>(b), static_cast<size_t>(e - b)), key, stem);
    if (t.key > 0) {
      SearchToken token{std::string(key, t.key), static_cast<int>(b - base),
                        static_cast<int>(e - base), std::string()};
      if (!SameKey(key, t.key, stem, t.stem)) token.stem.assign(stem, t.stem);
      tokens.push_back(std::move(token));
    }
    return 0;
  });
  return tokens;
}

}  // namespace estelik::store
