"""Token ids to text pieces, correct across UTF-8 characters split between tokens."""

from __future__ import annotations

from typing import Any


class TextDecoder:
    """Incremental detokenizer: ``push(id)`` returns the text that is now complete;
    ``flush()`` at the end, what is still held back (bytes that never completed a
    character, as the tokenizer decodes them: U+FFFD); ``flush(cut=True)`` where the
    tokens were cut short (a length limit), without those U+FFFD at its end: the
    tokens that would have finished the character were never made, and a suggestion
    should not carry a U+FFFD into the text it is accepted into."""

    def __init__(self, tokenizer: Any) -> None:
        from tokenizers.decoders import DecodeStream

        self._tokenizer = tokenizer
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
        held = whole[len(self._emitted) :] if whole.startswith(self._emitted) else ""
        self._emitted += held
        return held.rstrip("\ufffd") if cut else held
