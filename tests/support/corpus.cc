#include "tests/support/corpus.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <string>
#include <string_view>

#include "core/json.h"

namespace estelik::testing {
namespace {

// xoshiro256** seeded through splitmix64: fixed algorithms, so the corpus is identical on
// every platform (std::uniform_int_distribution is implementation-defined).
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& word : s_) {
      seed += 0x9E3779B97F4A7C15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      word = z ^ (z >> 31);
    }
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n); the modulo bias is < 2^-50 for the small n used here.
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
  bool Chance(int percent) { return Below(100) < static_cast<size_t>(percent); }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> s_{};
};

// The four voices of the corpus. Kazakh Latin text is produced from the Kazakh Cyrillic
// templates by the 2021 alphabet transliteration below, as Kazakh writers do.
enum Voice { kEn = 0, kRu = 1, kKk = 2, kKkLatn = 3 };

// A name as spelled in English, Russian and Kazakh Cyrillic. `en_alt` is a second common
// English spelling (Janaozen, Aqtau) or "" .
struct Name {
  const char* en;
  const char* en_alt;
  const char* ru;
  const char* kk;
};

constexpr Name kCities[] = {
    {"Zhanaozen", "Janaozen", "Жанаозен", "Жаңаөзен"},
    {"Zhanaozen", "", "Жанаозен", "Жаңаөзен"},  // weighted: most testimonies are from here
    {"Aktau", "Aqtau", "Актау", "Ақтау"},
    {"Atyrau", "", "Атырау", "Атырау"},
    {"Shetpe", "", "Шетпе", "Шетпе"},
    {"Beineu", "", "Бейнеу", "Бейнеу"},
    {"Almaty", "", "Алматы", "Алматы"},
};
constexpr Name kFields[] = {
    {"Karazhanbas", "", "Каражанбас", "Қаражанбас"},
    {"Tengiz", "", "Тенгиз", "Теңіз"},
    {"Kalamkas", "Qalamqas", "Каламкас", "Қаламқас"},
    {"Uzen", "Ozen", "Узень", "Өзен"},
};
constexpr Name kRegions[] = {
    {"Mangystau", "Mangistau", "Мангистау", "Маңғыстау"},
    {"Mangystau", "", "Мангистау", "Маңғыстау"},
    {"Atyrau", "", "Атырау", "Атырау"},
};
constexpr Name kCountry = {"Kazakhstan", "", "Казахстан", "Қазақстан"};

struct FirstName {
  Name name;
  bool female;
};
constexpr FirstName kFirstNames[] = {
    {{"Nurlan", "", "Нурлан", "Нұрлан"}, false},
    {{"Serik", "", "Серик", "Серік"}, false},
    {{"Marat", "", "Марат", "Марат"}, false},
    {{"Bolat", "", "Болат", "Болат"}, false},
    {{"Yerlan", "Erlan", "Ерлан", "Ерлан"}, false},
    {{"Talgat", "", "Талгат", "Талғат"}, false},
    {{"Zhanbolat", "", "Жанболат", "Жанболат"}, false},
    {{"Roza", "", "Роза", "Роза"}, true},
    {{"Aigul", "", "Айгуль", "Айгүл"}, true},
    {{"Saule", "", "Сауле", "Сәуле"}, true},
    {{"Gulnar", "", "Гульнар", "Гүлнар"}, true},
    {{"Asel", "", "Асель", "Әсел"}, true},
    {{"Dana", "", "Дана", "Дана"}, true},
};
// Surnames in the masculine form; the feminine adds "a" ("а") in every script.
constexpr Name kSurnames[] = {
    {"Sadykov", "", "Садыков", "Садықов"},
    {"Tuleuov", "", "Тулеуов", "Төлеуов"},
    {"Zhaksybekov", "", "Жаксыбеков", "Жақсыбеков"},
    {"Amanov", "", "Аманов", "Аманов"},
    {"Kenzhebaev", "", "Кенжебаев", "Кенжебаев"},
    {"Dosov", "", "Досов", "Досов"},
    {"Utepov", "", "Утепов", "Өтепов"},
    {"Baimukhanov", "", "Баймуханов", "Баймұханов"},
};

// Months of the strike, as a complete "in <month>" phrase.
constexpr std::array<const char*, 8> kMonths[3] = {
    {"in May", "in June", "in July", "in August", "in September", "in October", "in November",
     "in December"},
    {"в мае", "в июне", "в июле", "в августе", "в сентябре", "в октябре", "в ноябре", "в декабре"},
    {"мамыр айында", "маусым айында", "шілде айында", "тамыз айында", "қыркүйек айында",
     "қазан айында", "қараша айында", "желтоқсан айында"},
};

// Slots: {C} {D} cities, {F} oilfield, {R} region, {Q} country, {N} person, {M} month phrase,
// {K} a number, {A} a child's age, {Y} the year of the strike.
constexpr const char* kEnSentences[] = {
    "I worked as an operator at the {F} oilfield for nine years before the strike began.",
    "Every morning {M} we gathered on the square in {C} and asked for the wage coefficient to "
    "be restored.",
    "{N.pos} notebook has the names of everyone who was detained.",
    "On the day of the shooting I was standing near the stage with {N} when the first shots "
    "came from the direction of the akimat.",
    "The police drove us to a building on the edge of {C} and kept us there without water until "
    "the next evening.",
    "Nobody from the prosecutor's office ever asked me what I had seen.",
    "We wrote letters to the company office in {D} and to the ministry, but no answer came.",
    "{N} was dismissed {M} together with {K} other workers from the same brigade.",
    "At {C.pos} hospital the doctors worked through the night and there was not enough blood "
    "for transfusions.",
    "The internet and mobile phones were cut for several days, so we could not tell our "
    "relatives in {D} that we were alive.",
    "I remember that the snow near the square was dark with soot and footprints.",
    "At the trial in {D} my statement was read aloud, but it was not the statement I had given.",
    "Our families collected money for lawyers, food parcels and warm clothes for those in "
    "detention.",
    "A journalist from {D} recorded my story, but the recording was taken from her at the "
    "airport.",
    "Even now I do not walk across that square without thinking of {N}.",
    "The strike lasted more than {K} days, and most of us lived on the support of relatives.",
    "Men in uniforms without insignia checked every car on the road from {C} to {D}.",
    "I am giving this testimony so that what happened in {C} in December {Y} is not forgotten.",
    "They told us to sign a paper saying we had left the job of our own free will.",
    "My son was {A} years old then, and he still asks about that winter.",
    "Oil workers all over {Q} heard about the strike, and some sent us money.",
    "Many families in the {R} region lost their only income that year.",
};
constexpr const char* kRuSentences[] = {
    "Я девять лет работал оператором на {F.loc}, пока не началась забастовка.",
    "Каждое утро {M} мы собирались на площади в {C.loc} и требовали вернуть прежний "
    "коэффициент к зарплате.",
    "В тетради {N.gen} записаны имена всех задержанных.",
    "В день стрельбы рядом со мной у сцены стоял человек из нашей бригады, {N}, и тут со "
    "стороны акимата раздались первые выстрелы.",
    "Полицейские отвезли нас в здание на окраине {C.gen} и держали там без воды до "
    "следующего вечера.",
    "Никто из прокуратуры так и не спросил, что я видел.",
    "Мы писали письма в контору компании в городе {D} и в министерство, но ответа не было.",
    "Из бригады, где работает {N}, {M} уволили ещё {K} человек.",
    "В больнице города {C} врачи работали всю ночь, и крови для переливания не хватало.",
    "Интернет и мобильную связь отключили на несколько дней, и мы не могли сообщить родным в "
    "городе {D}, что живы.",
    "Я помню, что снег у площади был тёмным от копоти и следов.",
    "На суде в городе {D} зачитали мои показания, но это были не те слова, которые я говорил.",
    "Семьи собирали деньги на адвокатов, передачи и тёплую одежду для задержанных.",
    "Журналистка из {D.gen} записала мой рассказ, но запись у неё отобрали в аэропорту.",
    "Даже сейчас я не могу спокойно пройти через ту площадь, где задержали {N.acc}.",
    "Забастовка длилась больше {K} дней, и почти все мы жили на помощь родственников.",
    "Люди в форме без знаков различия проверяли каждую машину на трассе {C} — {D}.",
    "Я даю эти показания, чтобы не забыли, что произошло в декабре {Y} года в {C.loc}.",
    "Нам велели подписать бумагу о том, что мы уходим с работы по собственному желанию.",
    "Моему сыну тогда было {A} лет, и он до сих пор спрашивает о той зиме.",
    "О забастовке узнали на всех промыслах Республики {Q}, и некоторые присылали нам деньги.",
    "Многие семьи в регионе {R} в тот год потеряли единственный заработок.",
};
constexpr const char* kKkSentences[] = {
    "Ереуіл басталғанға дейін мен {F.loc} тоғыз жыл оператор болып істедім.",
    "Біз {M} күн сайын таңертең {C.gen} алаңына жиналып, жалақы коэффициентін қайтаруды "
    "талап еттік.",
    "Көршім {N} ұсталғандардың барлығының атын дәптерге жазып жүрді.",
    "Атыс басталған күні мен сахнаның жанында {N.ins} бірге тұрдым.",
    "Полицейлер бізді {C.gen} шетіндегі ғимаратқа апарып, келесі кешке дейін сусыз "
    "ұстады.",
    "Прокуратурадан ешкім менен не көргенімді сұраған жоқ.",
    "Біз {D} қаласындағы компания кеңсесіне және министрлікке хат жаздық, бірақ жауап келмеді.",
    "{N} жұмыс істейтін бригададан {M} тағы {K} адам жұмыстан шығарылды.",
    "{C} қаласының ауруханасында дәрігерлер түні бойы жұмыс істеді, қан жетпеді.",
    "Бірнеше күн интернет пен ұялы байланыс өшірілді, біз {D} қаласындағы туыстарымызға тірі "
    "екенімізді хабарлай алмадық.",
    "Алаңның жанындағы қар күйе мен іздерден қарайып кеткені есімде.",
    "{D} қаласындағы сотта менің айғақтарым оқылды, бірақ олар менің айтқан сөздерім емес еді.",
    "Отбасылар адвокаттарға, сәлемдемелерге және ұсталғандарға жылы киімге ақша жинады.",
    "{D.abl} келген журналист менің әңгімемді жазып алды, бірақ әуежайда жазбаны тартып "
    "алды.",
    "Әлі күнге дейін {N.acc} ұстаған алаңнан өте алмаймын.",
    "Ереуіл {K} күннен астам созылды, көбіміз туыстарымыздың көмегімен күн көрдік.",
    "{C} — {D} жолында белгісіз формадағы адамдар әр көлікті тексерді.",
    "Мен бұл айғақты {Y} жылы желтоқсанда {C.loc} болған оқиға ұмытылмасын деп беріп "
    "отырмын.",
    "Бізге өз еркімізбен жұмыстан кетеміз деген қағазға қол қоюды бұйырды.",
    "Ол кезде ұлым {A} жаста еді, ол әлі күнге дейін сол қыс туралы сұрайды.",
    "{Q} Республикасының барлық кәсіпшіліктерінде бұл ереуіл туралы білді, кейбірі бізге ақша "
    "жіберді.",
    "{R} облысында көп отбасы сол жылы жалғыз табысынан айырылды.",
};

constexpr const char* kEnTitles[] = {
    "What I saw in {C}",    "The square in {C}",
    "December in {C}",      "Dismissed from {F}",
    "Detained in {C}",      "The trial in {D}",
    "Letters from {F}",     "A night at the hospital in {C}",
    "Hunger strike at {F}", "Waiting for news from {C}",
};
constexpr const char* kRuTitles[] = {
    "Что я видел в городе {C}",      "Площадь в городе {C}",       "Декабрь в городе {C}",
    "Уволен с месторождения {F}",    "Задержание в городе {C}",    "Суд в городе {D}",
    "Письма с месторождения {F}",    "Ночь в больнице города {C}", "Голодовка на месторождении {F}",
    "Ожидание вестей из города {C}",
};
constexpr const char* kKkTitles[] = {
    "{C} қаласында көргенім",    "{C} алаңы",
    "{C} қаласындағы желтоқсан", "{F} кен орнынан шығарылдым",
    "{C} қаласында ұсталдым",    "{D} қаласындағы сот",
    "{F} кен орнынан хаттар",    "{C} ауруханасындағы түн",
    "{F} кен орнындағы аштық",   "{C} қаласынан хабар күткен күндер",
};

constexpr const char* kEnTags[] = {
    "strike",   "square", "shooting",      "detention", "torture", "trial", "dismissal",
    "hospital", "union",  "hunger strike", "evidence",  "family",  "wages", "police"};
constexpr const char* kRuTags[] = {
    "забастовка", "площадь",  "стрельба",  "задержание",     "пытки", "суд",      "увольнение",
    "больница",   "профсоюз", "голодовка", "доказательства", "семья", "зарплата", "полиция"};
constexpr const char* kKkTags[] = {
    "ереуіл",   "алаң",      "атыс",  "ұстау", "азаптау", "сот",    "жұмыстан шығару",
    "аурухана", "кәсіподақ", "аштық", "дәлел", "отбасы",  "жалақы", "полиция"};

// The long tail. Real testimonies name many people, villages, streets, companies and things
// that occur in a handful of documents each; a template vocabulary alone (~650 words per
// language) makes every word match thousands of documents. Each testimony therefore also gets
// 1-3 sentences naming "rare" words: pseudo-names built from syllables, spelled in Cyrillic
// (Latin voices transliterate them), drawn with P(k) ~ 1/k from kLexiconSize of them.
constexpr const char* kSyllables[] = {"ба",  "бек", "да", "жан", "зар", "ка",  "кен", "қа",
                                      "лы",  "ма",  "мұ", "на",  "нұр", "ор",  "пы",  "ра",
                                      "сай", "сұл", "та", "тө",  "шы",  "ұл",  "ғы",  "ер",
                                      "ай",  "ос",  "ес", "ти",  "құм", "бол", "сар", "тас"};
constexpr size_t kLexiconBits = 15;  // 32768 words of 3 syllables (32^3)

// Word k of the lexicon in Kazakh Cyrillic, capitalized.
std::string LexiconWord(size_t k) {
  std::string w;
  for (int i = 0; i < 3; ++i) {
    w += kSyllables[k % 32];
    k /= 32;
  }
  // Capitalize the first letter (two UTF-8 bytes, Cyrillic): a name.
  const auto b0 = static_cast<unsigned char>(w[0]);
  const auto b1 = static_cast<unsigned char>(w[1]);
  uint32_t cp = ((b0 & 0x1Fu) << 6) | (b1 & 0x3Fu);
  if (cp >= 0x430 && cp <= 0x44F) {
    cp -= 0x20;
  } else if (cp >= 0x490 && cp <= 0x4FF) {
    cp -= 1;  // Kazakh letters: upper case precedes lower case
  }
  w[0] = static_cast<char>(0xC0 | (cp >> 6));
  w[1] = static_cast<char>(0x80 | (cp & 0x3F));
  return w;
}

// Zipf-like rank: a power-of-two bucket uniformly, then a word uniformly inside it, so
// P(k) ~ 1/k with integer arithmetic only (the corpus must be identical everywhere).
size_t ZipfRank(Rng& rng);

constexpr const char* kEnRare[] = {
    "Later I learned that a man called {W} had been taken from the {W} district.",
    "We hid for two nights in a house on {W} street that belonged to the {W} family.",
    "My uncle drove a water truck for a contractor called {W}, and he saw it too.",
    "A nurse named {W} stitched my arm in the corridor because every room was full.",
    "The officer who questioned me wrote his name as {W} and said he came from {W}.",
};
constexpr const char* kRuRare[] = {
    "Позже я узнал, что человека по фамилии {W} забрали из района {W}.",
    "Две ночи мы прятались в доме на улице {W}, который принадлежал семье {W}.",
    "Мой дядя возил воду для подрядчика {W}, и он тоже всё видел.",
    "Медсестра по имени {W} зашила мне руку в коридоре, потому что все палаты были заняты.",
    "Следователь, который меня допрашивал, назвался {W} и сказал, что он из посёлка {W}.",
};
constexpr const char* kKkRare[] = {
    "Кейін {W} деген адамды {W} ауданынан алып кеткенін білдім.",
    "Біз екі түн {W} көшесіндегі {W} отбасының үйінде жасырындық.",
    "Ағам {W} деген мердігерге су тасыды, ол да бәрін көрді.",
    "{W} есімді медбике барлық бөлме толы болғандықтан қолымды дәлізде тікті.",
    "Мені тергеген тергеуші өзін {W} деп атады, {W} ауылынан екенін айтты.",
};

// Kazakh Cyrillic -> Kazakh Latin (2021 alphabet, і written ı as in the shared samples).
struct Translit {
  uint32_t cp;
  const char* lower;
  const char* upper;
};
constexpr Translit kKkLatin[] = {
    {0x430, "a", "A"},   {0x4D9, "ä", "Ä"},   {0x431, "b", "B"},   {0x432, "v", "V"},
    {0x433, "g", "G"},   {0x493, "ğ", "Ğ"},   {0x434, "d", "D"},   {0x435, "e", "E"},
    {0x451, "io", "Io"}, {0x436, "j", "J"},   {0x437, "z", "Z"},   {0x438, "i", "I"},
    {0x439, "i", "I"},   {0x43A, "k", "K"},   {0x49B, "q", "Q"},   {0x43B, "l", "L"},
    {0x43C, "m", "M"},   {0x43D, "n", "N"},   {0x4A3, "ñ", "Ñ"},   {0x43E, "o", "O"},
    {0x4E9, "ö", "Ö"},   {0x43F, "p", "P"},   {0x440, "r", "R"},   {0x441, "s", "S"},
    {0x442, "t", "T"},   {0x443, "u", "U"},   {0x4B1, "ū", "Ū"},   {0x4AF, "ü", "Ü"},
    {0x444, "f", "F"},   {0x445, "h", "H"},   {0x4BB, "h", "H"},   {0x446, "ts", "Ts"},
    {0x447, "ch", "Ch"}, {0x448, "ş", "Ş"},   {0x449, "şş", "Şş"}, {0x44A, "", ""},
    {0x44B, "y", "Y"},   {0x456, "ı", "I"},   {0x44C, "", ""},     {0x44D, "e", "E"},
    {0x44E, "iu", "Iu"}, {0x44F, "ia", "Ia"},
};

uint32_t UpperOf(uint32_t lower) {
  if (lower >= 0x430 && lower <= 0x44F) return lower - 0x20;
  if (lower >= 0x450 && lower <= 0x45F) return lower - 0x50;
  return lower - 1;  // Kazakh letters: upper case precedes lower case (Ә 0x4D8, ә 0x4D9)
}

// Latin spelling of U+0400..U+04FF (nullptr: keep the letter).
struct TranslitTable {
  std::array<const char*, 256> latin{};
  TranslitTable() {
    for (const Translit& t : kKkLatin) {
      latin[t.cp - 0x400] = t.lower;
      latin[UpperOf(t.cp) - 0x400] = t.upper;
    }
  }
};

std::string ToKazakhLatin(std::string_view cyr) {
  static const TranslitTable table;
  std::string out;
  out.reserve(cyr.size());
  for (size_t i = 0; i < cyr.size();) {
    const auto b0 = static_cast<unsigned char>(cyr[i]);
    if ((b0 == 0xD0 || b0 == 0xD1 || b0 == 0xD2 || b0 == 0xD3) && i + 1 < cyr.size()) {
      const uint32_t cp = ((b0 & 0x1Fu) << 6) | (static_cast<unsigned char>(cyr[i + 1]) & 0x3Fu);
      if (const char* latin = table.latin[cp - 0x400]; latin != nullptr) {
        out += latin;
        i += 2;
        continue;
      }
    }
    out += cyr[i++];  // ASCII, punctuation (— is 3 bytes, copied byte by byte)
  }
  return out;
}

std::string Spell(const Name& n, Voice v, Rng& rng) {
  switch (v) {
    case kEn:
      return (n.en_alt[0] != '\0' && rng.Chance(35)) ? n.en_alt : n.en;
    case kRu:
      return n.ru;
    case kKk:
      return n.kk;
    case kKkLatn:
      return ToKazakhLatin(n.kk);
  }
  return n.en;
}

size_t ZipfRank(Rng& rng) {
  const size_t bucket = rng.Below(kLexiconBits);
  return (size_t{1} << bucket) - 1 + rng.Below(size_t{1} << bucket);
}

template <typename T, size_t N>
const T& Pick(const T (&items)[N], Rng& rng) {
  return items[rng.Below(N)];
}

void AddUnique(std::vector<std::string>& v, const std::string& s) {
  for (const auto& x : v) {
    if (x == s) return;
  }
  v.push_back(s);
}

// --- Inflection: names take case endings as real text writes them (docs/FORMAT.md "Search
// folding" is what search does with them). ---

// Grammatical cases a slot may ask for: {C.loc} ...
enum class Case { kNom, kLoc, kDat, kAbl, kGen, kAcc, kIns, kPos };

Case ParseCase(std::string_view c) {
  if (c == "loc") return Case::kLoc;
  if (c == "dat") return Case::kDat;
  if (c == "abl") return Case::kAbl;
  if (c == "gen") return Case::kGen;
  if (c == "acc") return Case::kAcc;
  if (c == "ins") return Case::kIns;
  if (c == "pos") return Case::kPos;
  return Case::kNom;
}

// The last code point of UTF-8 `s` (0 if empty) and the byte length before it.
uint32_t LastLetter(std::string_view s, size_t* before = nullptr) {
  size_t i = s.size();
  while (i > 0 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) --i;
  if (i == 0) return 0;
  --i;
  if (before != nullptr) *before = i;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  if (p[0] < 0x80) return p[0];
  if (p[0] < 0xE0) return ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
  return ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
}

bool IsIn(uint32_t cp, std::u32string_view set) {
  return set.find(cp) != std::u32string_view::npos;
}

// Kazakh case suffix for a word whose Kazakh Cyrillic spelling is `kk`: vowel harmony from its
// last vowel, the consonant of the suffix from its last sound (Жаңаөзен-де, Қаламқас-та,
// Ақтау-ға, Есенов-тің).
std::string KazakhSuffix(std::string_view kk, Case c) {
  bool front = false;
  size_t end = kk.size();
  uint32_t last = 0;
  for (bool first = true;; first = false) {
    size_t before = 0;
    const uint32_t cp = LastLetter(kk.substr(0, end), &before);
    if (cp == 0) break;
    if (first) last = cp;
    if (IsIn(cp, U"әеіөүиэЕӘІӨҮИ")) {
      front = true;
      break;
    }
    if (IsIn(cp, U"аоұыяАОҰЫ")) break;
    end = before;
  }
  enum { kVowel, kVoiced, kNasal, kVoiceless } sound = kVowel;
  if (IsIn(last, U"мнң"))
    sound = kNasal;
  else if (IsIn(last, U"лрзжйу"))
    sound = kVoiced;
  else if (!IsIn(last, U"аәеиоөұүыіэюя"))
    sound = kVoiceless;
  auto pick = [&](const char* back, const char* fr) { return std::string(front ? fr : back); };
  switch (c) {
    case Case::kLoc:
      return sound == kVoiceless ? pick("та", "те") : pick("да", "де");
    case Case::kDat:
      return sound == kVoiceless ? pick("қа", "ке") : pick("ға", "ге");
    case Case::kAbl:
      return sound == kVoiceless ? pick("тан", "тен")
             : sound == kNasal   ? pick("нан", "нен")
                                 : pick("дан", "ден");
    case Case::kGen:
      return sound == kVoiceless ? pick("тың", "тің")
             : sound == kVoiced  ? pick("дың", "дің")
                                 : pick("ның", "нің");
    case Case::kAcc:
      return sound == kVoiceless ? pick("ты", "ті")
             : sound == kVowel   ? pick("ны", "ні")
                                 : pick("ды", "ді");
    case Case::kIns:
      return sound == kVoiceless ? "пен" : IsIn(last, U"зж") ? "бен" : "мен";
    default:
      return "";
  }
}

// Russian declension of a place name (Жанаозен: в Жанаозене, из Жанаозена; Узень: на Узени;
// names ending in a vowel other than а, like Актау and Шетпе, do not decline).
std::string RussianPlace(const std::string& ru, Case c) {
  size_t before = 0;
  const uint32_t last = LastLetter(ru, &before);
  const std::string stem = ru.substr(0, before);
  const bool loc = c == Case::kLoc, gen = c == Case::kGen || c == Case::kAbl;
  if (!loc && !gen && c != Case::kDat && c != Case::kIns) return ru;
  if (last == U'ь') return stem + (loc || c == Case::kDat ? "и" : gen ? "я" : "ем");
  if (last == U'а') return stem + (loc || c == Case::kDat ? "е" : gen ? "ы" : "ой");
  if (IsIn(last, U"еиоуыэюя")) return ru;
  return ru + (loc ? "е" : gen ? "а" : c == Case::kDat ? "у" : "ом");
}

// Russian declension of one word of a person's name: masculine surnames in -ов/-ев and
// consonant-final first names, feminine surnames in -ова/-ева and first names in -а; others
// (Айгуль, Сауле) do not decline.
std::string RussianPerson(const std::string& ru, bool female, bool surname, Case c) {
  size_t before = 0;
  const uint32_t last = LastLetter(ru, &before);
  const std::string stem = ru.substr(0, before);
  if (c == Case::kNom || c == Case::kPos) return ru;
  if (female) {
    if (last != U'а') return ru;
    if (surname) return stem + (c == Case::kAcc ? "у" : "ой");
    return stem + (c == Case::kAcc ? "у" : c == Case::kGen ? "ы" : c == Case::kIns ? "ой" : "е");
  }
  if (IsIn(last, U"аеиоуыэюяь")) return ru;
  switch (c) {
    case Case::kAcc:
    case Case::kGen:
    case Case::kAbl:
      return ru + "а";
    case Case::kDat:
      return ru + "у";
    case Case::kIns:
      return ru + (surname ? "ым" : "ом");
    default:
      return ru + "е";
  }
}

// Fills the slots of one template. Names are drawn per testimony (the same city recurs) but
// each {N} may be another person.
class Filler {
 public:
  Filler(Voice voice, Rng& rng, SampleTestimony& t) : voice_(voice), rng_(rng), t_(t) {
    city_name_ = &Pick(kCities, rng);
    city_ = Spell(*city_name_, voice, rng);
    do {
      other_city_name_ = &Pick(kCities, rng);
      other_city_ = Spell(*other_city_name_, voice, rng);
    } while (other_city_ == city_);
    field_name_ = &Pick(kFields, rng);
    field_ = Spell(*field_name_, voice, rng);
    region_name_ = &Pick(kRegions, rng);
    region_ = Spell(*region_name_, voice, rng);
  }

  std::string Fill(std::string_view tmpl) {
    std::string out;
    out.reserve(tmpl.size() + 32);
    for (size_t i = 0; i < tmpl.size(); ++i) {
      const size_t close = tmpl[i] == '{' ? tmpl.find('}', i) : std::string_view::npos;
      if (close == std::string_view::npos || close < i + 2 || close > i + 6) {
        out += tmpl[i];
        continue;
      }
      // {C} or {C.loc}: the slot, in the named case.
      const Case c = close > i + 2 ? ParseCase(tmpl.substr(i + 3, close - i - 3)) : Case::kNom;
      out += c == Case::kNom ? Slot(tmpl[i + 1]) : Inflected(tmpl[i + 1], c);
      i = close;
    }
    return out;
  }

 private:
  // A place or person slot in case `c` (the places and people lists keep the nominative).
  std::string Inflected(char slot, Case c) {
    if (slot == 'N') return Person(c);
    const Name* name = slot == 'C'   ? city_name_
                       : slot == 'D' ? other_city_name_
                       : slot == 'F' ? field_name_
                                     : region_name_;
    const std::string spelled = Slot(slot);
    switch (voice_) {
      case kEn:
        return c == Case::kPos ? spelled + "'s" : spelled;
      case kRu:
        return RussianPlace(spelled, c);
      default:  // Kazakh: the suffix follows the Cyrillic spelling; kk-Latn transliterates it
        return spelled + KazakhSuffix(name->kk, c);
    }
  }

  std::string Person(Case c) {
    const FirstName& first = Pick(kFirstNames, rng_);
    const Name& last = Pick(kSurnames, rng_);
    std::string given = Spell(first.name, voice_, rng_), family = Spell(last, voice_, rng_);
    if (first.female) family += (voice_ == kRu || voice_ == kKk) ? "а" : "a";
    AddUnique(t_.people, given + " " + family);
    switch (voice_) {
      case kEn:
        return given + " " + family + (c == Case::kPos ? "'s" : "");
      case kRu:
        return RussianPerson(given, first.female, false, c) + " " +
               RussianPerson(family, first.female, true, c);
      default:
        return given + " " + family +
               KazakhSuffix(std::string(last.kk) + (first.female ? "а" : ""), c);
    }
  }

  std::string Slot(char slot) {
    const int lang = voice_ == kKkLatn ? kKk : voice_;
    switch (slot) {
      case 'C':
        AddUnique(t_.places, city_);
        return city_;
      case 'D':
        AddUnique(t_.places, other_city_);
        return other_city_;
      case 'F':
        AddUnique(t_.places, field_);
        return field_;
      case 'R':
        AddUnique(t_.places, region_);
        return region_;
      case 'Q': {
        std::string q = Spell(kCountry, voice_, rng_);
        AddUnique(t_.places, q);
        return q;
      }
      case 'N': {
        const FirstName& first = Pick(kFirstNames, rng_);
        const Name& last = Pick(kSurnames, rng_);
        std::string name = Spell(first.name, voice_, rng_) + " " + Spell(last, voice_, rng_);
        if (first.female) name += (voice_ == kRu || voice_ == kKk) ? "а" : "a";
        AddUnique(t_.people, name);
        return name;
      }
      case 'M': {
        const std::string m = kMonths[lang][rng_.Below(8)];
        return voice_ == kKkLatn ? ToKazakhLatin(m) : m;
      }
      case 'K':
        return std::to_string(5 + rng_.Below(300));
      case 'A':
        return std::to_string(2 + rng_.Below(14));
      case 'Y':
        return "2011";
      case 'W': {
        const std::string w = LexiconWord(ZipfRank(rng_));
        return voice_ == kEn ? ToKazakhLatin(w) : w;  // kk-Latn transliterates the sentence
      }
    }
    return std::string();
  }

  Voice voice_;
  Rng& rng_;
  SampleTestimony& t_;
  std::string city_, other_city_, field_, region_;
  const Name* city_name_ = nullptr;
  const Name* other_city_name_ = nullptr;
  const Name* field_name_ = nullptr;
  const Name* region_name_ = nullptr;
};

template <size_t N>
std::string PickTemplate(const char* const (&items)[N], Rng& rng) {
  return items[rng.Below(N)];
}

// Body length target: mostly around 1 KB (sum of three uniforms), one in ten up to 3 KB.
size_t TargetLength(Rng& rng) {
  size_t target = 300 + rng.Below(500) + rng.Below(500) + rng.Below(500);
  if (rng.Chance(10)) target += rng.Below(1300);
  return target;
}

std::string EventDate(Rng& rng) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int year = 2011, month = 12, day = 16;
  if (rng.Chance(40)) {
    day = 16 + static_cast<int>(rng.Below(16));  // the shooting and the days after it
  } else {
    const int m = 4 + static_cast<int>(rng.Below(20));  // May 2011 .. December 2012
    year = 2011 + m / 12;
    month = m % 12 + 1;
    day = 1 + static_cast<int>(rng.Below(kDays[month - 1] + (year % 4 == 0 && month == 2)));
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, month, day);
  return buf;
}

SampleTestimony Generate(Rng& rng, size_t index) {
  SampleTestimony t;
  char id[32];
  std::snprintf(id, sizeof id, "gen-%06zu", index + 1);
  t.id = id;
  // 30% English, 30% Russian, 25% Kazakh Cyrillic, 15% Kazakh Latin.
  const size_t r = rng.Below(100);
  const Voice voice = r < 30 ? kEn : r < 60 ? kRu : r < 85 ? kKk : kKkLatn;
  t.language = voice == kEn ? "en" : voice == kRu ? "ru" : "kk";
  t.script = (voice == kEn || voice == kKkLatn) ? "Latn" : "Cyrl";

  Filler filler(voice, rng, t);
  const auto translit = [&](std::string s) { return voice == kKkLatn ? ToKazakhLatin(s) : s; };
  switch (voice) {
    case kEn:
      t.title = filler.Fill(PickTemplate(kEnTitles, rng));
      break;
    case kRu:
      t.title = filler.Fill(PickTemplate(kRuTitles, rng));
      break;
    default:
      t.title = translit(filler.Fill(PickTemplate(kKkTitles, rng)));
      break;
  }

  const size_t target = TargetLength(rng);
  constexpr size_t kMaxBody = 3000;
  size_t last = SIZE_MAX;
  while (t.body.size() < target) {
    size_t pick = 0;
    std::string sentence;
    do {  // never the same sentence twice in a row
      switch (voice) {
        case kEn:
          pick = rng.Below(std::size(kEnSentences));
          sentence = kEnSentences[pick];
          break;
        case kRu:
          pick = rng.Below(std::size(kRuSentences));
          sentence = kRuSentences[pick];
          break;
        default:
          pick = rng.Below(std::size(kKkSentences));
          sentence = kKkSentences[pick];
          break;
      }
    } while (pick == last);
    last = pick;
    sentence = translit(filler.Fill(sentence));
    if (!t.body.empty() && t.body.size() + 1 + sentence.size() > kMaxBody) break;
    if (!t.body.empty()) t.body += ' ';
    t.body += sentence;
  }

  // The long tail, inserted at random places so bodies keep their length distribution.
  const size_t rare_count = 1 + rng.Below(3);
  for (size_t i = 0; i < rare_count; ++i) {
    std::string sentence;
    switch (voice) {
      case kEn:
        sentence = Pick(kEnRare, rng);
        break;
      case kRu:
        sentence = Pick(kRuRare, rng);
        break;
      default:
        sentence = Pick(kKkRare, rng);
        break;
    }
    sentence = translit(filler.Fill(sentence));
    if (t.body.size() + 1 + sentence.size() > kMaxBody) break;
    // Insert after a sentence end chosen at random (or at the end).
    size_t at = t.body.size();
    const size_t probe = rng.Below(t.body.size());
    const size_t dot = t.body.find(". ", probe);
    if (dot != std::string::npos) at = dot + 1;
    t.body.insert(at, " " + sentence);
  }

  static_assert(std::size(kEnTags) == std::size(kRuTags) &&
                std::size(kEnTags) == std::size(kKkTags));
  const char* const* tags = voice == kEn ? kEnTags : voice == kRu ? kRuTags : kKkTags;
  const size_t tag_count = 1 + rng.Below(3);
  for (size_t i = 0; i < tag_count; ++i) {
    AddUnique(t.tags, translit(tags[rng.Below(std::size(kEnTags))]));
  }
  t.event_date = EventDate(rng);
  return t;
}

void AppendJsonArray(std::string& out, const std::vector<std::string>& items) {
  out += '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    AppendJsonString(out, items[i]);
  }
  out += ']';
}

}  // namespace

std::vector<SampleTestimony> GenerateCorpus(uint64_t seed, size_t count) {
  std::vector<SampleTestimony> corpus;
  corpus.reserve(count);
  Rng rng(seed);
  for (size_t i = 0; i < count; ++i) corpus.push_back(Generate(rng, i));
  return corpus;
}

void AppendJsonString(std::string& out, const std::string& s) { out += JsonQuote(s); }

std::string ToJsonLine(const SampleTestimony& t) {
  std::string out;
  out.reserve(t.body.size() + t.title.size() + 256);
  const auto field = [&](const char* name, const std::string& value) {
    out += out.empty() ? "{" : ", ";
    AppendJsonString(out, name);
    out += ": ";
    AppendJsonString(out, value);
  };
  field("id", t.id);
  field("language", t.language);
  field("script", t.script);
  field("title", t.title);
  field("body", t.body);
  out += ", \"tags\": ";
  AppendJsonArray(out, t.tags);
  out += ", \"places\": ";
  AppendJsonArray(out, t.places);
  out += ", \"people\": ";
  AppendJsonArray(out, t.people);
  out += ", \"event_date\": ";
  AppendJsonString(out, t.event_date);
  out += '}';
  return out;
}

}  // namespace estelik::testing
