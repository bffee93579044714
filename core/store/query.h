// Turns what a user typed into a safe SQLite FTS5 MATCH expression.
//
// Every word and phrase is emitted as a double-quoted FTS5 string, so no user input is ever
// read by FTS5 as syntax. Understood, case-sensitively as FTS5 does: "quoted phrases",
// prefix* , AND, OR, NOT (binary: `a NOT b`), a leading `-word` (exclude), `+word`, and
// parentheses. Anything malformed is repaired: unbalanced quotes and parentheses are closed,
// operators without operands are dropped, `*`, `^`, `:` and other punctuation alone are
// ignored. Words with no letter or digit are dropped (they would match nothing).
//
// Thread-safe (pure function).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace estelik::store {

// Returns the FTS5 expression, or kInvalidArgument when nothing searchable remains
// ("search text is empty") or only excluded words were given, or the input is absurd
// (longer than 4096 bytes, nested deeper than 16 parentheses, more than 64 words).
Result<std::string> BuildMatchExpression(std::string_view user_text);

// The phrases of a BuildMatchExpression result, in order, joined by OR: a row matches it when
// any phrase of `match` occurs in it, and FTS5 numbers its phrases as in `match`.
std::string PhraseUnion(std::string_view match);

}  // namespace estelik::store
