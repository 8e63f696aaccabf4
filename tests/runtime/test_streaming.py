from __future__ import annotations

from litecomplete.runtime.streaming import TextDecoder
from litecomplete.runtime.tokenizer import gpt2_tokenizer


def test_characters_split_across_tokens_come_out_whole() -> None:
    tokenizer = gpt2_tokenizer()
    text = "東京 🙂 naïve"
    ids = tokenizer.encode(text).ids
    assert len(ids) > len(text.split())  # multi-byte characters span several tokens
    decoder = TextDecoder(tokenizer)
    pieces = [decoder.push(i) for i in ids]
    assert "".join(pieces) == text
    assert all("\ufffd" not in p for p in pieces)
