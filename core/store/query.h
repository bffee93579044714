// Turns what a user typed into a safe SQLite FTS5 MATCH expression.
//
// Every word and phrase is emitted as a double-quoted FTS5 string, so no user input is ever
// read by FTS5 as syntax. Understood, case-sensitively as FTS5 does: "quoted phrases",
// prefix* , AND, OR, NOT (binary: `a NOT b`), a leading `-word` (exclude), `+word`, and
// parentheses. Anything malformed is repaired: unbalanced quotes and parentheses are closed,
// operators without operands are dropped, `*`, `^`, `:` and other punctuation alone are
// ignored. Words with no letter or digit are dropped (they would match nothing). Any text is
// valid: text past 4096 bytes, words past the 64th and parentheses nested deeper than 16 are
// ignored, and a text of operators only ("AND OR NOT") searches those words.
//
// Each word or phrase that is looked for (not excluded, not a prefix) becomes
// ("\x01word" OR "word"): "word" matches every inflected form (the tokenizer's stem
// synonyms, core/store/tokenizer.h) and "\x01word" the exact form only, which adds its own
// bm25 term so exact forms rank above forms that share only the stem.
//
// Thread-safe (pure function).
#pragma once

#include <string>
#include <string_view>

namespace estelik::store {

// Returns the FTS5 expression, or "" when nothing is searchable: no word with a letter or
// digit, or only words to exclude ("-strike", "NOT strike"). Search returns an empty page then.
std::string BuildMatchExpression(std::string_view user_text);

// The phrases of a BuildMatchExpression result, in order, joined by OR: a row matches it when
// any phrase of `match` occurs in it, and FTS5 numbers its phrases as in `match`.
std::string PhraseUnion(std::string_view match);

// True when `match` (a BuildMatchExpression result) is phrases joined only by OR: a row matches
// it exactly when some phrase occurs in it. False when it holds AND or NOT.
bool IsDisjunction(std::string_view match);

}  // namespace estelik::store
