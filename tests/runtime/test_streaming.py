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


def test_bytes_that_never_complete_a_character_are_flushed_at_the_end() -> None:
    tokenizer = gpt2_tokenizer()
    ids = tokenizer.encode("東").ids  # three byte-level tokens for one character
    assert len(ids) > 1
    decoder = TextDecoder(tokenizer)
    pieces = [decoder.push(i) for i in ids[:-1]]  # the character's last byte never comes
    assert pieces == [""] * len(pieces)
    held = decoder.flush()
    assert held and held == tokenizer.decode(ids[:-1])  # as the tokenizer decodes them
    assert decoder.flush() == ""


def test_a_character_cut_short_is_left_out() -> None:
    tokenizer = gpt2_tokenizer()
    ids = tokenizer.encode("ok 東").ids
    decoder = TextDecoder(tokenizer)
    pieces = [decoder.push(i) for i in ids[:-1]]  # cut before the character's last byte
    assert "".join(pieces) + decoder.flush(cut=True) == "ok "  # the space is whole
    assert decoder.flush() == ""


def test_a_cut_keeps_whole_characters_and_bytes_that_begin_none() -> None:
    from litecomplete.runtime.byte_vocab import byte_to_unicode

    tokenizer = gpt2_tokenizer()
    ok = tokenizer.encode("ok").ids
    byte = {b: tokenizer.token_to_id(ch) for b, ch in byte_to_unicode().items()}
    east, smile = ([byte[b] for b in c.encode()] for c in "東🙂")
    cases = [
        (east[:2], "ok"),  # the first two of 東's three bytes
        (east + east[:1], "ok東"),  # 東, then another begun
        ([byte[0xFD]], "ok\ufffd"),  # a byte no character begins with
        ([byte[0xFD], *smile[:2]], "ok\ufffd"),  # then 🙂 begun
        ([east[1], *east[:1]], "ok\ufffd"),  # a stray continuation byte, then 東 begun
    ]
    for tail, expected in cases:
        decoder = TextDecoder(tokenizer)
        pieces = [decoder.push(i) for i in ok + tail]
        assert "".join(pieces) + decoder.flush(cut=True) == expected, tail
        decoder = TextDecoder(tokenizer)  # not cut: as the tokenizer decodes them
        pieces = [decoder.push(i) for i in ok + tail]
        assert "".join(pieces) + decoder.flush() == tokenizer.decode(ok + tail), tail


def test_a_completion_reports_every_token_it_generated(fast_models: dict) -> None:
    """Tokens whose text was still held back (a character not yet whole) belong to the
    piece that ends up carrying their text, and the last piece flushes what is held:
    at the token limit, without the bytes of a character the limit cut."""
    from litecomplete.runtime import FastModel, GenerationConfig

    model = FastModel.load(fast_models["none"])
    cut = []
    for prompt in ("東京 is", "ééé"):
        for limit in range(1, 25):
            completion = model.complete(prompt, GenerationConfig(max_new_tokens=limit))
            assert len(completion.token_ids) == limit
            decoded = model.tokenizer.decode(completion.token_ids)
            assert completion.text == decoded.rstrip("\ufffd"), (prompt, limit)
            if decoded.endswith("\ufffd"):
                cut.append((prompt, limit))
    assert cut  # some limits fall inside a character
