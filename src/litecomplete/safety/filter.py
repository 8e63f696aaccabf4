"""The profanity filter: a word list matched through ``normalize``, with an allow-list.

The word list (``data/profanity.txt``) marks which entries may also be found inside
longer words; those are the ones that make Scunthorpe-style false positives, so
``data/safety_allow.txt`` lists real words and place names that contain them
(assassin, Scunthorpe, snigger, Matsushita, ...). ``scripts/make_safety_allowlist.py``
finds such words in a dictionary for review.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from litecomplete.safety.normalize import (
    candidates,
    fold,
    readings,
    spelled_tail,
    squeeze,
    tokens,
)

# Endings a whole-word entry also matches in: "bastards", "wanker", "pissing".
ENDINGS = ("", "s", "es", "ed", "er", "ers", "ing", "in", "y", "ie", "ies", "z")
# Phrases that are clean though a word in them is on the list.
ALLOWED_PHRASES = (
    "moby dick",
    "dick van dyke",
    "dick whittington",
    "spotted dick",
    "pussy willow",
)


@dataclass(frozen=True)
class Entry:
    word: str
    inside: bool = False  # also matched inside longer words
    name: bool = False  # also a name: a capitalized use inside a sentence passes


def _content(line: str) -> str:
    """A data file's line without its comment and surrounding spaces."""
    return line.split("#", 1)[0].strip()


def parse_word_list(lines: Iterable[str]) -> list[Entry]:
    """Entries of a word list in ``profanity.txt``'s format; ValueError names a bad line."""
    entries = []
    for number, raw in enumerate(lines, 1):
        line = _content(raw)
        if not line:
            continue
        word = line.rstrip("+~")
        if not re.fullmatch(r"[a-z]{2,}", word):
            raise ValueError(f"word list line {number}: {raw.strip()!r} is not a lowercase word")
        flags = line[len(word) :]
        entries.append(Entry(word, inside="+" in flags, name="~" in flags))
    return entries


def _runs_cover(counts: tuple[int, ...], need: tuple[int, ...], at: int = 0) -> bool:
    return all(counts[at + i] >= n for i, n in enumerate(need))


class ProfanityFilter:
    """``find(text)``: the listed words ``text`` contains, however disguised."""

    def __init__(self, entries: Iterable[Entry], allowed: Iterable[str] = ()) -> None:
        self.entries = list(entries)
        # Whole-word forms by their squeezed spelling: [(run lengths needed, entry)].
        self._forms: dict[str, list[tuple[tuple[int, ...], Entry]]] = {}
        for entry in self.entries:
            for ending in ENDINGS:
                letters, need = squeeze(entry.word + ending)
                self._forms.setdefault(letters, []).append((need, entry))
        self._inside: dict[str, list[tuple[tuple[int, ...], Entry]]] = {}
        for entry in self.entries:
            if entry.inside:
                letters, need = squeeze(entry.word)
                self._inside.setdefault(letters, []).append((need, entry))
        alternatives = sorted(self._inside, key=len, reverse=True)
        self._inside_re = re.compile("|".join(alternatives)) if alternatives else None
        self._allowed: dict[str, list[tuple[int, ...]]] = {}
        for word in allowed:
            letters, counts = squeeze(fold(word))
            self._allowed.setdefault(letters, []).append(counts)
        self._names = {e.word for e in self.entries if e.name}
        self.check_word = functools.lru_cache(maxsize=1 << 16)(self._check_word)
        # Every beginning of a listed spelling: what an unfinished word may still become.
        self._beginnings = _beginnings(self._forms)
        self._inside_beginnings = _beginnings(self._inside)

    def _is_allowed(self, letters: str, counts: tuple[int, ...]) -> bool:
        return any(
            len(c) == len(counts) and _runs_cover(counts, c) for c in self._allowed.get(letters, ())
        )

    def _check_word(self, word: str) -> Entry | None:
        """The entry that one letter spelling matches, or None."""
        if "*" in word:
            return self._check_masked(word)
        letters, counts = squeeze(word)
        if self._is_allowed(letters, counts):
            return None
        for need, entry in self._forms.get(letters, ()):
            if _runs_cover(counts, need):
                return entry
        if self._inside_re is None:
            return None
        start = 0
        while match := self._inside_re.search(letters, start):
            for need, entry in self._inside[match.group()]:
                if _runs_cover(counts, need, match.start()):
                    return entry
            start = match.start() + 1
        return None

    def _check_masked(self, word: str) -> Entry | None:
        """``f*ck``, ``s**t``: each run of ``*`` stands for up to as many letters."""
        if sum(ch.isalpha() for ch in word) < 2:
            return None
        parts = re.split(r"(\*+)", word)
        pattern = "".join(
            f"[a-z]{{1,{len(p)}}}" if p.startswith("*") else re.escape(p) for p in parts
        )
        masked = re.compile(pattern)
        for entry in self.entries:
            for ending in ENDINGS:
                if masked.fullmatch(entry.word + ending):
                    return entry
        return None

    def _is_name(self, text: str, folded: str, entry: Entry, word: str) -> bool:
        """A capitalized, sentence-inner use of a name entry ("Moby Dick", "Dick Jones")."""
        if entry.word not in self._names:
            return False
        for token in tokens(folded):
            if token.text != word:
                continue
            original = text[token.start : token.end] if len(text) == len(folded) else ""
            before = text[: token.start].rstrip()
            if not (original[:1].isupper() and original[1:].islower()):
                return False
            if not before or before[-1] in ".!?\"'":
                return False
        return True

    def find(self, text: str) -> list[Entry]:
        """The entries ``text`` contains, in order found (each once)."""
        folded = fold(text)
        for phrase in ALLOWED_PHRASES:
            if phrase in folded:
                folded = folded.replace(phrase, " " * len(phrase))
        found: list[Entry] = []
        for word in candidates(folded):
            entry = self.check_word(word)
            if (
                entry is not None
                and entry not in found
                and not self._is_name(text, folded, entry, word)
            ):
                found.append(entry)
        return found

    def is_profane(self, text: str) -> bool:
        return bool(self.find(text))

    def may_grow_profane(self, text: str) -> bool:
        """Whether ``text`` ends inside a word that more letters could make a listed
        one: its letters so far begin a listed spelling (or, for entries matched inside
        longer words, end in two letters or more that begin one), it has a mask
        (``f*``), or it ends in one-character words whose letters, from any of them on,
        begin a listed spelling (spelled out: ``f u c``; a lone ``I`` or ``2`` begins
        none). A listed word itself counts; text that ends after a word never does."""
        folded = fold(text)
        words = tokens(folded)
        if not words or words[-1].end < len(folded):
            return False
        word = words[-1].text
        if "*" in word:
            return True
        if len(word) == 1:
            return any(
                letters[i:] in self._beginnings
                for reading in spelled_tail(folded, words)
                for letters in [squeeze(reading)[0]]
                for i in range(len(letters))
            )
        for reading in readings(word):
            letters, _ = squeeze(reading)
            if letters in self._beginnings or any(
                letters[i:] in self._inside_beginnings for i in range(len(letters) - 1)
            ):
                return True
        return False


def _beginnings(spellings: Iterable[str]) -> set[str]:
    """Every non-empty beginning of each of ``spellings``, whole ones included."""
    return {word[:i] for word in spellings for i in range(1, len(word) + 1)}


def _data_lines(name: str) -> list[str]:
    return (resources.files("litecomplete") / "data" / name).read_text("utf-8").splitlines()


@functools.cache
def default_filter() -> ProfanityFilter:
    """The filter with the packaged word list and allow-list."""
    allowed = [word for word in map(_content, _data_lines("safety_allow.txt")) if word]
    return ProfanityFilter(parse_word_list(_data_lines("profanity.txt")), allowed)


def is_profane(text: str) -> bool:
    """Whether ``text`` contains a word of the default list (see ``ProfanityFilter``)."""
    return default_filter().is_profane(text)
