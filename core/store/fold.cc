#include "core/store/fold.h"

#include <array>
#include <cstring>
#include <iterator>

namespace estelik::store {
namespace {

// Phase 1 maps each code point below kTableSize to 0..3 ASCII bytes (lower case, diacritics
// gone, Cyrillic transliterated). Code points outside the table, or marked kRaw, are copied
// through as UTF-8 so other scripts stay searchable (case-sensitively).
constexpr uint32_t kTableSize = 0x530;  // ASCII .. Cyrillic Supplement
constexpr uint8_t kRaw = 0xFF;

struct Mapping {
  uint8_t len = kRaw;
  char s[3] = {0, 0, 0};
};

struct Table {
  std::array<Mapping, kTableSize> map{};
  std::array<CharClass, kTableSize> cls{};

  constexpr void Set(uint32_t from, uint32_t to, const char* s) {
    uint8_t n = 0;
    while (s[n] != '\0') ++n;
    for (uint32_t cp = from; cp <= to; ++cp) {
      map[cp].len = n;
      for (uint8_t i = 0; i < 3; ++i) map[cp].s[i] = i < n ? s[i] : '\0';
    }
  }
  constexpr void Set(uint32_t cp, const char* s) { Set(cp, cp, s); }
  // Upper and lower case of a Cyrillic pair both map to `s`.
  constexpr void Pair(uint32_t upper, const char* s) { Set(upper, upper + 1, s); }
  constexpr void Class(uint32_t from, uint32_t to, CharClass c) {
    for (uint32_t cp = from; cp <= to; ++cp) cls[cp] = c;
  }
};

constexpr Table BuildTable() {
  Table t;
  t.Class(0, kTableSize - 1, CharClass::kToken);

  // ASCII: letters lower-cased; q -> k and y -> i merge the Kazakh Latin and English spellings
  // with the Cyrillic ones (Aqtau = Ақтау = Aktau; Mangystau = Мангистау). Everything but
  // letters, digits and apostrophes is a separator and is dropped.
  t.Set(0x00, 0x7F, "");
  t.Class(0x00, 0x7F, CharClass::kSeparator);
  for (uint32_t c = '0'; c <= '9'; ++c) {
    const char s[2] = {static_cast<char>(c), 0};
    t.Set(c, s);
    t.Class(c, c, CharClass::kToken);
  }
  for (uint32_t c = 'a'; c <= 'z'; ++c) {
    char lower = static_cast<char>(c);
    if (lower == 'q') lower = 'k';
    if (lower == 'y') lower = 'i';
    const char s[2] = {lower, 0};
    t.Set(c, s);
    t.Set(c - 0x20, s);
    t.Class(c, c, CharClass::kToken);
    t.Class(c - 0x20, c - 0x20, CharClass::kToken);
  }
  t.Set('\'', "'");
  t.Set('`', "'");
  t.Class('\'', '\'', CharClass::kApostrophe);
  t.Class('`', '`', CharClass::kApostrophe);

  // Latin-1 punctuation and symbols: separators, except the few letters and digits in it.
  t.Set(0x80, 0xBF, "");
  t.Class(0x80, 0xBF, CharClass::kSeparator);
  t.Set(0xAA, "a");
  t.Set(0xB5, "m");
  t.Set(0xBA, "o");
  t.Set(0xB2, "2");
  t.Set(0xB3, "3");
  t.Set(0xB9, "1");
  for (uint32_t c : {0xAAu, 0xB5u, 0xBAu, 0xB2u, 0xB3u, 0xB9u, 0xADu}) {
    t.Class(c, c, CharClass::kToken);  // U+00AD soft hyphen: inside a word, folded away
  }

  // Latin-1 letters (upper 0xC0..0xDE, lower 0xE0..0xFE).
  const char* latin1[32] = {"a", "a", "a", "a", "a", "a", "ae", "ch", "e",  "e", "e",
                            "e", "i", "i", "i", "i", "d", "n",  "o",  "o",  "o", "o",
                            "o", "",  "o", "u", "u", "u", "u",  "i",  "th", "ss"};
  for (uint32_t i = 0; i < 32; ++i) {
    t.Set(0xE0 + i, latin1[i]);
    if (i != 0x1F) t.Set(0xC0 + i, latin1[i]);  // 0xDF is ß itself
  }
  t.Set(0xD7, "");  // ×
  t.Set(0xF7, "");  // ÷
  t.Class(0xD7, 0xD7, CharClass::kSeparator);
  t.Class(0xF7, 0xF7, CharClass::kSeparator);
  t.Set(0xFF, "i");  // ÿ

  // Latin Extended-A: upper/lower pairs share a mapping. Letters that spell a Cyrillic
  // hissing sound in Kazakh or ISO 9 romanisation take its digraph (ş š -> sh, č -> ch, ž -> j).
  t.Set(0x100, 0x105, "a");
  t.Set(0x106, 0x10B, "c");
  t.Set(0x10C, 0x10D, "ch");
  t.Set(0x10E, 0x111, "d");
  t.Set(0x112, 0x11B, "e");
  t.Set(0x11C, 0x123, "g");
  t.Set(0x124, 0x127, "h");
  t.Set(0x128, 0x131, "i");  // includes İ and dotless ı (Kazakh Latin і)
  t.Set(0x132, 0x133, "ij");
  t.Set(0x134, 0x135, "j");
  t.Set(0x136, 0x138, "k");
  t.Set(0x139, 0x142, "l");
  t.Set(0x143, 0x14B, "n");  // ñ-like: ń ņ ň ŉ ŋ
  t.Set(0x14C, 0x151, "o");
  t.Set(0x152, 0x153, "oe");
  t.Set(0x154, 0x159, "r");
  t.Set(0x15A, 0x15B, "s");
  t.Set(0x15C, 0x161, "sh");  // ŝ ş š
  t.Set(0x162, 0x167, "t");
  t.Set(0x168, 0x173, "u");  // includes ū (Kazakh Latin ұ)
  t.Set(0x174, 0x175, "w");
  t.Set(0x176, 0x178, "i");
  t.Set(0x179, 0x17C, "z");
  t.Set(0x17D, 0x17E, "j");
  t.Set(0x17F, "s");

  // Latin Extended-B / IPA: only the letters used in Turkic and Slavic romanisations.
  t.Set(0x18F, "a");  // Ə (Azerbaijani/old Kazakh Latin ә)
  t.Set(0x259, "a");  // ə
  t.Set(0x1A0, 0x1A1, "o");
  t.Set(0x1AF, 0x1B0, "u");
  t.Set(0x1B5, 0x1B6, "z");
  t.Set(0x1CD, 0x1CE, "a");
  t.Set(0x1CF, 0x1D0, "i");
  t.Set(0x1D1, 0x1D2, "o");
  t.Set(0x1D3, 0x1DC, "u");
  t.Set(0x1E6, 0x1E7, "g");
  t.Set(0x1F0, "j");
  t.Set(0x1F4, 0x1F5, "g");
  t.Set(0x218, 0x219, "sh");
  t.Set(0x21A, 0x21B, "ts");

  // Spacing modifier letters: ʻ ʼ are apostrophes (Uzbek o‘, Kazakh 2018 Latin n'), the rest
  // (stress marks, tone letters) vanish inside a word.
  t.Set(0x2B0, 0x2FF, "");
  t.Set(0x2BB, 0x2BC, "'");
  t.Class(0x2BB, 0x2BC, CharClass::kApostrophe);
  // Combining diacritics (decomposed input: и + ̆  = й) vanish.
  t.Set(0x300, 0x36F, "");

  // Greek: upper case to lower case, otherwise raw.
  for (uint32_t c = 0x391; c <= 0x3A9; ++c) {
    if (c == 0x3A2) continue;
    const uint32_t lower = c + 0x20;
    const char s[3] = {static_cast<char>(0xC0 | (lower >> 6)),
                       static_cast<char>(0x80 | (lower & 0x3F)), 0};
    t.Set(c, s);
  }
  t.Set(0x37E, "");
  t.Set(0x387, "");
  t.Class(0x37E, 0x37E, CharClass::kSeparator);
  t.Class(0x387, 0x387, CharClass::kSeparator);

  // Cyrillic. Basic alphabet а..я (upper case 0x410.., lower case 0x430..).
  const char* cyr[32] = {"a",  "b",  "v",  "g",  "d", "e", "j", "z", "i",  "i", "k",
                         "l",  "m",  "n",  "o",  "p", "r", "s", "t", "u",  "f", "k",
                         "ts", "ch", "sh", "sh", "",  "i", "",  "e", "iu", "ia"};
  for (uint32_t i = 0; i < 32; ++i) {
    t.Set(0x410 + i, cyr[i]);
    t.Set(0x430 + i, cyr[i]);
  }
  // Ѐ Ё Ђ Ѓ Є Ѕ І Ї Ј Љ Њ Ћ Ќ Ѝ Ў Џ and their lower case 0x450..0x45F.
  const char* cyr_ext[16] = {"e", "e", "d", "g",  "e", "z", "i", "i",
                             "j", "l", "n", "ch", "k", "i", "u", "j"};
  for (uint32_t i = 0; i < 16; ++i) {
    t.Set(0x400 + i, cyr_ext[i]);
    t.Set(0x450 + i, cyr_ext[i]);
  }
  t.Set(0x482, "");
  t.Class(0x482, 0x482, CharClass::kSeparator);
  t.Set(0x483, 0x489, "");  // combining titlo etc.
  t.Pair(0x490, "g");       // Ґ
  t.Pair(0x492, "g");       // Ғ
  t.Pair(0x496, "j");       // Җ
  t.Pair(0x49A, "k");       // Қ
  t.Pair(0x4A2, "n");       // Ң
  t.Pair(0x4A4, "n");       // Ҥ
  t.Pair(0x4AE, "u");       // Ү
  t.Pair(0x4B0, "u");       // Ұ
  t.Pair(0x4B6, "ch");      // Ҷ
  t.Pair(0x4BA, "h");       // Һ
  t.Pair(0x4D8, "a");       // Ә
  t.Pair(0x4E2, "i");       // Ӣ
  t.Pair(0x4E8, "o");       // Ө
  t.Pair(0x4EE, "u");       // Ӯ
  return t;
}

constexpr Table kTable = BuildTable();

// Phase 1 may expand (щ -> "sh", ю -> "iu"); it stops filling at this size, which bounds the
// work per token whatever its length.
constexpr size_t kWorkBytes = 3 * kMaxFoldedKeyBytes + 8;

constexpr bool IsAsciiLetter(unsigned char c) { return c >= 'a' && c <= 'z'; }
constexpr bool IsVowel(unsigned char c) {
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}
constexpr bool IsCollapsible(unsigned char c) {
  return IsAsciiLetter(c) && c != 'a' && c != 'e' && c != 'o' && c != 'u';
}

size_t Phase1(std::string_view token, char* work) {
  const auto* p = reinterpret_cast<const unsigned char*>(token.data());
  const auto* end = p + token.size();
  size_t n = 0;
  while (p < end && n + 4 <= kWorkBytes) {
    const Utf8Char ch = DecodeUtf8(p, end);
    if (ch.cp == kInvalidCodePoint) {
      ++p;
      continue;
    }
    if (ch.cp < kTableSize && kTable.map[ch.cp].len != kRaw) {
      const Mapping& m = kTable.map[ch.cp];
      for (uint8_t i = 0; i < m.len; ++i) work[n++] = m.s[i];
    } else if (ch.cp >= kTableSize) {
      const CharClass cls = ClassifyNonAscii(ch.cp);
      if (cls == CharClass::kApostrophe) {
        work[n++] = '\'';
      } else if (cls == CharClass::kToken) {
        std::memcpy(work + n, p, ch.len);  // another script: keep its bytes
        n += ch.len;
      }
    } else {
      std::memcpy(work + n, p, ch.len);
      n += ch.len;
    }
    p += ch.len;
  }
  return n;
}

// Phase 2 rewrites digraphs left to right on the phase-1 bytes and collapses doubled letters.
class KeyWriter {
 public:
  explicit KeyWriter(char* out) : out_(out) {}
  // Returns false when the key is full.
  bool Put(char c) {
    // Doubled consonants and i collapse (Assel = Асель, -ий = -iy = -i); doubled a e o u stay,
    // they only occur in English (meet/met, too/to stay apart).
    if (n_ > 0 && out_[n_ - 1] == c && IsCollapsible(static_cast<unsigned char>(c))) return true;
    if (n_ >= kMaxFoldedKeyBytes) return false;
    out_[n_++] = c;
    return true;
  }
  bool PutRaw(const char* s, size_t len) {
    if (n_ + len > kMaxFoldedKeyBytes) return false;
    std::memcpy(out_ + n_, s, len);
    n_ += len;
    return true;
  }
  char last() const { return n_ > 0 ? out_[n_ - 1] : '\0'; }
  size_t size() const { return n_; }

 private:
  char* out_;
  size_t n_ = 0;
};

size_t Phase2(const char* w, size_t n, char* out, bool prefix) {
  KeyWriter key(out);
  const auto at = [&](size_t i) -> unsigned char { return i < n ? w[i] : '\0'; };
  size_t i = 0;
  bool room = true;
  while (i < n && room) {
    const unsigned char c = w[i];
    if (c >= 0x80) {  // a raw UTF-8 sequence from another script: copy it whole
      size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      if (i + len > n) break;
      room = key.PutRaw(w + i, len);
      i += len;
      continue;
    }
    const unsigned char c1 = at(i + 1);
    if (c == '\'') {
      // Kazakh 2018 Latin s' c' are ш ч; "'s" ending a word is the English possessive;
      // any other apostrophe just vanishes (n' g' a' o' u' i').
      const char prev = key.last();
      if ((prev == 's' || prev == 'c') && IsAsciiLetter(c1)) {
        room = key.Put('h');
      } else if (c1 == 's' && i + 2 == n) {
        break;
      }
      i += 1;
      continue;
    }
    if (c == 's' && c1 == 'h' && at(i + 2) == 'c' && at(i + 3) == 'h') {  // shch (щ) -> sh
      room = key.Put('s') && key.Put('h');
      i += 4;
    } else if (c == 'd' && c1 == 'z' && at(i + 2) == 'h') {  // dzh -> j
      room = key.Put('j');
      i += 3;
    } else if (c == 'd' && c1 == 'j') {  // dj, дж -> j
      room = key.Put('j');
      i += 2;
    } else if (c == 'z' && c1 == 'h') {  // zh -> j
      room = key.Put('j');
      i += 2;
    } else if (c == 'i' && c1 == 'e' && (key.size() == 0 || IsVowel(key.last()))) {
      i +=
          1;  // y/i gliding into e, word-initially or after a vowel: Yesenov = Есенов, -ayev = -аев
    } else if (c == 'i' && ((c1 == 'e' && at(i + 2) == 'v') ||
                            (c1 == 'i' && at(i + 2) == 'e' && at(i + 3) == 'v'))) {
      // -ьев/-иев after a consonant: Vasilyev = Vasiliev = Васильев, Aliyev = Алиев.
      i += c1 == 'i' ? 2 : 1;
    } else if ((c == 'k' || c == 'g') && c1 == 'h') {  // kh -> k, gh -> g
      room = key.Put(static_cast<char>(c));
      i += 2;
    } else if (c == 'n' && c1 == 'g' && (IsVowel(at(i + 2)) || (prefix && i + 2 == n))) {
      room = key.Put('n');  // ng before a vowel -> n (ң, ñ, нг)
      i += 2;
    } else {
      room = key.Put(static_cast<char>(c));
      i += 1;
    }
  }
  return key.size();
}

// --- Stemming (docs/FORMAT.md "Search folding", "Stems") ---
//
// Suffixes are stripped from the phase-1 bytes (transliterated, lower case, doubled letters
// not yet collapsed, so Жаңаөзен+нің = "janaozen"+"nin" is not mistaken for "janaoze"+"nin"),
// then the stem goes through phase 2 like any key.

// What may precede a suffix: the class of the last letter of the stem.
enum Ctx : uint16_t {
  kV = 1,   // a vowel: a e i o u (i also й, u also у)
  kZ = 2,   // a voiced consonant or glide: l r z j, and i u (й, у)
  kN = 4,   // a nasal: m n (ң folds to n)
  kT = 8,   // a voiceless consonant: k p s t f h (ш ч щ х end in h), and b d g v (loans: -ов)
  kC = 16,  // any consonant (not a e i o u)
  kPoss = 32,  // the possessive vowel i (алаң-ы-нда)
  kSurn = 64,  // a stem ending in ov, ev or in (Russian surnames)
  kYot = 128,  // a vowel other than i (Russian й-stems: Кызылсай, Кызылсая); the suffix -> i
  kCu = 256,  // any consonant, or u (Ақтау-ы)
};

struct Suffix {
  const char* s;
  uint8_t len;
  uint16_t ctx;
};

// Longest first: the first applicable entry is taken.
// clang-format off
constexpr Suffix kSuffixes[] = {
    // Kazakh locative-attributive -дағы (after a possessive -ндағы).
    {"ndagi", 5, kPoss}, {"ndegi", 5, kPoss},
    {"dagi", 4, kV | kZ | kN}, {"degi", 4, kV | kZ | kN}, {"tagi", 4, kT}, {"tegi", 4, kT},
    // Kazakh possessive "our", "your (polite)": Ақтау-ымыз, алаң-ыңыз.
    {"imiz", 4, kCu}, {"iniz", 4, kCu},
    // Kazakh ablative, genitive, instrumental, plural; locative after a possessive.
    {"dan", 3, kV | kZ}, {"den", 3, kV | kZ}, {"nan", 3, kN | kPoss}, {"nen", 3, kN | kPoss},
    {"tan", 3, kT}, {"ten", 3, kT},
    {"nin", 3, kV | kN}, {"din", 3, kZ}, {"tin", 3, kT},
    {"men", 3, kV | kN | kZ}, {"ben", 3, kZ}, {"pen", 3, kT},
    {"lar", 3, kV | kZ}, {"ler", 3, kV | kZ}, {"dar", 3, kZ | kN}, {"der", 3, kZ | kN},
    {"tar", 3, kT}, {"ter", 3, kT},
    {"nda", 3, kPoss}, {"nde", 3, kPoss},
    // Kazakh possessive after a vowel (Шетпе-міз); -лық "of, from" (Жаңаөзен-дік, Ақтау-лық).
    {"miz", 3, kV}, {"niz", 3, kV},
    {"lik", 3, kV | kZ}, {"dik", 3, kZ | kN}, {"tik", 3, kT},
    // Russian -ою/-ею, plural instrumental -ами/-ыми.
    {"oiu", 3, kC}, {"eiu", 3, kC}, {"ami", 3, kC}, {"imi", 3, kC},
    // Kazakh dative, locative, accusative, possessive.
    {"ga", 2, kV | kZ | kN}, {"ge", 2, kV | kZ | kN}, {"ka", 2, kT}, {"ke", 2, kT},
    {"na", 2, kPoss}, {"ne", 2, kPoss},
    {"da", 2, kV | kZ | kN}, {"de", 2, kV | kZ | kN}, {"ta", 2, kT}, {"te", 2, kT},
    {"ni", 2, kV}, {"di", 2, kZ | kN}, {"ti", 2, kT}, {"si", 2, kV},
    // Russian -ом -ем -ым/им -ой -ей -ых/их; Kazakh -ым/ім; й-stems -я -ю -ем.
    {"om", 2, kC}, {"em", 2, kC}, {"im", 2, kCu}, {"oi", 2, kC}, {"ei", 2, kC},
    {"ik", 2, kSurn}, {"ia", 2, kYot}, {"iu", 2, kYot}, {"em", 2, kYot},
    // Russian -а -у -е -ы/и (Kazakh possessive -ы/і), й-stem -е; English plural of a surname.
    {"a", 1, kC}, {"u", 1, kC}, {"e", 1, kC}, {"i", 1, kCu}, {"e", 1, kYot}, {"s", 1, kSurn},
};
// clang-format on

// kSuffixes indices by the suffix's last letter, longest first (the table's order), so a word
// is compared only with the few suffixes that end like it.
struct SuffixIndex {
  std::array<std::array<uint8_t, 16>, 26> at{};
  std::array<uint8_t, 26> count{};
};
constexpr SuffixIndex BuildSuffixIndex() {
  SuffixIndex x;
  for (size_t i = 0; i < std::size(kSuffixes); ++i) {
    const int last = kSuffixes[i].s[kSuffixes[i].len - 1] - 'a';
    x.at[last][x.count[last]++] = static_cast<uint8_t>(i);
  }
  return x;
}
constexpr SuffixIndex kSuffixIndex = BuildSuffixIndex();

constexpr size_t kMinStemLetters = 4;
constexpr int kMaxStrips = 4;

uint16_t ContextOf(const char* w, size_t m) {
  const unsigned char c = w[m - 1];
  uint16_t ctx = 0;
  if (IsVowel(c)) {
    ctx |= kV;
    if (c == 'i' || c == 'u') ctx |= kZ;
    if (c == 'i') ctx |= kPoss;
    if (c != 'i') ctx |= kYot;
    if (c == 'u') ctx |= kCu;
  } else {
    ctx |= kC | kCu;
    if (c == 'l' || c == 'r' || c == 'z' || c == 'j') ctx |= kZ;
    if (c == 'm' || c == 'n') ctx |= kN;
    if (c == 'k' || c == 'p' || c == 's' || c == 't' || c == 'f' || c == 'h' || c == 'b' ||
        c == 'd' || c == 'g' || c == 'v')
      ctx |= kT;
  }
  if (m >= 2 && (c == 'v' || c == 'n') &&
      (w[m - 2] == 'o' || w[m - 2] == 'e' || (c == 'n' && w[m - 2] == 'i')))
    ctx |= kSurn;
  return ctx;
}

// Stems the phase-1 bytes w[0, n) in place; returns the stem's length (<= n) and sets
// *changed when any suffix was stripped or rewritten.
size_t StemPhase1(char* w, size_t n, bool* changed) {
  *changed = false;
  if (n >= 2 && w[n - 2] == '\'' && w[n - 1] == 's') {  // English possessive
    n -= 2;
    *changed = true;
  }
  // One pass: only ASCII letters are stemmed (digits, other scripts: left as they are), and
  // apostrophes of the Kazakh 2018 Latin alphabet (Jan'aozende, -nin') vanish as phase 2 would
  // drop them, except after s and c (s' = ш), so that the suffixes show. Counts the letters.
  size_t kept = 0, letters = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(w[i]);
    if (c == '\'') {
      if (kept > 0 && (w[kept - 1] == 's' || w[kept - 1] == 'c')) {
        w[kept++] = '\'';
      } else {
        *changed = true;
      }
      continue;
    }
    if (!IsAsciiLetter(c)) return n;
    // A digraph's h (sh zh kh gh ch) is not a letter of its own: Шетпе and Şetpe agree.
    if (c != 'h' || kept == 0 ||
        (w[kept - 1] != 's' && w[kept - 1] != 'z' && w[kept - 1] != 'k' && w[kept - 1] != 'g' &&
         w[kept - 1] != 'c'))
      ++letters;
    w[kept++] = static_cast<char>(c);
  }
  n = kept;
  for (int round = 0; round < kMaxStrips; ++round) {
    bool stripped = false;
    if (n == 0 || w[n - 1] < 'a' || w[n - 1] > 'z') break;
    const int last = w[n - 1] - 'a';
    for (uint8_t k = 0; k < kSuffixIndex.count[last]; ++k) {
      const Suffix& s = kSuffixes[kSuffixIndex.at[last][k]];
      const bool yot = s.ctx == kYot;  // Кызылсая, Кызылсае -> Кызылсай
      // Too short a stem: try a shorter suffix (алаңы is алаң+ы, not ала+ңы); a word with no
      // strippable suffix is left whole (қара, ақ, жол, сот are words, not stems). Suffixes
      // hold no h, so each of their bytes is a letter.
      if (s.len >= n || letters + (yot ? 1 : 0) < kMinStemLetters + s.len) continue;
      uint8_t j = 2;  // the last letter matched by the index; compare the rest from the end
      while (j <= s.len && w[n - j] == s.s[s.len - j]) ++j;
      if (j <= s.len) continue;
      const size_t m = n - s.len;
      if ((ContextOf(w, m) & s.ctx) == 0) continue;
      n = m;
      letters -= s.len;
      if (yot) {
        w[n++] = 'i';
        ++letters;
      }
      stripped = *changed = true;
      break;
    }
    if (!stripped) break;
  }
  return n;
}

}  // namespace

FoldedToken FoldWithStem(std::string_view utf8_token, char* key, char* stem) {
  char work[kWorkBytes];
  const size_t n = Phase1(utf8_token, work);
  FoldedToken out;
  out.key = Phase2(work, n, key, false);
  bool changed = false;
  const size_t m = StemPhase1(work, n, &changed);
  if (changed) {
    out.stem = Phase2(work, m, stem, false);
  } else {
    std::memcpy(stem, key, out.key);
    out.stem = out.key;
  }
  return out;
}

std::string StemForSearch(std::string_view utf8_token) {
  char key[kMaxFoldedKeyBytes];
  char stem[kMaxFoldedKeyBytes];
  const FoldedToken t = FoldWithStem(utf8_token, key, stem);
  return std::string(stem, t.stem);
}

size_t FoldInto(std::string_view utf8_token, char* out, bool prefix) {
  char work[kWorkBytes];
  const size_t n = Phase1(utf8_token, work);
  return Phase2(work, n, out, prefix);
}

std::string FoldForSearch(std::string_view utf8_token) {
  char out[kMaxFoldedKeyBytes];
  return std::string(out, FoldInto(utf8_token, out));
}

CharClass ClassifyNonAscii(uint32_t cp) {
  if (cp < kTableSize) return kTable.cls[cp];
  if (cp == 0x2019 || cp == 0x2018) return CharClass::kApostrophe;
  if (cp == kInvalidCodePoint) return CharClass::kSeparator;
  // General punctuation, symbols, arrows, maths, box drawing, dingbats ...
  if ((cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x2E00 && cp <= 0x2E7F) ||
      (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
      (cp >= 0xFF00 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
      (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) || cp == 0xFEFF ||
      (cp >= 0xFFF0 && cp <= 0xFFFF) || (cp >= 0x1F000 && cp <= 0x1FAFF)) {
    return CharClass::kSeparator;
  }
  return CharClass::kToken;
}

}  // namespace estelik::store
