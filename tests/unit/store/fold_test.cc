// The search fold: every spelling of a name in the four scripts folds to one key, by general
// rules (docs/FORMAT.md "Search folding"), while distinct words stay apart.
#include "core/store/fold.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace estelik::store {
namespace {

struct Group {
  std::string key;
  std::vector<std::string> spellings;
};

const std::vector<Group>& PlaceGroups() {
  static const std::vector<Group> groups = {
      {"janaozen", {"Жаңаөзен", "Жанаозен", "Zhanaozen", "Janaozen", "Jañaözen"}},
      {"aktau", {"Ақтау", "Актау", "Aktau", "Aqtau"}},
      {"manistau", {"Маңғыстау", "Мангистау", "Mangystau", "Mañğystau", "Mangistau"}},
      {"kazakstan", {"Қазақстан", "Казахстан", "Kazakhstan", "Qazaqstan"}},
      {"teniz", {"Теңіз", "Тенгиз", "Teñiz", "Tengiz", "Teñız"}},
      {"atirau", {"Атырау", "Atyrau"}},
      {"karajanbas", {"Қаражанбас", "Каражанбас", "Karazhanbas", "Qarajanbas"}},
  };
  return groups;
}

TEST(FoldTest, EverySpellingOfAPlaceFoldsToOneKey) {
  for (const Group& g : PlaceGroups()) {
    for (const std::string& s : g.spellings) {
      EXPECT_EQ(FoldForSearch(s), g.key) << s;
    }
  }
}

TEST(FoldTest, DifferentPlacesKeepDifferentKeys) {
  const auto& groups = PlaceGroups();
  for (size_t i = 0; i < groups.size(); ++i) {
    for (size_t j = i + 1; j < groups.size(); ++j) {
      EXPECT_NE(groups[i].key, groups[j].key);
    }
  }
}

TEST(FoldTest, CaseNeverMatters) {
  for (const Group& g : PlaceGroups()) {
    for (const std::string& s : g.spellings) {
      std::string upper;
      // Upper-case ASCII only; the Cyrillic and diacritic upper-case forms are listed below.
      for (char c : s) upper += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
      EXPECT_EQ(FoldForSearch(upper), g.key) << upper;
    }
  }
  EXPECT_EQ(FoldForSearch("ЖАҢАӨЗЕН"), "janaozen");
  EXPECT_EQ(FoldForSearch("МАҢҒЫСТАУ"), "manistau");
  EXPECT_EQ(FoldForSearch("JAÑAÖZEN"), "janaozen");
  EXPECT_EQ(FoldForSearch("MAÑĞYSTAU"), "manistau");
  EXPECT_EQ(FoldForSearch("ҚАЗАҚСТАН"), "kazakstan");
  EXPECT_EQ(FoldForSearch("İSTANBUL"), FoldForSearch("istanbul"));
}

TEST(FoldTest, DiacriticsNeverMatter) {
  EXPECT_EQ(FoldForSearch("café"), "cafe");
  EXPECT_EQ(FoldForSearch("Ÿ"), "i");
  EXPECT_EQ(FoldForSearch("naïve"), "naive");
  EXPECT_EQ(FoldForSearch("Ålborg"), "alborg");
  // Decomposed input (letter + combining mark) folds like the precomposed letter.
  EXPECT_EQ(FoldForSearch("e\xCC\x81te\xCC\x81"), "ete");
  EXPECT_EQ(FoldForSearch("и\xCC\x86"), FoldForSearch("й"));
}

struct Rule {
  const char* input;
  const char* key;
};

// One row per letter or digraph rule of docs/FORMAT.md.
TEST(FoldTest, PerLetterRulesMatchTheDocumentedTable) {
  const Rule rules[] = {
      // Kazakh letters.
      {"ә", "a"},
      {"ғ", "g"},
      {"қ", "k"},
      {"ң", "n"},
      {"ө", "o"},
      {"ұ", "u"},
      {"ү", "u"},
      {"һ", "h"},
      {"і", "i"},
      // Russian letters.
      {"а", "a"},
      {"б", "b"},
      {"в", "v"},
      {"г", "g"},
      {"д", "d"},
      {"е", "e"},
      {"ё", "e"},
      {"ж", "j"},
      {"з", "z"},
      {"и", "i"},
      {"й", "i"},
      {"к", "k"},
      {"л", "l"},
      {"м", "m"},
      {"н", "n"},
      {"о", "o"},
      {"п", "p"},
      {"р", "r"},
      {"с", "s"},
      {"т", "t"},
      {"у", "u"},
      {"ф", "f"},
      {"х", "k"},
      {"ц", "ts"},
      {"ч", "ch"},
      {"ш", "sh"},
      {"щ", "sh"},
      {"ъ", ""},
      {"ы", "i"},
      {"ь", ""},
      {"э", "e"},
      {"ю", "iu"},
      {"я", "ia"},
      // Kazakh Latin 2021 and other diacritics.
      {"ä", "a"},
      {"ğ", "g"},
      {"ñ", "n"},
      {"ö", "o"},
      {"ū", "u"},
      {"ü", "u"},
      {"ı", "i"},
      {"ş", "sh"},
      {"ç", "ch"},
      {"š", "sh"},
      {"č", "ch"},
      {"ž", "j"},
      {"ə", "a"},
      // Latin letters that merge.
      {"q", "k"},
      {"y", "i"},
      // Digraphs.
      {"zh", "j"},
      {"kh", "k"},
      {"gh", "g"},
      {"dzh", "j"},
      {"dj", "j"},
      {"shch", "sh"},
      {"ya", "ia"},
      {"yu", "iu"},
      {"nga", "na"},
      {"ng", "ng"},
      // Doubled consonants and i collapse; other doubled vowels stay.
      {"Assel", "asel"},
      {"Mukhammed", "mukamed"},
      {"-skiy", "ski"},
      {"meet", "meet"},
      // Apostrophes: Kazakh 2018 Latin, English possessive and contractions.
      {"Jan'aozen", "janaozen"},
      {"S'ymkent", "shimkent"},
      {"Zhanaozen's", "janaozen"},
      {"Zhanaozen’s", "janaozen"},
      {"don't", "dont"},
      // Digits stay as written, doubled digits included.
      {"2011", "2011"},
      {"100", "100"},
  };
  for (const Rule& r : rules) {
    EXPECT_EQ(FoldForSearch(r.input), r.key) << r.input;
  }
}

TEST(FoldTest, RussianAndKazakhSpellingsOfTheSameWordMeet) {
  EXPECT_EQ(FoldForSearch("жариялады"), FoldForSearch("jariialady"));
  EXPECT_EQ(FoldForSearch("Шымкент"), FoldForSearch("Shymkent"));
  EXPECT_EQ(FoldForSearch("Шымкент"), FoldForSearch("Şymkent"));
  EXPECT_EQ(FoldForSearch("Теңге"), FoldForSearch("тенге"));
  EXPECT_EQ(FoldForSearch("Нұрлан"), FoldForSearch("Nurlan"));
  EXPECT_EQ(FoldForSearch("Айгүл"), FoldForSearch("Aigul"));
  EXPECT_EQ(FoldForSearch("Садықов"), FoldForSearch("Sadykov"));
  EXPECT_EQ(FoldForSearch("Мухаммед"), FoldForSearch("Mukhamed"));
}

TEST(FoldTest, WordsThatMustStayDistinctDo) {
  const std::pair<const char*, const char*> distinct[] = {
      {"Aktau", "Atyrau"},  {"meet", "met"},      {"too", "to"},       {"sing", "sin"},
      {"thing", "thin"},    {"court", "cart"},    {"суд", "сад"},      {"мир", "мер"},
      {"кот", "кит"},       {"shot", "shut"},     {"Ақтау", "Атырау"}, {"hill", "kill"},
      {"Жаңаөзен", "Өзен"}, {"Tengiz", "Teniza"}, {"ата", "әке"},      {"2011", "2012"},
  };
  for (const auto& [a, b] : distinct) {
    EXPECT_NE(FoldForSearch(a), FoldForSearch(b)) << a << " vs " << b;
  }
}

TEST(FoldTest, OtherScriptsPassThroughAndGreekIsLowerCased) {
  EXPECT_EQ(FoldForSearch("東京"), "東京");
  EXPECT_EQ(FoldForSearch("ΑΘΗΝΑ"), FoldForSearch("αθηνα"));
  EXPECT_EQ(FoldForSearch("Երևան"), "Երևան");
}

TEST(FoldTest, InvalidUtf8IsSkippedNeverCrashes) {
  EXPECT_EQ(FoldForSearch("Ak\xFFtau"), "aktau");
  EXPECT_EQ(FoldForSearch("\xD0"), "");              // truncated sequence
  EXPECT_EQ(FoldForSearch("\xC0\xAF"), "");          // overlong '/'
  EXPECT_EQ(FoldForSearch("\xED\xA0\x80"), "");      // UTF-16 surrogate
  EXPECT_EQ(FoldForSearch("\xF4\x90\x80\x80"), "");  // beyond U+10FFFF
  EXPECT_EQ(FoldForSearch(std::string("a\0b", 3)), "ab");
  EXPECT_EQ(FoldForSearch(""), "");
  // Every byte string of length <= 2 folds without incident and stays within bounds.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const char s[2] = {static_cast<char>(a), static_cast<char>(b)};
      EXPECT_LE(FoldForSearch(std::string_view(s, 2)).size(), kMaxFoldedKeyBytes);
    }
  }
}

TEST(FoldTest, HugeTokensAreCappedOnACharacterBoundary) {
  std::string latin(100000, 'b');
  latin += "ab";
  EXPECT_EQ(FoldForSearch(latin), "b");  // collapsed, then nothing past the work window
  std::string mixed;
  for (int i = 0; i < 1000; ++i) mixed += "ab東";
  const std::string key = FoldForSearch(mixed);
  EXPECT_LE(key.size(), kMaxFoldedKeyBytes);
  EXPECT_GT(key.size(), kMaxFoldedKeyBytes - 5);
  // Cut inside a UTF-8 sequence, the key would lose its broken tail when folded again.
  EXPECT_EQ(FoldForSearch(key), key);
}

TEST(FoldTest, PrefixFoldKeepsAPrefixOfTheWholeWordsKey) {
  char out[kMaxFoldedKeyBytes];
  const std::string whole = FoldForSearch("Тенгиз");
  for (const char* prefix : {"Тенг", "Teng", "Teñ", "Тең", "Ten"}) {
    const std::string p(out, FoldInto(prefix, out, /*prefix=*/true));
    EXPECT_EQ(whole.rfind(p, 0), 0u) << prefix << " -> " << p;
  }
  EXPECT_EQ(std::string(out, FoldInto("Mang", out, true)), "man");
  EXPECT_EQ(std::string(out, FoldInto("Mang", out, false)), "mang");
}

TEST(FoldTest, FoldVersionIsPinned) {
  // Changing any rule changes stored index keys: bump kFoldVersion and this pin together.
  EXPECT_EQ(kFoldVersion, 3);
  std::string all;
  for (const char* w :
       {"Жаңаөзен", "Mañğystau", "Kazakhstan", "Тенгиз", "щука", "Assel", "meet", "S'ymkent",
        "dzhigit", "Ёлка", "ΑΘΗΝΑ", "Yesenov", "Zholdybayev", "Vasilyev"}) {
    all += FoldForSearch(w);
    all += '|';
  }
  EXPECT_EQ(all,
            "janaozen|manistau|kazakstan|teniz|shuka|asel|meet|shimkent|jigit|elka|αθηνα|esenov|"
            "joldibaev|vasilev|");
  std::string stems;
  for (const char* w : {"Жаңаөзеннің", "Маңғыстаудағы", "Есеновой", "Қызылсая", "алаңында",
                        "Теңгеде", "Zhanaozen's", "Yesenovs", "Сапаровтарға", "Шетпеге"}) {
    stems += StemForSearch(w);
    stems += '|';
  }
  EXPECT_EQ(stems, "janaozen|manistau|esenov|kizilsai|alan|teng|janaozen|esenov|saparov|shetp|");
}

// English writes Cyrillic е as "ye" where Russian pronounces it so: word-initially and after a
// vowel (Yesenov, Zholdybayev, Sergeyeva).
TEST(FoldTest, EnglishYeMeetsCyrillicE) {
  EXPECT_EQ(FoldForSearch("Yesenov"), FoldForSearch("Есенов"));
  EXPECT_EQ(FoldForSearch("Yerlan"), FoldForSearch("Ерлан"));
  EXPECT_EQ(FoldForSearch("Zholdybayev"), FoldForSearch("Жолдыбаев"));
  EXPECT_EQ(FoldForSearch("Zholdybaiev"), FoldForSearch("Жолдыбаев"));
  EXPECT_EQ(FoldForSearch("Zholdybaev"), FoldForSearch("Жолдыбаев"));
  EXPECT_EQ(FoldForSearch("Sergeyeva"), FoldForSearch("Сергеева"));
  EXPECT_NE(FoldForSearch("Nurlybek"), FoldForSearch("Nurlbek"));  // ye after a consonant stays
}

// Russian surnames in -ьев/-иев are written -yev, -iev, -'ev or -ev in Latin (fold version 3).
TEST(FoldTest, SurnamesInYevMeetTheirCyrillic) {
  for (const char* w : {"Vasilyev", "Vasiliev", "Vasil'ev", "Vasilev", "VASILYEV"})
    EXPECT_EQ(FoldForSearch(w), FoldForSearch("Васильев")) << w;
  EXPECT_EQ(FoldForSearch("Dmitriev"), FoldForSearch("Дмитриев"));
  EXPECT_EQ(FoldForSearch("Grigoryev"), FoldForSearch("Григорьев"));
  EXPECT_EQ(FoldForSearch("Aliyev"), FoldForSearch("Алиев"));
  EXPECT_EQ(StemForSearch("Vasilyeva"), StemForSearch("Васильевой"));
  EXPECT_EQ(StemForSearch("Vasilyevs"), StemForSearch("Васильева"));
  EXPECT_NE(FoldForSearch("lied"), FoldForSearch("led"));  // ie elsewhere stays
}

// Every inflected form of a name, in every script, has the stem of the name as written alone.
TEST(FoldTest, InflectedFormsShareTheStemOfTheBareName) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> forms = {
      {"Жаңаөзен",
       {"Жаңаөзенде", "Жаңаөзенге", "Жаңаөзеннің", "Жаңаөзеннен", "Жаңаөзенді", "Жаңаөзендегі",
        "Жаңаөзенмен", "Жанаозене", "Жанаозена", "Жанаозеном", "Жанаозену", "Jañaözende",
        "Jañaözenge", "Zhanaozen's", "Zhanaozen", "Janaozen", "Jan'aozende", "Жаңаөзендік",
        "жаңаөзендіктер"}},
      {"Ақтау",
       {"Ақтауға", "Ақтауда", "Ақтаудан", "Ақтаудың", "Ақтауды", "Ақтаудағы", "Ақтауы", "Aqtauğa",
        "Aqtauda", "Aktau", "Актау", "Aktau's", "Ақтауымыз", "Ақтауым", "Ақтаулықтар"}},
      {"Шетпе", {"Шетпеде", "Шетпеден", "Шетпеге", "Шетпенің", "Шетпедегі", "Şetpede", "Shetpe"}},
      {"Маңғыстау", {"Маңғыстауда", "Маңғыстаудағы", "Мангистау", "Mañğystauda", "Mangystau"}},
      {"Қызылсай",
       {"Қызылсайға", "Қызылсайда", "Қызылсайдың", "Qyzylsaiğa", "Кызылсая", "Кызылсае",
        "Кызылсаем", "Kyzylsai"}},
      {"Қаламқас", {"Қаламқаста", "Қаламқастан", "Қаламқастың", "Каламкасе", "Каламкаса"}},
      {"Теңге", {"Теңгеде", "Теңгеге", "Теңгенің", "Тенге", "Tenge", "Teñgede"}},
      {"Бейнеу", {"Бейнеуде", "Бейнеуге", "Бейнеудің", "Beineu", "Beyneu"}},
      {"Есенов", {"Есенова",   "Есеновым",   "Есеновой",  "Есенову",   "Есенове",   "Есеновых",
                  "Есеновы",   "Есеновою",   "Есеновтың", "Есеновке",  "Есеновты",  "Есеновпен",
                  "Есеновтан", "Есенованың", "Есеноваға", "Есеновтер", "Yesenov",   "Yesenova",
                  "Yesenovs",  "Esenov",     "Esenovtiñ", "Есеновыми", "Yesenova's"}},
      {"Жолдыбаев",
       {"Жолдыбаева", "Жолдыбаевқа", "Жолдыбаевтың", "Жолдыбаевым", "Zholdybayev", "Zholdybaev",
        "Zholdybaiev", "Zholdybayeva", "Zholdybaeva"}},
      {"Нұрмағамбетов", {"Нұрмағамбетовтың", "Нурмагамбетова", "Nurmagambetov", "Nurmağambetov"}},
  };
  for (const auto& [name, inflected] : forms) {
    const std::string stem = StemForSearch(name);
    EXPECT_EQ(StemForSearch(stem), stem) << name << " stems to a fixed point";
    for (const std::string& w : inflected) EXPECT_EQ(StemForSearch(w), stem) << w << " vs " << name;
  }
}

// Guards against over-stemming: short words are left whole, and a word that only looks like a
// short word plus a suffix keeps its own stem.
TEST(FoldTest, StemsDoNotMergeShortWordsWithNames) {
  const std::pair<const char*, const char*> distinct[] = {
      {"қара", "Қаражанбас"},     {"ақ", "Ақсу"},      {"жол", "Жолдыбаев"}, {"сот", "Сотников"},
      {"жолда", "жол"},           {"Ақсуда", "ақ"},    {"алма", "Алматы"},   {"Есен", "Есенов"},
      {"Сапаров", "Сапар"},       {"Шетпе", "Шет"},    {"Ақтау", "Ақтас"},   {"Жаңаөзен", "Өзен"},
      {"қарада", "Қаражанбаста"}, {"Тенгиз", "Теңге"},
  };
  for (const auto& [a, b] : distinct) {
    EXPECT_NE(StemForSearch(a), StemForSearch(b)) << a << " vs " << b;
  }
  for (const char* w : {"қара", "ақ", "жол", "сот", "Ақсу", "Роза", "Алма", "2011", "Ж7"}) {
    EXPECT_EQ(StemForSearch(w), FoldForSearch(w)) << w << " is too short to strip";
  }
}

}  // namespace
}  // namespace estelik::store
