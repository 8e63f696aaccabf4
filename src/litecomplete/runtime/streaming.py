"""Token ids to text pieces, correct across UTF-8 characters split between tokens."""

from __future__ import annotations

from typing import Any


class TextDecoder:
    """Incremental detokenizer: ``push(id)`` returns the text that is now complete."""

    def __init__(self, tokenizer: Any) -> None:
        from tokenizers.decoders import DecodeStream

        self._tokenizer = tokenizer
        self._stream = DecodeStream(skip_special_tokens=True)

    def push(self, token_id: int) -> str:
        return self._stream.step(self._tokenizer, token_id) or ""
