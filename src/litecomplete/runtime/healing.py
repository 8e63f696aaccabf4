"""Token healing: a prompt that may end inside a word is completed as that word.

A prompt cut at a keystroke ends wherever the user stopped: "The wea" is tokenized
as "The", " we", "at", tokens the model seldom sees before "ther", and "The " ends
with a lone space token, after which it expects anything but a word. Healing feeds
the prompt without the tokens of its last word (or its last run of spaces or
punctuation) and makes the completion's first tokens spell them again: each token
while the removed text is not yet spelled must agree with it (begin with what is
left of it, or, where no token does, be a beginning of it no shorter than the
tokenizer's own first token of it). The completion shows
only what comes after the removed text ("ther is fine"). Every keystroke inside one
word then feeds the same tokens, whose logits the runtime already holds.
"""

from __future__ import annotations

import bisect
import re
from typing import Any

import numpy as np

from litecomplete.runtime.byte_vocab import byte_to_unicode

# Tokens a healed word may span; a longer last word heals its last token only.
MAX_HEALED_TOKENS = 4
# The prompt's last word with the space before it, its last run of punctuation (with
# one space before), or its trailing spaces: what a byte-level or SentencePiece
# tokenizer spells with tokens that never reach further back.
_LAST_SEGMENT = re.compile(r"(?: ?\w+| ?[^\w\s]+|\s+)\Z")
# Texts whose first token is remembered (``SpellingIndex._first_token``).
FIRST_TOKENS_KEPT = 4096
_BYTE_TOKEN = re.compile(r"<0x([0-9A-Fa-f]{2})>\Z")


def token_bytes(tokenizer: Any, vocabulary_size: int) -> list[bytes]:
    """Each token id's bytes (b"" for special tokens and ids the tokenizer lacks).

    Byte-level BPE (GPT-2, SmolLM2) maps its printable characters back to bytes;
    otherwise "▁" is a space and ``<0xNN>`` one byte (SentencePiece, Gemma 3).
    """
    special = {i for i, added in tokenizer.get_added_tokens_decoder().items() if added.special}
    byte_level = type(tokenizer.decoder).__name__ == "ByteLevel"
    to_byte = {char: b for b, char in byte_to_unicode().items()}
    spelled = [b""] * vocabulary_size
    for token, i in tokenizer.get_vocab(with_added_tokens=True).items():
        if not 0 <= i < vocabulary_size or i in special:
            continue
        if byte_level:
            if all(ch in to_byte for ch in token):
                spelled[i] = bytes(to_byte[ch] for ch in token)
            else:  # an added token of plain text
                spelled[i] = token.encode("utf-8")
        elif match := _BYTE_TOKEN.match(token):
            spelled[i] = bytes([int(match.group(1), 16)])
        else:
            spelled[i] = token.replace("\u2581", " ").encode("utf-8")
    return spelled


class SpellingIndex:
    """Which tokens agree with a text still to be spelled."""

    def __init__(self, tokenizer: Any, vocabulary_size: int) -> None:
        self.tokenizer = tokenizer
        self.spelled = token_bytes(tokenizer, vocabulary_size)
        order = sorted((b, i) for i, b in enumerate(self.spelled) if b)
        self._sorted = [b for b, _ in order]
        self._ids = np.array([i for _, i in order], dtype=np.int64)
        self._by_bytes: dict[bytes, list[int]] = {}
        for b, i in order:
            self._by_bytes.setdefault(b, []).append(i)
        self._first: dict[bytes, int | None] = {}

    def agreeing(self, rest: bytes) -> np.ndarray:
        """Ids of the tokens that begin with ``rest``; where none does, of those that
        are a beginning of it at least as long as the tokenizer's own first token of
        it. (Short beginnings such as " w" or " " are likely almost anywhere: allowed
        beside whole words they would win over them and spell the word in pieces the
        model never saw together.) Whitespace before a word is spelled by the
        tokenizer in two: "\\n    return" is "\\n   ", " return"; so for whitespace the
        token the tokenizer itself begins it with before a word agrees as well (alone,
        "\\n       " would win, and the line come out indented twice)."""
        # Tokens beginning with ``rest`` are one run of the sorted list, up to the
        # first string past every such beginning.
        low = bisect.bisect_left(self._sorted, rest)
        end = rest.rstrip(b"\xff")
        high = (
            bisect.bisect_left(self._sorted, end[:-1] + bytes([end[-1] + 1]))
            if end
            else len(self._sorted)
        )
        if high > low:
            found = self._ids[low:high]
            if len(rest) < 2 or not rest.isspace():
                return found
            before_word = self._first_token(rest + b"x")
            if before_word is None or len(self.spelled[before_word]) >= len(rest):
                return found
            return np.append(found, before_word)
        natural = self._first_token(rest)
        shortest = 1 if natural is None else len(self.spelled[natural])
        shorter = [i for k in range(shortest, len(rest)) for i in self._by_bytes.get(rest[:k], [])]
        return np.array(shorter, dtype=np.int64)

    def _first_token(self, text: bytes) -> int | None:
        """The first token the tokenizer spells ``text`` with, where it spells a part of
        ``text`` short of all of it; else None."""
        if text not in self._first:
            if len(self._first) >= FIRST_TOKENS_KEPT:  # a long session's typed words
                self._first.clear()
            try:
                ids = self.tokenizer.encode(text.decode("utf-8"), add_special_tokens=False).ids
            except UnicodeDecodeError:  # a rest that begins inside a character
                ids = []
            first = self.spelled[ids[0]] if ids else b""
            proper = first and len(first) < len(text) and text.startswith(first)
            self._first[text] = ids[0] if proper else None
        return self._first[text]

    def heal(self, ids: list[int], text: str) -> tuple[list[int], bytes]:
        """``ids`` (ending with the tokens of ``text``'s end) without the tokens of
        ``text``'s last segment, and the bytes they spelled; ``(ids, b"")`` where
        nothing can be healed. One id always stays (a start token, or the text's
        first): something must be fed."""
        match = _LAST_SEGMENT.search(text)
        if match is None:
            return ids, b""
        wanted = len(match.group().encode("utf-8"))
        count, size = 0, 0
        while size < wanted and count < MAX_HEALED_TOKENS and len(ids) - count > 1:
            size += len(self.spelled[ids[len(ids) - 1 - count]])
            count += 1
        if size < wanted and count > 1:
            count = 1  # a long word: heal its last token only
        if count == 0:
            return ids, b""
        removed = b"".join(self.spelled[t] for t in ids[len(ids) - count :])
        # Only whole characters that really end the text (not a special token, not a
        # piece of a character, not a space a tokenizer put before the first word).
        if not removed or not text.encode("utf-8").endswith(removed):
            return ids, b""
        if not _whole_characters(removed):
            return ids, b""
        # A token that is the only one agreeing with what is left (a digit: they are
        # single tokens) would be chosen anyway: it stays fed.
        while count and list(self.agreeing(removed)) == [ids[len(ids) - count]]:
            rest = removed[len(self.spelled[ids[len(ids) - count]]) :]
            if not _whole_characters(rest):
                break
            removed, count = rest, count - 1
        return ids[: len(ids) - count], removed


def _whole_characters(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class Respelling:
    """A completion's state while its first tokens spell the removed text again."""

    def __init__(self, index: SpellingIndex, removed: bytes) -> None:
        self.index = index
        self.rest = removed  # bytes still to spell
        self._hidden = removed.decode("utf-8")  # text the completion does not show
        self._buffer = ""

    @property
    def spelling(self) -> bool:
        return bool(self.rest)

    def mask(self, logits: np.ndarray) -> np.ndarray:
        """``logits`` with every token that disagrees with the rest at -inf."""
        agreeing = self.index.agreeing(self.rest)
        if not agreeing.size:  # nothing can go on spelling it: the completion goes free
            self.rest = b""
            return logits
        masked = np.full_like(logits, -np.inf)
        masked[agreeing] = logits[agreeing]
        return masked

    def accept(self, token: int) -> None:
        """``token`` was chosen (from masked logits while spelling)."""
        spelled = self.index.spelled[token]
        self.rest = b"" if spelled.startswith(self.rest) else self.rest[len(spelled) :]

    def visible(self, text: str) -> str:
        """Of the completion's next decoded ``text``, what follows the removed text."""
        if not self._hidden:
            return text
        self._buffer += text
        if len(self._buffer) < len(self._hidden):
            return ""
        agrees = self._buffer.startswith(self._hidden)
        shown = self._buffer[len(self._hidden) :] if agrees else self._buffer
        self._hidden = self._buffer = ""
        return shown
