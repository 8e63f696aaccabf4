"""Token ids to text pieces, correct across UTF-8 characters split between tokens."""

from __future__ import annotations

import codecs
import itertools
from collections.abc import Callable, Sequence
from typing import Any


class TextDecoder:
    """Incremental detokenizer: ``push(id)`` returns the text that is now complete;
    ``flush()`` at the end, what is still held back (bytes that never completed a
    character, as the tokenizer decodes them: U+FFFD).

    ``flush(cut=True)`` where the tokens were cut short (a length limit): a character
    whose first bytes the last tokens hold is left out, since the tokens that would
    have finished it were never made, and a suggestion should not carry a U+FFFD into
    the text it is accepted into. (Bytes that can begin no character still come out as
    U+FFFD.) ``token_bytes`` gives each token id's bytes (``healing.token_bytes``),
    asked for only then.
    """

    def __init__(
        self, tokenizer: Any, token_bytes: Callable[[], Sequence[bytes]] | None = None
    ) -> None:
        from tokenizers.decoders import DecodeStream

        self._tokenizer = tokenizer
        self._token_bytes = token_bytes
        self._stream = DecodeStream(skip_special_tokens=True)
        self._ids: list[int] = []
        self._emitted = ""

    def push(self, token_id: int) -> str:
        self._ids.append(token_id)
        text = self._stream.step(self._tokenizer, token_id) or ""
        self._emitted += text
        return text

    def flush(self, cut: bool = False) -> str:
        whole = self._tokenizer.decode(self._ids, skip_special_tokens=True)
        shown = self._without_unfinished_character(whole) if cut else whole
        held = shown[len(self._emitted) :] if shown.startswith(self._emitted) else ""
        self._emitted = whole if whole.startswith(self._emitted) else self._emitted
        return held

    def _without_unfinished_character(self, whole: str) -> str:
        """``whole`` (the decoded ids) without a last character begun and not finished."""
        if not whole.endswith("\ufffd"):
            return whole
        if self._token_bytes is None:
            from litecomplete.runtime.healing import token_bytes

            size = self._tokenizer.get_vocab_size(with_added_tokens=True)
            spelled: Sequence[bytes] = token_bytes(self._tokenizer, size)
        else:
            spelled = self._token_bytes()
        ends = list(itertools.accumulate((len(spelled[i]) for i in self._ids), initial=0))
        data = b"".join(spelled[i] for i in self._ids)
        unfinished = _unfinished(data)
        if not unfinished:
            return whole
        # The tokens up to the last character boundary, as the tokenizer decodes them,
        # then the whole characters after it up to the unfinished one.
        k = len(self._ids)
        while k and _unfinished(data[: ends[k]]):
            k -= 1
        kept = self._tokenizer.decode(self._ids[:k], skip_special_tokens=True)
        return kept + data[ends[k] : len(data) - unfinished].decode("utf-8", errors="replace")


def _unfinished(data: bytes) -> int:
    """How many bytes at the end of ``data`` begin a character they do not finish."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    decoder.decode(data, final=False)
    return len(decoder.getstate()[0])
