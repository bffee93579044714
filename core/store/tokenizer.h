// The "estelik" FTS5 tokenizer: splits text into words and indexes each word under its
// script-folded key (core/store/fold.h), so Жаңаөзен, Жанаозен, Jañaözen and Zhanaozen are one
// term. Token offsets are those of the original bytes: snippet() and highlight() mark the
// spelling the author wrote.
//
// Each word is indexed under its exact key and, when its stem key differs (Жаңаөзенде:
// "janaozende" and stem "janaozen"; FoldWithStem), also under kStemKeyMarker + stem at the same
// position (FTS5_TOKEN_COLOCATED). A query word ("Ақтауға") matches its stem as a whole word
// or as a stem ("aktau" OR "_aktau"), so every inflected form finds every other; a query string
// that starts with kExactQueryMarker matches exact keys only (Store::Search adds such a phrase
// beside each word so that exact forms rank first). See docs/FORMAT.md "Search folding".
//
// Tokens are maximal runs of letters, digits and combining marks of any script; an apostrophe
// (' ’ ʼ ʻ `) joins two such runs (don't, Jan'aozen). Everything else separates, invalid UTF-8
// included. Prefix queries ("Жана*") fold the prefix and match keys that start with it.
//
// Usage:  ESTELIK_RETURN_IF_ERROR(store::RegisterTokenizer(db));
//         CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize='estelik');
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace estelik::store {

inline constexpr char kTokenizerName[] = "estelik";
// First byte of a stem key in the index. No exact key contains it ('_' folds to nothing).
inline constexpr char kStemKeyMarker = '_';
// A query string (FTS5 phrase) starting with this byte matches exact keys only, not stems.
// The byte is a separator everywhere else, so user text can never carry it into a word.
inline constexpr char kExactQueryMarker = '\x01';

// Registers the tokenizer on `db` (not owned) under kTokenizerName. Call once per connection,
// before any statement touches a table declared with tokenize='estelik'. Returns Unsupported
// if this SQLite has no FTS5. The tokenizer is stateless and safe on any connection/thread.
Status RegisterTokenizer(sqlite3* db);

// The FTS5 extension API of `db` (owned by the connection, valid while it is open).
Result<fts5_api*> GetFts5Api(sqlite3* db);

// One token as the tokenizer emits it: the folded key, the byte range [start, end) of the
// original word in the input, and its stem key when it differs from the key ("" otherwise; the
// index holds it as kStemKeyMarker + stem at the same position).
struct SearchToken {
  std::string key;
  int start = 0;
  int end = 0;
  std::string stem;
  bool operator==(const SearchToken&) const = default;
};

// Tokenizes `text` exactly as FTS5 documents are tokenized (for tests and tools).
std::vector<SearchToken> TokenizeForSearch(std::string_view text);

}  // namespace estelik::store
