#!/usr/bin/env python3
"""Writes Tests/TextAnalysisTests/Fixtures/english-stems.tsv: word<TAB>stem pairs from
Snowball's reference English stemmer (the pure-Python PyPI package snowballstemmer, at the
version of the libstemmer Quiver links: Debian's libstemmer 2.2.0), for words of the
SciFact corpus. Snowball 3 changed English stems ("adding" is "ad" in 2.2, "add" in 3.x), so
a libstemmer of another release fails the test that reads the fixture, as it should.

    python3 -m pip download --no-deps snowballstemmer==2.2.0 -d /tmp/snowball
    PYTHONPATH=/tmp/snowball/snowballstemmer-2.2.0-py2.py3-none-any.whl \
        python3 tools/analysis/make_stem_fixture.py ../shared/beir/scifact-train/corpus.jsonl

The words: the 2,000 most frequent lowercase ASCII words, then every 8th of the rest in
alphabetical order up to 4,000 words, and a few forms with apostrophes. Deterministic.
"""
import collections
import json
import re
import sys

import snowballstemmer


def main():
    counts = collections.Counter()
    with open(sys.argv[1], encoding="utf-8") as corpus:
        for line in corpus:
            doc = json.loads(line)
            counts.update(re.findall(r"[a-z]+", (doc["title"] + " " + doc["text"]).lower()))
    frequent = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:2000]]
    rest = sorted(set(counts) - set(frequent))
    words = frequent + rest[::8][: 4000 - len(frequent)]
    words += ["can't", "won't", "don't", "o'clock", "rock'n'roll"]
    # The pure-Python class itself: snowballstemmer.stemmer() hands over to PyStemmer when
    # that is installed, which may be another Snowball release.
    stemmer = snowballstemmer.EnglishStemmer()
    with open("Tests/TextAnalysisTests/Fixtures/english-stems.tsv", "w", encoding="utf-8") as out:
        for word in words:
            out.write(f"{word}\t{stemmer.stemWord(word)}\n")


if __name__ == "__main__":
    main()
