#!/usr/bin/env python3
"""Measures the search stemmer (docs/FORMAT.md "Search folding", "Stems") on dictionary words.

Hunspell's Kazakh and Russian dictionaries (hunspell-kk, hunspell-ru) list lemmas with affix
rules; `unmunch` expands a lemma into its inflected forms. For a fixed random sample of lemmas
this reports, for our stemmer (tests/tools/estelik_stem) and for Snowball's Russian stemmer
(libstemmer, Cyrillic only; Snowball has no Kazakh):
  conflation  share of inflected forms whose stem is the stem of their lemma's first form
  collisions  stems shared by forms of two or more different lemmas (over-stemming)
Dev-time only (Debian packages hunspell-kk hunspell-ru hunspell-tools libstemmer0d):

  python3 tests/data/search_eval/measure_stems.py build/search/tests/tools/estelik_stem
"""
import ctypes
import os
import random
import subprocess
import sys
import tempfile
from collections import defaultdict


def lemma_forms(lang, count, seed=13):
    lines = open("/usr/share/hunspell/%s.dic" % lang, encoding="utf-8").read().split("\n")[1:]
    lines = [l for l in lines if l.strip()]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for entry in random.Random(seed).sample(lines, count):
            dic = os.path.join(tmp, "one.dic")
            open(dic, "w", encoding="utf-8").write("1\n" + entry + "\n")
            forms = subprocess.run(["unmunch", dic, "/usr/share/hunspell/%s.aff" % lang],
                                   capture_output=True, text=True).stdout.split()
            forms = [f for f in dict.fromkeys(forms) if f.isalpha()]
            if len(forms) >= 2:
                out.append(forms)
    return out


def ours(tool, words):
    res = subprocess.run([tool], input="\n".join(words) + "\n", capture_output=True, text=True)
    stems = {}
    for line in res.stdout.splitlines():
        w, key, stem = line.split("\t")
        stems[w] = stem
    return stems


def snowball_russian(words):
    lib = ctypes.CDLL("libstemmer.so.0d")
    lib.sb_stemmer_new.restype = ctypes.c_void_p
    lib.sb_stemmer_stem.restype = ctypes.c_void_p
    lib.sb_stemmer_stem.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.sb_stemmer_length.argtypes = [ctypes.c_void_p]
    st = lib.sb_stemmer_new(b"russian", b"UTF_8")
    out = {}
    for w in words:
        b = w.lower().encode()
        p = lib.sb_stemmer_stem(st, b, len(b))
        out[w] = ctypes.string_at(p, lib.sb_stemmer_length(st)).decode()
    return out


def score(lemmas, stems):
    same = total = 0
    owners = defaultdict(set)
    for i, forms in enumerate(lemmas):
        base = stems[forms[0]]
        for f in forms[1:]:
            total += 1
            same += stems[f] == base
        for f in forms:
            owners[stems[f]].add(i)
    collisions = sum(1 for o in owners.values() if len(o) > 1)
    return same / total, collisions, len(owners)


def main():
    tool = sys.argv[1]
    for lang, count in (("kk_KZ", 400), ("ru_RU", 400)):
        lemmas = lemma_forms(lang, count)
        words = sorted({f for forms in lemmas for f in forms})
        rows = [("estelik", ours(tool, words))]
        if lang == "ru_RU":
            rows.append(("snowball-russian", snowball_russian(words)))
        for name, stems in rows:
            conf, coll, n = score(lemmas, stems)
            print("%s %-16s lemmas %d forms %d: conflation %.3f, stems shared by 2+ lemmas %d of %d"
                  % (lang, name, len(lemmas), len(words), conf, coll, n))


if __name__ == "__main__":
    main()
