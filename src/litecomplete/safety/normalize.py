"""Normalisation for the profanity filter: what a word looks like with its disguises undone.

Disguises undone, in order:
- Unicode: compatibility forms (fullwidth, mathematical letters, ligatures) and
  accents fold to plain letters, combining marks and invisible format characters
  (zero-width spaces, soft hyphens) are dropped, case is folded, and Cyrillic and
  Greek letters that look Latin become Latin.
- Leetspeak: digits and symbols inside a word read as the letters they imitate
  (``$h1t`` -> ``shit``); a ``1`` or ``|`` may be an ``i`` or an ``l``, so both readings
  are kept. ``*`` inside a word is a mask (``f*ck``).
- Separators: three or more single letters separated by spaces or punctuation join
  into one word (``f u c k``, ``s.h.i.t``), and two parts joined by a separator other
  than a space are also read as one word (``fu-ck``).
- Repeated letters are compared by their runs (``squeeze``), so ``fuuuck`` matches
  ``fuck`` while ``as`` does not match ``ass``.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass

# Letters from other scripts that render like Latin ones.
_LOOKALIKES = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j",
        "ѕ": "s", "ԁ": "d", "ɡ": "g", "ս": "u", "ո": "n", "α": "a", "β": "b", "ε": "e",
        "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
        "χ": "x", "ω": "w", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "ß": "ss",
        "æ": "ae", "œ": "oe", "ƅ": "b", "○": "o", "◯": "o", "●": "o", "⭕": "o",
    }
)  # fmt: skip

# Symbols that stand for letters inside a word. "1" and "|" also read as "l" (see readings).
_LEET = str.maketrans(
    {
        "0": "o", "1": "i", "2": "z", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t",
        "8": "b", "9": "g", "@": "a", "$": "s", "!": "i", "|": "i", "+": "t", "€": "e",
        "¢": "c", "£": "l", "(": "c", "¡": "i", "ø": "o",
    }
)  # fmt: skip
_LEET_L = str.maketrans({"1": "l", "|": "l"})

# A word: letters, digits, the symbols above and the mask. Everything else separates.
_WORD = re.compile(r"[a-z0-9@$!|+€¢£(¡*]+")
# Symbols that only count inside a word; at its edges they are punctuation ("hey!").
_EDGE = "!|(+"
_JOINER = re.compile(r"[\s._\-~*/\\'\"`^,:;]{1,3}")  # a gap between spelled-out letters
_TIGHT_JOINER = re.compile(r"[._\-~/\\^]")  # a gap that does not separate words in prose


# Letters drawn with several symbols, replaced before words are found.
_DRAWN = (("|_|", "u"), ("()", "o"), ("|\\|", "n"), ("\\/", "v"))


def fold(text: str) -> str:
    """``text`` with Unicode disguises removed and case folded (see the module's docstring)."""
    if text.isascii():
        return _undraw(text.lower())
    kept = []
    for ch in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(ch) or unicodedata.category(ch) == "Cf":
            continue
        kept.append(ch)
    return _undraw("".join(kept).casefold().translate(_LOOKALIKES))


def _undraw(text: str) -> str:
    for drawn, letter in _DRAWN:
        if drawn in text:
            text = text.replace(drawn, letter)
    return text


def readings(word: str) -> tuple[str, ...]:
    """The letter spellings of one folded ``word``: leetspeak read, edges stripped.

    Empty when the word has no letter at all (numbers, lone symbols).
    """
    word = word.strip(_EDGE)
    if not word or word.isdigit():
        return ()
    if word.isalpha():
        return (word,)
    if not any(ch.isalpha() for ch in word) and "*" not in word:
        return ()  # "2024", "$5", "100%": figures, not disguised words
    return _leet(word)


def _leet(word: str) -> tuple[str, ...]:
    """``word`` with its symbols read as letters: one reading, two where "1" or "|"
    may also be an "l"."""
    first = word.translate(_LEET)
    if "1" in word or "|" in word:
        second = word.translate(_LEET_L).translate(_LEET)
        if second != first:
            return (first, second)
    return (first,)


@dataclass(frozen=True)
class Token:
    text: str  # folded, with its symbols still in place
    start: int  # span in the folded text
    end: int


def tokens(folded: str) -> list[Token]:
    return [Token(m.group(), m.start(), m.end()) for m in _WORD.finditer(folded)]


def candidates(folded: str) -> list[str]:
    """Every spelling worth checking in ``folded`` text: each word, joined spelled-out
    letters and tightly joined word pairs, leetspeak read."""
    words = tokens(folded)
    found: list[str] = []
    for token in words:
        found.extend(readings(token.text))
    # Spelled-out letters: runs of >= 3 one-character words.
    for run in _letter_runs(folded, words):
        found.extend(_spelled_out(run))
    # Two parts joined by a separator that does not part words in prose ("fu-ck").
    for left, right in itertools.pairwise(words):
        gap = folded[left.end : right.start]
        if len(gap) == 1 and _TIGHT_JOINER.fullmatch(gap):
            found.extend(readings(left.text + right.text))
    return found


def spelled_tail(folded: str, words: list[Token]) -> tuple[str, ...]:
    """The letter readings of the one-character words that end ``folded`` (its
    ``tokens``: ``words``), joined as ``candidates`` joins spelled-out letters ("I said
    f u c" -> "fuc"; "5 h 1" -> "shi", "shl"); digits are read as letters here. Empty
    when ``folded`` does not end in a one-character word."""
    runs = _letter_runs(folded, words)
    if not runs or runs[-1][-1] is not words[-1] or words[-1].end < len(folded):
        return ()
    return _leet("".join(t.text for t in runs[-1]))


def _letter_runs(folded: str, words: list[Token]) -> list[list[Token]]:
    """The runs of one-character words with short gaps between (``_JOINER``), one
    word long or longer: what spelled-out letters are made of."""
    runs: list[list[Token]] = []
    run: list[Token] = []  # the run the previous word is in, if any
    for token in words:
        if len(token.text) != 1:
            run = []
        elif run and _JOINER.fullmatch(folded, run[-1].end, token.start):
            run.append(token)
        else:
            run = [token]
            runs.append(run)
    return runs


def _spelled_out(run: list[Token]) -> tuple[str, ...]:
    return readings("".join(t.text for t in run)) if len(run) >= 3 else ()


def squeeze(word: str) -> tuple[str, tuple[int, ...]]:
    """``word`` with each run of a letter written once, and the runs' lengths."""
    letters, counts = [], []
    for letter, group in itertools.groupby(word):
        letters.append(letter)
        counts.append(sum(1 for _ in group))
    return "".join(letters), tuple(counts)
