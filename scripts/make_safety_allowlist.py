"""Print dictionary words the profanity filter flags, to review for data/safety_allow.txt.

    python scripts/make_safety_allowlist.py /usr/share/dict/american-english \
        /usr/share/dict/british-english

Debian's ``wamerican`` and ``wbritish`` word lists hold place names and other proper
nouns as well as words. Each flagged word is printed with the entry it matched; the
clean ones (snigger, Matsushita, spicy, ...) belong in the allow-list, the others
(bullshit, fuckers, ...) are what the filter is for.
"""

from __future__ import annotations

import sys

from litecomplete.safety.filter import ProfanityFilter, _data_lines, parse_word_list


def main(paths: list[str]) -> None:
    bare = ProfanityFilter(parse_word_list(_data_lines("profanity.txt")))
    seen: set[str] = set()
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                word = line.strip()
                if not word or word.endswith("'s") or word.lower() in seen:
                    continue
                seen.add(word.lower())
                found = bare.find(word)
                if found:
                    print(f"{word}\t{found[0].word}")


if __name__ == "__main__":
    main(sys.argv[1:])
