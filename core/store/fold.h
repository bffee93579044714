// Script-aware search folding: one search key per token, whatever the script.
//
// Survivors write the same name in Kazakh Cyrillic, Russian Cyrillic, Kazakh Latin (2021
// alphabet) and English transliteration (Жаңаөзен / Жанаозен / Jañaözen / Zhanaozen). The fold
// maps every spelling to one reduced Latin "skeleton" by general letter and digraph rules (no
// list of names): Cyrillic is transliterated, case and diacritics are dropped, sounds that the
// scripts spell differently are merged (zh/j/ж -> j; q/қ/х/kh -> k; y/ы/і/и/й -> i; ng before
// a vowel -> n; ...) and doubled letters collapse. The full rule table, its order and the
// deliberate over-merges are in docs/FORMAT.md, "Search folding". Each token also has a stem
// key (FoldWithStem): the key without its Kazakh, Russian or English inflectional endings, so
// that Ақтауға, Aqtauda and Актау meet (FORMAT.md "Stems").
//
// The FTS index stores folded keys, so the rules are part of the on-disk format: any change to
// them must bump kFoldVersion, and a store whose index was built with another version must
// rebuild it (the FTS5 'rebuild' command).
//
// All functions are pure, allocation-free unless they return a std::string, thread-safe, and
// accept any bytes: invalid UTF-8 is skipped, never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace estelik::store {

// Version of the folding rules. Bump on ANY change of the output of FoldForSearch or
// StemForSearch (FoldTest.FoldVersionIsPinned pins both).
inline constexpr int kFoldVersion = 3;

// Folded keys are truncated to at most this many bytes (on a UTF-8 boundary).
inline constexpr size_t kMaxFoldedKeyBytes = 128;

// Folds one token (already split by the tokenizer: letters, digits, combining marks and
// apostrophes between letters) to its search key: lower-case ASCII for Latin and Cyrillic,
// other scripts passed through as UTF-8. Returns "" when nothing searchable remains.
std::string FoldForSearch(std::string_view utf8_token);

// The same fold into `out`, a buffer of at least kMaxFoldedKeyBytes bytes; returns the key
// length. With `prefix` the token is a query prefix ("Тенг*"): a trailing "ng", whose g the
// full word loses before a vowel ("Тенгиз" -> "teniz"), is shortened to "n" so it still matches.
size_t FoldInto(std::string_view utf8_token, char* out, bool prefix = false);

// A token's two keys, as FoldWithStem writes them.
struct FoldedToken {
  size_t key = 0;   // length of the exact key (FoldInto without prefix)
  size_t stem = 0;  // length of the stem key; equal bytes to the key when nothing was stripped
};

// Folds one token to its exact key (into `key`) and to its stem key (into `stem`), both buffers
// of at least kMaxFoldedKeyBytes bytes. The stem is the key of the word with its Kazakh case,
// plural and possessive suffixes, Russian declension endings and English possessive removed by
// the rules of docs/FORMAT.md "Search folding" (no dictionary): Жаңаөзенде, Жанаозене,
// Jañaözende and Zhanaozen's all stem to "janaozen"; Есенова, Есеновтың and Yesenova to
// "esenov". Stems keep at least 4 letters; a word that would lose more is left whole.
FoldedToken FoldWithStem(std::string_view utf8_token, char* key, char* stem);

// The stem key of one token (FoldWithStem's second key), for tests and tools.
std::string StemForSearch(std::string_view utf8_token);

// How the tokenizer treats a code point.
enum class CharClass : uint8_t {
  kSeparator,   // space, punctuation, symbols, emoji, invalid UTF-8
  kToken,       // letters, digits, combining marks, other scripts
  kApostrophe,  // ' ’ ʼ ʻ `: part of a token only between two token characters
};

// Class of a code point >= 0x80 (ASCII is classified by the caller's own table).
CharClass ClassifyNonAscii(uint32_t cp);

// Decodes one UTF-8 sequence at p (p < end). Returns the code point and its byte length
// (>= 1); an invalid, overlong, surrogate or truncated sequence yields kInvalidCodePoint with
// length 1 so the caller resynchronises on the next byte.
inline constexpr uint32_t kInvalidCodePoint = 0xFFFFFFFF;
struct Utf8Char {
  uint32_t cp;
  uint32_t len;
};
inline Utf8Char DecodeUtf8(const unsigned char* p, const unsigned char* end) {
  const uint32_t b0 = p[0];
  if (b0 < 0x80) return {b0, 1};
  const auto cont = [&](ptrdiff_t i) { return p + i < end && (p[i] & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (!cont(1)) return {kInvalidCodePoint, 1};
    return {((b0 & 0x1F) << 6) | (p[1] & 0x3F), 2};
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!cont(1) || !cont(2)) return {kInvalidCodePoint, 1};
    const uint32_t cp = ((b0 & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return {kInvalidCodePoint, 1};
    return {cp, 3};
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return {kInvalidCodePoint, 1};
    const uint32_t cp =
        ((b0 & 0x07) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    if (cp < 0x10000 || cp > 0x10FFFF) return {kInvalidCodePoint, 1};
    return {cp, 4};
  }
  return {kInvalidCodePoint, 1};
}

}  // namespace estelik::store
