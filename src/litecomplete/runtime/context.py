"""The context window: how much of the user's text, counted from its end, the model sees."""

from __future__ import annotations

import re

from litecomplete.errors import ConfigError

_WORD = re.compile(r"\S+")
MIN_CONTEXT_WORDS, MAX_CONTEXT_WORDS = 1, 1000


def newest_words(text: str, words: int) -> str:
    """The end of ``text`` from its ``words``-th last word on (the seed app's slider).

    Whitespace between the kept words is kept as written; a text with fewer words
    comes back whole. Works on characters, so no UTF-8 sequence is ever split.
    """
    if not MIN_CONTEXT_WORDS <= words <= MAX_CONTEXT_WORDS:
        raise ConfigError(
            f"context window must be {MIN_CONTEXT_WORDS} to {MAX_CONTEXT_WORDS} words, got {words}"
        )
    starts = [m.start() for m in _WORD.finditer(text)]
    if len(starts) <= words:
        return text
    return text[starts[-words] :]
