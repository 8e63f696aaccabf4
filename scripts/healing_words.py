"""How often a healed suggestion finishes the word being typed.

    python scripts/healing_words.py [MODEL.tflite] [--words 400]

On each typing-session text (``bench --sessions``: the packaged prose and Python's
``textwrap.py``), the first --words words of seven letters or more are cut after
each of their letters from the third on, with up to 300 characters of the text
before them, and completed healed (greedy, 4 tokens). Printed per text, for the cuts
where some token begins with what was typed of the word and for those where none
does (healing then spells it with beginnings of it): how many there were, and the
share whose suggestion begins with the rest of the word.
"""

from __future__ import annotations

import argparse
import re

from litecomplete.bench.sessions import session_texts
from litecomplete.default_model import default_model_path
from litecomplete.runtime import GenerationConfig, SamplingConfig
from litecomplete.runtime.fast_model import FastModel

BEFORE, FIRST_CUT, MIN_LETTERS = 300, 3, 7
WORD = re.compile(rf"(?<=\s)[A-Za-z]{{{MIN_LETTERS},}}")
CONFIG = GenerationConfig(max_new_tokens=4, sampling=SamplingConfig(temperature=0.0), heal=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", nargs="?", help="a fast-format file (default: the default model)")
    p.add_argument("--words", type=int, default=400)
    args = p.parse_args()
    model = FastModel.load(args.model or default_model_path())
    index = model.tokens.spelling
    print(f"model {model.path.name}, healed greedy suggestions of 4 tokens")
    for name, text in session_texts().items():
        counts = {True: [0, 0], False: [0, 0]}  # extension exists -> [cuts, finished]
        for match in list(WORD.finditer(text))[: args.words]:
            word = match.group()
            for cut in range(FIRST_CUT, len(word)):
                typed = (" " + word[:cut]).encode()
                agreeing = index.agreeing(typed)
                extended = bool(agreeing.size) and index.spelled[agreeing[0]].startswith(typed)
                model.reset()
                prompt = text[max(0, match.start() - BEFORE) : match.start() + cut]
                suggestion = model.complete(prompt, CONFIG).text
                counts[extended][0] += 1
                counts[extended][1] += suggestion.startswith(word[cut:])
        for extended, (cuts, finished) in counts.items():
            kind = "a token begins with it" if extended else "no token begins with it"
            share = finished / cuts if cuts else 0.0
            print(f"{name}: {kind}: {cuts} cuts, word finished {finished} ({share:.1%})")


if __name__ == "__main__":
    main()
