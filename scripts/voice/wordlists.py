#!/usr/bin/env python3
"""Word lists for asrtrain -words (word salad in the training speech).

Usage: wordlists.py OUTDIR

Writes OUTDIR/{en,de,es,fr}.txt: 6000 words each, sampled (fixed seed)
from Debian's spelling word lists, which must be installed:
  apt install wamerican wngerman wspanish wfrench
The lists are read at training time rather than copied into the
repository (they carry their own licences). Kept: words of 2..12 letters,
no digits or apostrophes, lower case except German (nouns). Left out:
every word of agent/voice/asr/testdata/coffee.en.yaml, the context the
tests and `asrtrain -other` use as a domain the model never heard.
"""
import os
import random
import re
import sys

COFFEE_YAML = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                           "agent", "voice", "asr", "testdata", "coffee.en.yaml")


def context_words(path):
    """The words of a context file: its templates and slot phrases, without
    comments, keys and slot references."""
    words = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0]
            if line.startswith("language:"):
                continue
            line = re.sub(r"\{[^}]*\}", " ", line)      # {slot} references
            line = re.sub(r"[\w']+\s*:", " ", line)     # keys
            words.update(w.lower() for w in re.findall(r"[A-Za-z']+", line))
    return words

SOURCES = {
    "en": "/usr/share/dict/american-english",
    "de": "/usr/share/dict/ngerman",
    "es": "/usr/share/dict/spanish",
    "fr": "/usr/share/dict/french",
}


def main():
    out = sys.argv[1]
    coffee = context_words(COFFEE_YAML)
    os.makedirs(out, exist_ok=True)
    for lang, path in SOURCES.items():
        words = set()
        with open(path, encoding="utf-8") as f:
            for w in f:
                w = w.strip()
                if lang != "de" and w != w.lower():
                    continue
                if not re.fullmatch(r"[^\W\d_]{2,12}", w) or w.lower() in coffee:
                    continue
                words.add(w)
        words = sorted(words)
        random.Random(1).shuffle(words)
        words = sorted(words[:6000])
        with open(os.path.join(out, lang + ".txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(words) + "\n")
        print(f"{lang}: {len(words)} words from {path}")


if __name__ == "__main__":
    main()
