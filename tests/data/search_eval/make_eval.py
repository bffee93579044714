#!/usr/bin/env python3
"""Writes the labelled search evaluation set (testimonies.tsv, queries.tsv) next to this file.

Every sentence below was written by hand for this set (fictional, no real person's words): short
testimonies the way survivors from Mangystau write them, in Kazakh (Cyrillic and 2021 Latin),
Russian and English, with the names inflected as each language inflects them. The script only
combines the hand-written templates with the hand-written name forms and records which names
each testimony mentions; the queries' expected results follow from those labels.

  python3 tests/data/search_eval/make_eval.py      (deterministic; commit both .tsv files)

testimonies.tsv: id <TAB> labels (comma-separated) <TAB> text
queries.tsv:     query <TAB> label <TAB> expected ids (comma-separated, sorted)
"""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))

# --- Name forms, by script and grammatical case (kk = Kazakh Cyrillic, kl = Kazakh Latin). ---
PLACES = {
    "janaozen": {
        "kk": {"nom": "Жаңаөзен", "loc": "Жаңаөзенде", "dat": "Жаңаөзенге", "abl": "Жаңаөзеннен",
               "gen": "Жаңаөзеннің", "attr": "Жаңаөзендегі"},
        "kl": {"nom": "Jañaözen", "loc": "Jañaözende", "dat": "Jañaözenge", "abl": "Jañaözennen",
               "gen": "Jañaözennıñ", "attr": "Jañaözendegı"},
        "ru": {"nom": "Жанаозен", "prep": "Жанаозене", "gen": "Жанаозена", "dat": "Жанаозену",
               "ins": "Жанаозеном"},
        "en": {"nom": "Zhanaozen", "pos": "Zhanaozen's", "alt": "Janaozen"},
    },
    "aktau": {
        "kk": {"nom": "Ақтау", "loc": "Ақтауда", "dat": "Ақтауға", "abl": "Ақтаудан",
               "gen": "Ақтаудың", "attr": "Ақтаудағы"},
        "kl": {"nom": "Aqtau", "loc": "Aqtauda", "dat": "Aqtauğa", "abl": "Aqtaudan",
               "gen": "Aqtaudyñ", "attr": "Aqtaudağy"},
        "ru": {"nom": "Актау", "prep": "Актау", "gen": "Актау", "dat": "Актау", "ins": "Актау"},
        "en": {"nom": "Aktau", "pos": "Aktau's", "alt": "Aqtau"},
    },
    "shetpe": {
        "kk": {"nom": "Шетпе", "loc": "Шетпеде", "dat": "Шетпеге", "abl": "Шетпеден",
               "gen": "Шетпенің", "attr": "Шетпедегі"},
        "kl": {"nom": "Şetpe", "loc": "Şetpede", "dat": "Şetpege", "abl": "Şetpeden",
               "gen": "Şetpenıñ", "attr": "Şetpedegı"},
        "ru": {"nom": "Шетпе", "prep": "Шетпе", "gen": "Шетпе", "dat": "Шетпе", "ins": "Шетпе"},
        "en": {"nom": "Shetpe", "pos": "Shetpe's", "alt": "Shetpe"},
    },
    "mangystau": {
        "kk": {"nom": "Маңғыстау", "loc": "Маңғыстауда", "dat": "Маңғыстауға",
               "abl": "Маңғыстаудан", "gen": "Маңғыстаудың", "attr": "Маңғыстаудағы"},
        "kl": {"nom": "Mañğystau", "loc": "Mañğystauda", "dat": "Mañğystauğa",
               "abl": "Mañğystaudan", "gen": "Mañğystaudyñ", "attr": "Mañğystaudağy"},
        "ru": {"nom": "Мангистау", "prep": "Мангистау", "gen": "Мангыстау", "dat": "Мангистау",
               "ins": "Мангистау"},
        "en": {"nom": "Mangystau", "pos": "Mangystau's", "alt": "Mangistau"},
    },
    "kyzylsai": {
        "kk": {"nom": "Қызылсай", "loc": "Қызылсайда", "dat": "Қызылсайға", "abl": "Қызылсайдан",
               "gen": "Қызылсайдың", "attr": "Қызылсайдағы"},
        "kl": {"nom": "Qyzylsai", "loc": "Qyzylsaida", "dat": "Qyzylsaiğa", "abl": "Qyzylsaidan",
               "gen": "Qyzylsaidyñ", "attr": "Qyzylsaidağy"},
        "ru": {"nom": "Кызылсай", "prep": "Кызылсае", "gen": "Кызылсая", "dat": "Кызылсаю",
               "ins": "Кызылсаем"},
        "en": {"nom": "Kyzylsai", "pos": "Kyzylsai's", "alt": "Kyzylsay"},
    },
    "kalamkas": {
        "kk": {"nom": "Қаламқас", "loc": "Қаламқаста", "dat": "Қаламқасқа", "abl": "Қаламқастан",
               "gen": "Қаламқастың", "attr": "Қаламқастағы"},
        "kl": {"nom": "Qalamqas", "loc": "Qalamqasta", "dat": "Qalamqasqa", "abl": "Qalamqastan",
               "gen": "Qalamqastyñ", "attr": "Qalamqastağy"},
        "ru": {"nom": "Каламкас", "prep": "Каламкасе", "gen": "Каламкаса", "dat": "Каламкасу",
               "ins": "Каламкасом"},
        "en": {"nom": "Kalamkas", "pos": "Kalamkas's", "alt": "Qalamkas"},
    },
    "tenge": {
        "kk": {"nom": "Теңге", "loc": "Теңгеде", "dat": "Теңгеге", "abl": "Теңгеден",
               "gen": "Теңгенің", "attr": "Теңгедегі"},
        "kl": {"nom": "Teñge", "loc": "Teñgede", "dat": "Teñgege", "abl": "Teñgeden",
               "gen": "Teñgenıñ", "attr": "Teñgedegı"},
        "ru": {"nom": "Тенге", "prep": "Тенге", "gen": "Тенге", "dat": "Тенге", "ins": "Тенге"},
        "en": {"nom": "Tenge", "pos": "Tenge's", "alt": "Tenge"},
    },
    "beineu": {
        "kk": {"nom": "Бейнеу", "loc": "Бейнеуде", "dat": "Бейнеуге", "abl": "Бейнеуден",
               "gen": "Бейнеудің", "attr": "Бейнеудегі"},
        "kl": {"nom": "Beineu", "loc": "Beineude", "dat": "Beineuge", "abl": "Beineuden",
               "gen": "Beineudıñ", "attr": "Beineudegı"},
        "ru": {"nom": "Бейнеу", "prep": "Бейнеу", "gen": "Бейнеу", "dat": "Бейнеу", "ins": "Бейнеу"},
        "en": {"nom": "Beyneu", "pos": "Beyneu's", "alt": "Beineu"},
    },
    "fort": {
        "kk": {"nom": "Форт-Шевченко", "loc": "Форт-Шевченкода", "dat": "Форт-Шевченкоға",
               "abl": "Форт-Шевченкодан", "gen": "Форт-Шевченконың", "attr": "Форт-Шевченкодағы"},
        "kl": {"nom": "Fort-Şevchenko", "loc": "Fort-Şevchenkoda", "dat": "Fort-Şevchenkoğa",
               "abl": "Fort-Şevchenkodan", "gen": "Fort-Şevchenkonyñ",
               "attr": "Fort-Şevchenkodağy"},
        "ru": {"nom": "Форт-Шевченко", "prep": "Форт-Шевченко", "gen": "Форт-Шевченко",
               "dat": "Форт-Шевченко", "ins": "Форт-Шевченко"},
        "en": {"nom": "Fort-Shevchenko", "pos": "Fort Shevchenko's", "alt": "Fort Shevchenko"},
    },
    "karajanbas": {
        "kk": {"nom": "Қаражанбас", "loc": "Қаражанбаста", "dat": "Қаражанбасқа",
               "abl": "Қаражанбастан", "gen": "Қаражанбастың", "attr": "Қаражанбастағы"},
        "kl": {"nom": "Qarajanbas", "loc": "Qarajanbasta", "dat": "Qarajanbasqa",
               "abl": "Qarajanbastan", "gen": "Qarajanbastyñ", "attr": "Qarajanbastağy"},
        "ru": {"nom": "Каражанбас", "prep": "Каражанбасе", "gen": "Каражанбаса",
               "dat": "Каражанбасу", "ins": "Каражанбасом"},
        "en": {"nom": "Karazhanbas", "pos": "Karazhanbas's", "alt": "Karajanbas"},
    },
}

# Surnames: masculine and feminine forms (m/f), Kazakh cases as written after Russian-type
# surnames (both harmony variants occur), Russian declension, English spellings.
PEOPLE = {
    "esenov": {
        "kk": {"nom": "Есенов", "gen": "Есеновтың", "acc": "Есеновті", "dat": "Есеновке",
               "ins": "Есеновпен", "fnom": "Есенова", "fgen": "Есенованың", "fdat": "Есеноваға"},
        "kl": {"nom": "Esenov", "gen": "Esenovtıñ", "acc": "Esenovtı", "dat": "Esenovke",
               "ins": "Esenovpen", "fnom": "Esenova", "fgen": "Esenovanyñ", "fdat": "Esenovağa"},
        "ru": {"nom": "Есенов", "acc": "Есенова", "ins": "Есеновым", "dat": "Есенову",
               "prep": "Есенове", "fnom": "Есенова", "fobl": "Есеновой", "facc": "Есенову"},
        "en": {"nom": "Yesenov", "pos": "Yesenov's", "fnom": "Yesenova", "alt": "Esenov"},
    },
    "saparov": {
        "kk": {"nom": "Сапаров", "gen": "Сапаровтың", "acc": "Сапаровты", "dat": "Сапаровқа",
               "ins": "Сапаровпен", "fnom": "Сапарова", "fgen": "Сапарованың", "fdat": "Сапароваға"},
        "kl": {"nom": "Saparov", "gen": "Saparovtyñ", "acc": "Saparovty", "dat": "Saparovqa",
               "ins": "Saparovpen", "fnom": "Saparova", "fgen": "Saparovanyñ", "fdat": "Saparovağa"},
        "ru": {"nom": "Сапаров", "acc": "Сапарова", "ins": "Сапаровым", "dat": "Сапарову",
               "prep": "Сапарове", "fnom": "Сапарова", "fobl": "Сапаровой", "facc": "Сапарову"},
        "en": {"nom": "Saparov", "pos": "Saparov's", "fnom": "Saparova", "alt": "Saparov"},
    },
    "joldibaev": {
        "kk": {"nom": "Жолдыбаев", "gen": "Жолдыбаевтың", "acc": "Жолдыбаевты",
               "dat": "Жолдыбаевқа", "ins": "Жолдыбаевпен", "fnom": "Жолдыбаева",
               "fgen": "Жолдыбаеваның", "fdat": "Жолдыбаеваға"},
        "kl": {"nom": "Joldybaev", "gen": "Joldybaevtyñ", "acc": "Joldybaevty",
               "dat": "Joldybaevqa", "ins": "Joldybaevpen", "fnom": "Joldybaeva",
               "fgen": "Joldybaevanyñ", "fdat": "Joldybaevağa"},
        "ru": {"nom": "Жолдыбаев", "acc": "Жолдыбаева", "ins": "Жолдыбаевым", "dat": "Жолдыбаеву",
               "prep": "Жолдыбаеве", "fnom": "Жолдыбаева", "fobl": "Жолдыбаевой",
               "facc": "Жолдыбаеву"},
        "en": {"nom": "Zholdybayev", "pos": "Zholdybaev's", "fnom": "Zholdybayeva",
               "alt": "Zholdybaiev"},
    },
    "nurmagambetov": {
        "kk": {"nom": "Нұрмағамбетов", "gen": "Нұрмағамбетовтың", "acc": "Нұрмағамбетовты",
               "dat": "Нұрмағамбетовқа", "ins": "Нұрмағамбетовпен", "fnom": "Нұрмағамбетова",
               "fgen": "Нұрмағамбетованың", "fdat": "Нұрмағамбетоваға"},
        "kl": {"nom": "Nūrmağambetov", "gen": "Nūrmağambetovtyñ", "acc": "Nūrmağambetovty",
               "dat": "Nūrmağambetovqa", "ins": "Nūrmağambetovpen", "fnom": "Nūrmağambetova",
               "fgen": "Nūrmağambetovanyñ", "fdat": "Nūrmağambetovağa"},
        "ru": {"nom": "Нурмагамбетов", "acc": "Нурмагамбетова", "ins": "Нурмагамбетовым",
               "dat": "Нурмагамбетову", "prep": "Нурмагамбетове", "fnom": "Нурмагамбетова",
               "fobl": "Нурмагамбетовой", "facc": "Нурмагамбетову"},
        "en": {"nom": "Nurmagambetov", "pos": "Nurmagambetov's", "fnom": "Nurmagambetova",
               "alt": "Nurmaghambetov"},
    },
    "sotnikov": {
        "kk": {"nom": "Сотников", "gen": "Сотниковтың", "acc": "Сотниковты", "dat": "Сотниковқа",
               "ins": "Сотниковпен", "fnom": "Сотникова", "fgen": "Сотникованың",
               "fdat": "Сотниковаға"},
        "kl": {"nom": "Sotnikov", "gen": "Sotnikovtyñ", "acc": "Sotnikovty", "dat": "Sotnikovqa",
               "ins": "Sotnikovpen", "fnom": "Sotnikova", "fgen": "Sotnikovanyñ",
               "fdat": "Sotnikovağa"},
        "ru": {"nom": "Сотников", "acc": "Сотникова", "ins": "Сотниковым", "dat": "Сотникову",
               "prep": "Сотникове", "fnom": "Сотникова", "fobl": "Сотниковой", "facc": "Сотникову"},
        "en": {"nom": "Sotnikov", "pos": "Sotnikov's", "fnom": "Sotnikova", "alt": "Sotnikov"},
    },
    "sergeev": {
        "kk": {"nom": "Сергеев", "gen": "Сергеевтің", "acc": "Сергеевті", "dat": "Сергеевке",
               "ins": "Сергеевпен", "fnom": "Сергеева", "fgen": "Сергееваның", "fdat": "Сергееваға"},
        "kl": {"nom": "Sergeev", "gen": "Sergeevtıñ", "acc": "Sergeevtı", "dat": "Sergeevke",
               "ins": "Sergeevpen", "fnom": "Sergeeva", "fgen": "Sergeevanyñ", "fdat": "Sergeevağa"},
        "ru": {"nom": "Сергеев", "acc": "Сергеева", "ins": "Сергеевым", "dat": "Сергееву",
               "prep": "Сергееве", "fnom": "Сергеева", "fobl": "Сергеевой", "facc": "Сергееву"},
        "en": {"nom": "Sergeyev", "pos": "Sergeyev's", "fnom": "Sergeyeva", "alt": "Sergeev"},
    },
}

# --- Sentence templates: {X} is a place, {P} a person, in the case the key names. ---
PLACE_T = {
    "kk": [
        ("loc", "{X} атыс болды."),
        ("loc", "Біз ол кезде {X} тұрдық."),
        ("loc", "{X} ереуіл жеті ай бойы жүрді."),
        ("loc", "Желтоқсанның он алтысында {X} көп адам жиналды."),
        ("dat", "Біз {X} хабар жібердік."),
        ("dat", "Ертеңіне әкем {X} кетті."),
        ("dat", "Түнде {X} әскер кірді."),
        ("abl", "{X} келген жұмысшылар алаңда тұрды."),
        ("abl", "Ол {X} маған хат жазды."),
        ("gen", "{X} тұрғындары ештеңе айтпады."),
        ("gen", "{X} көшелерінде полиция жүрді."),
        ("attr", "{X} жұмысшылар ереуілге шықты."),
        ("attr", "{X} туыстарымыз үш күн хабарласпады."),
        ("nom", "{X} ол күндері тыныш емес еді."),
    ],
    "kl": [
        ("loc", "{X} atys boldy."),
        ("loc", "Bız ol kezde {X} tūrdyq."),
        ("dat", "Bız {X} habar jıberdık."),
        ("dat", "Erteñıne äkem {X} kettı."),
        ("abl", "{X} kelgen jūmysşylar alañda tūrdy."),
        ("gen", "{X} tūrğyndary eşteñe aitpady."),
        ("attr", "{X} jūmysşylar ereuılge şyqty."),
        ("nom", "{X} ol künderı tynyş emes edı."),
    ],
    "ru": [
        ("prep", "В {X} стреляли."),
        ("prep", "Мы жили в {X} три года."),
        ("prep", "В {X} начались задержания."),
        ("gen", "Из {X} уехали многие семьи."),
        ("gen", "Недалеко от {X} стояли автобусы с ОМОНом."),
        ("gen", "Жители {X} боялись говорить."),
        ("dat", "К {X} подошли войска."),
        ("dat", "Дорогу к {X} перекрыли ещё утром."),
        ("ins", "Под {X} задержали рабочих."),
        ("nom", "{X} тогда был закрыт для журналистов."),
    ],
    "en": [
        ("nom", "Police opened fire in {X}."),
        ("nom", "We drove to {X} that night."),
        ("nom", "My brother worked near {X} on the oil field."),
        ("nom", "The strike in {X} lasted seven months."),
        ("alt", "Nobody from {X} would talk to us."),
        ("alt", "They took him to {X} in a bus."),
        ("pos", "{X} main square was full of people."),
        ("pos", "{X} hospital had no free beds."),
    ],
}

PERSON_T = {
    "kk": [
        ("nom", "{P} түнде ұсталды."),
        ("nom", "{P} бізге бәрін айтып берді."),
        ("gen", "{P} қызы полицияға барды."),
        ("gen", "{P} үйін тінтті."),
        ("acc", "Полиция {P} ұстап әкетті."),
        ("acc", "{P} үш күн іздедік."),
        ("dat", "{P} хабарлама жібердік."),
        ("dat", "{P} ешкім көмектеспеді."),
        ("ins", "{P} бірге жұмыс істедім."),
        ("ins", "Мен {P} алаңда сөйлестім."),
        ("fnom", "{P} апай алаңда сөз сөйледі."),
        ("fgen", "{P} ұлы әлі оралмады."),
        ("fdat", "{P} қоңырау шалдық."),
    ],
    "kl": [
        ("nom", "{P} tünde ūstaldy."),
        ("gen", "{P} qyzy polisiağa bardy."),
        ("acc", "{P} üş kün ızdedık."),
        ("dat", "{P} habarlama jıberdık."),
        ("ins", "{P} bırge jūmys ıstedım."),
        ("fnom", "{P} apai alañda söz söiledı."),
        ("fgen", "{P} ūly älı oralmady."),
        ("fdat", "{P} qoñyrau şaldyq."),
    ],
    "ru": [
        ("nom", "{P} работал оператором на промысле."),
        ("nom", "{P} пропал шестнадцатого декабря."),
        ("acc", "Задержали {P} прямо на площади."),
        ("acc", "Мы искали {P} три дня."),
        ("ins", "Я работал вместе с {P}."),
        ("ins", "С {P} мы больше не виделись."),
        ("dat", "{P} сломали руку в изоляторе."),
        ("dat", "Передайте {P}, что мы живы."),
        ("prep", "О {P} до сих пор ничего не известно."),
        ("fnom", "{P} выступала на площади."),
        ("fobl", "У {P} забрали телефон."),
        ("fobl", "Мы говорили с {P} по телефону."),
        ("facc", "Вызвали на допрос {P}."),
    ],
    "en": [
        ("nom", "{P} was detained at night."),
        ("nom", "They beat {P} at the police station."),
        ("pos", "{P} family is still waiting for news."),
        ("fnom", "Mrs {P} spoke at the square."),
        ("alt", "I last saw {P} on the sixteenth."),
    ],
}

# Person + place in one sentence: (lang, person case, place case, template).
BOTH_T = [
    ("kk", "nom", "loc", "{P} {X} ұсталды."),
    ("kk", "gen", "loc", "{P} інісі {X} жараланды."),
    ("kk", "ins", "dat", "{P} бірге {X} бардық."),
    ("kl", "nom", "loc", "{P} {X} ūstaldy."),
    ("ru", "acc", "prep", "Задержали {P} в {X}."),
    ("ru", "fnom", "gen", "{P} уехала из {X} в январе."),
    ("ru", "ins", "gen", "С {P} мы шли от {X} пешком."),
    ("en", "nom", "nom", "{P} was arrested in {X}."),
    ("en", "pos", "nom", "{P} house in {X} was searched."),
]

# Testimonies that must NOT match the name queries: short words the names begin with, other
# places and first names that share a beginning. Labelled with the word queries they answer.
NEGATIVES = [
    ("kara", "Түнде қара көлік үйдің алдына келіп тоқтады."),
    ("kara", "Олар қара киім киген, беттері жабық еді."),
    ("kara", "Қара түнде ешкім көшеге шықпады."),
    ("ak", "Ақ көйлекті әйел айғайлап жылады."),
    ("ak", "Ақ орамал тартқан апалар алаңға жиналды."),
    ("ak", "Қолымызда ақ ту болды, бірақ олар бәрібір атты."),
    ("jol", "Жол жабылды, біз жаяу жүрдік."),
    ("jol", "Қалаға баратын жол үш күн бойы жабық тұрды."),
    ("jol", "Бізге жол жоқ деді."),
    ("sot", "Сот үкімді он минутта оқыды."),
    ("sot", "Сот бізді тыңдамады."),
    ("sot", "Ертең сот болады деп айтты."),
    ("", "Есен ағай бізге су әкеліп берді."),
    ("", "Есенге телефон соғып, бәрін айттық."),
    ("", "Есен мен Айгүл алаңда болды."),
    ("", "Сапар ағаның үйі алаңның қасында."),
    ("", "Сапарға шыққан жұмысшылар қайтпады."),
    ("", "Біз Өзенде тұрамыз, ол теңізден алыс емес."),
    ("", "Өзеннің жағасында адамдар отырды."),
    ("", "Ақтаста ешкім атыс естімеді."),
    ("", "Қызыл ту ұстаған жастар алдымен жүрді."),
    ("", "Қызылдың бәрі қан еді."),
    ("", "Работал на Тенгизе вахтой, домой приезжал раз в месяц."),
    ("", "Теңізге қарай көліктер кетті."),
    ("", "Бейнежазбаны телефоннан өшіріп тастады."),
    ("", "Шеттегі үйлерде жарық болмады."),
    ("", "Ауылдың шетінде әскер тұрды."),
    ("", "Каламы не было, мы писали углём."),
    ("", "Жолдас Нұрлан бізге көмектесті."),
    ("", "Жолдың бойында полиция тұрды."),
    ("", "Сотқа бізді кіргізбеді."),
    ("", "В суде нас не выслушали."),
    ("", "Оралман туыстар Оралдан келді."),
    ("", "The court did not let us speak."),
    ("", "A black car stopped by the gate."),
    ("", "The road to the city was closed for three days."),
    ("", "Сергей нас подвёз до больницы."),
    ("", "Ерлан и Асель стояли у акимата."),
    ("", "Мы ждали у ворот до вечера, никто не вышел."),
    ("", "Ешкім ештеңе түсіндірмеді."),
    ("", "Нұрсұлтан көшесінде көліктер тұрды."),
    ("", "Есімі жазылмаған адамдар көп болды."),
    ("", "Жаңа өзен арнасы тартылып қалды."),
    ("", "Ақсуда туыстарымыз тұрады."),
    ("", "Алматыға хат жаздық, жауап келмеді."),
]

# Two-word phrase: "Жаңаөзен алаңы" finds the name followed by the word for square in any case.
PHRASE_DOCS = [
    "Жаңаөзеннің алаңында мыңдаған адам тұрды.",
    "Біз Жаңаөзен алаңына таңертең бардық.",
    "Jañaözen alañynda polisia atty.",
    "Жаңаөзен алаңы бос қалды.",
]
PHRASE_NEG = [
    "Жаңаөзенде атыс болды, ал алаңда ешкім қалмады.",  # both words, not side by side
]

# Queries: a name in every script and several inflected forms; the expected results are every
# testimony labelled with the name.
QUERIES = {
    "janaozen": ["Жаңаөзен", "Жанаозен", "Zhanaozen", "Jañaözen", "Жаңаөзенде", "Жанаозене",
                 "Zhanaozen's", "Janaozen", "Жаңаөзеннің"],
    "aktau": ["Ақтау", "Актау", "Aktau", "Aqtau", "Ақтауға", "Aqtauda"],
    "shetpe": ["Шетпе", "Shetpe", "Şetpe", "Шетпеде", "Шетпенің"],
    "mangystau": ["Маңғыстау", "Мангистау", "Mangystau", "Mañğystau", "Маңғыстаудағы"],
    "kyzylsai": ["Қызылсай", "Кызылсай", "Kyzylsai", "Qyzylsaiğa", "Кызылсае"],
    "kalamkas": ["Қаламқас", "Каламкас", "Kalamkas", "Каламкасе", "Qalamqasta"],
    "tenge": ["Теңге", "Тенге", "Tenge", "Теңгеде"],
    "beineu": ["Бейнеу", "Beyneu", "Beineu", "Бейнеуден"],
    "fort": ["Форт-Шевченко", "Fort-Shevchenko", "Форт-Шевченкода", "Fort Shevchenko"],
    "karajanbas": ["Қаражанбас", "Каражанбас", "Karazhanbas", "Қаражанбаста"],
    "esenov": ["Есенов", "Есенова", "Есеновым", "Есеновой", "Есеновтың", "Yesenov", "Yesenova",
               "Esenov"],
    "saparov": ["Сапаров", "Сапаровой", "Saparov", "Сапаровқа", "Saparova"],
    "joldibaev": ["Жолдыбаев", "Жолдыбаева", "Zholdybayev", "Zholdybaev", "Zholdybaiev",
                  "Жолдыбаевтың", "Zholdybayeva"],
    "nurmagambetov": ["Нұрмағамбетов", "Нурмагамбетов", "Nurmagambetov", "Нурмагамбетовой",
                      "Nūrmağambetov"],
    "sotnikov": ["Сотников", "Сотникова", "Sotnikov", "Сотниковым"],
    "sergeev": ["Сергеев", "Sergeyev", "Сергеевой", "Sergeyeva", "Sergeev"],
    "kara": ["қара"],
    "ak": ["ақ"],
    "jol": ["жол"],
    "sot": ["сот"],
    "phrase": ['"Жаңаөзен алаңы"', '"Jañaözen alañy"'],
}


def main():
    rng = random.Random(20111216)
    docs = []  # (labels, text)
    for name, scripts in PLACES.items():
        for lang, templates in PLACE_T.items():
            for case, template in templates:
                form = scripts[lang].get(case)
                if form is None:
                    continue
                docs.append(({name}, template.format(X=form)))
    for name, scripts in PEOPLE.items():
        for lang, templates in PERSON_T.items():
            for case, template in templates:
                form = scripts[lang].get(case)
                if form is None:
                    continue
                docs.append(({name}, template.format(P=form)))
    # Mixed: every person with two places, each in a template of one of the scripts.
    places = sorted(PLACES)
    for i, person in enumerate(sorted(PEOPLE)):
        for k in range(6):
            lang, pcase, xcase, template = BOTH_T[(i * 6 + k) % len(BOTH_T)]
            place = places[(i * 3 + k * 7) % len(places)]
            text = template.format(P=PEOPLE[person][lang][pcase], X=PLACES[place][lang][xcase])
            docs.append(({person, place}, text))
    for label, text in NEGATIVES:
        docs.append(({label} if label else set(), text))
    for text in PHRASE_DOCS:
        docs.append(({"phrase", "janaozen"}, text))
    for text in PHRASE_NEG:
        docs.append(({"janaozen"}, text))
    rng.shuffle(docs)

    with open(os.path.join(HERE, "testimonies.tsv"), "w", encoding="utf-8") as f:
        f.write("# id\tlabels\ttext (generated by make_eval.py; see its docstring)\n")
        for i, (labels, text) in enumerate(docs):
            f.write("t%03d\t%s\t%s\n" % (i + 1, ",".join(sorted(labels)), text))
    with open(os.path.join(HERE, "queries.tsv"), "w", encoding="utf-8") as f:
        f.write("# query\tlabel\texpected ids\n")
        for label, queries in QUERIES.items():
            expected = ["t%03d" % (i + 1) for i, (labels, _) in enumerate(docs) if label in labels]
            for q in queries:
                f.write("%s\t%s\t%s\n" % (q, label, ",".join(expected)))
    print(len(docs), "testimonies,", sum(len(q) for q in QUERIES.values()), "queries")


if __name__ == "__main__":
    main()
