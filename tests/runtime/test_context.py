"""The context window keeps the newest words of the user's text."""

from __future__ import annotations

import pytest

from litecomplete.errors import ConfigError
from litecomplete.runtime.context import newest_words


def test_keeps_the_newest_words_as_written() -> None:
    assert newest_words("one two  three\tfour five", 3) == "three\tfour five"
    assert newest_words("one two three ", 2) == "two three "
    assert newest_words("short text", 20) == "short text"
    assert newest_words("", 5) == ""


def test_never_splits_a_character() -> None:
    text = "naïve café — déjà vu 🙂 日本語のテキスト"
    kept = newest_words(text, 3)
    assert text.endswith(kept) and kept == "vu 🙂 日本語のテキスト"
    kept.encode("utf-8")  # whole characters only


@pytest.mark.parametrize("words", [0, -1, 1001])
def test_window_out_of_range(words: int) -> None:
    with pytest.raises(ConfigError, match="context window"):
        newest_words("a b c", words)
