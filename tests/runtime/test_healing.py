"""Token healing (a prompt ending inside a word) and logits kept for prompts the cache
holds, on the tiny fast-format model (GPT-2's byte-level tokenizer) and the tiny
Gemma 3's SentencePiece vocabulary."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from litecomplete.runtime import FastModel, GenerationConfig, SamplingConfig
from litecomplete.runtime.healing import SpellingIndex, token_bytes
from litecomplete.runtime.speculative import Speculation, SpeculationMode

OFF = Speculation(SpeculationMode.OFF)
GREEDY = SamplingConfig(temperature=0.0)
# Prompts ending inside a word, after a space, after punctuation, after a whole word.
PROMPTS = [
    "the cat sat on the ma",
    "the cat sat on the",
    "the cat sat on the ",
    "Hello, world. Hello,",
    "I'm enjoying a quiet even",
    "one two three one two thr",
    "def f(x): return x; def g(x): ret",
]


@pytest.fixture(scope="module")
def model(fast_models: dict[str, Path]) -> FastModel:
    return FastModel.load(fast_models["none"])


def _spelled(model: FastModel) -> list[bytes]:
    return model.tokens.spelling.spelled


def _count_calls(model: FastModel) -> Counter[str]:
    """Counts each graph call of ``model`` from now on."""
    calls: Counter[str] = Counter()
    graphs = model._graphs
    for name in ("run", "run_rows", "fill"):
        original = getattr(graphs, name)

        def counted(key: str, *args: Any, _original: Any = original, _name: str = name) -> Any:
            calls[_name] += 1
            return _original(key, *args)

        setattr(graphs, name, counted)
    return calls


def _uncount(model: FastModel) -> None:
    for name in ("run", "run_rows", "fill"):
        model._graphs.__dict__.pop(name, None)


@pytest.mark.parametrize(
    ("prompt", "removed"),
    [
        ("the cat sat on the ma", b" ma"),
        ("the cat sat on the", b" the"),
        ("the cat sat on the ", b" "),
        ("Hello, world. Hello,", b","),
        ("one two thr", b" thr"),
    ],
)
def test_the_last_word_is_taken_off_the_prompt(
    model: FastModel, prompt: str, removed: bytes
) -> None:
    ids, got = model.tokens.fed_ids(prompt, 8, heal=True)
    assert got == removed
    assert model.decode_text(ids) + got.decode() == prompt
    assert ids == model.prompt_ids(prompt, 8)[: len(ids)]


def test_a_token_nothing_else_agrees_with_stays_fed(model: FastModel) -> None:
    """A last token no other token extends (as SmolLM2's single digits) would be chosen
    anyway: it is not healed. Nor is a prompt's only token: something must be fed."""
    spelled = _spelled(model)
    index = model.tokens.spelling
    alone = [
        t
        for t, b in enumerate(spelled)
        if b.startswith(b" ") and b[1:].isalpha() and len(b) > 6 and len(index.agreeing(b)) == 1
    ]
    checked = 0
    for t in alone[:50]:
        prompt = "the" + spelled[t].decode()
        if model.prompt_ids(prompt, 8)[-1] != t:
            continue
        assert model.tokens.fed_ids(prompt, 8, heal=True) == (model.prompt_ids(prompt, 8), b"")
        checked += 1
    assert checked >= 10
    word = model.encode("cat")
    assert index.heal(word, "cat") == (word, b"")


def test_agreeing_tokens_are_the_whole_extensions_else_the_longer_beginnings(
    model: FastModel,
) -> None:
    spelled = _spelled(model)
    index = model.tokens.spelling
    for rest in (b" ma", b" ", b",", b" thr", b"ing"):
        extensions = {i for i, b in enumerate(spelled) if b and b.startswith(rest)}
        assert extensions, rest
        assert set(index.agreeing(rest).tolist()) == extensions
    # No token begins with these: the beginnings of them, from the tokenizer's own
    # first token of them on (not " ", nor " un" before " unintelligi").
    for rest in (b" qqqzzzxq", b" unintelligi"):
        assert not any(b.startswith(rest) for b in spelled)
        natural = spelled[model.encode(rest.decode())[0]]
        beginnings = {
            i
            for i, b in enumerate(spelled)
            if b and rest.startswith(b) and len(natural) <= len(b) < len(rest)
        }
        assert beginnings and set(index.agreeing(rest).tolist()) == beginnings, rest
        assert model.encode(" ")[0] not in beginnings


def test_spaces_also_agree_as_the_tokenizer_begins_them_before_a_word(
    tiny_llama_fast_none: Path,
) -> None:
    """SmolLM2's tokenizer (the tiny Llama's) spells an indentation before a word as
    "\\n   ", " return": that beginning agrees as well, beside every token beginning
    with all of it. (GPT-2's has no tokens of several spaces.)"""
    llama = FastModel.load(tiny_llama_fast_none, 1)
    spelled = _spelled(llama)
    index = llama.tokens.spelling
    for rest in (b"    ", b"\n    ", b"\n\n"):  # " ", " x"; "\\n   ", " x"; "\\n", "\\n", "x"
        first = llama.encode(rest.decode() + "x")[0]
        assert spelled[first] != rest and rest.startswith(spelled[first]), rest
        extensions = {i for i, b in enumerate(spelled) if b and b.startswith(rest)}
        assert extensions and set(index.agreeing(rest).tolist()) == extensions | {first}, rest
    # One character, a word: only the extensions.
    for rest in (b" ", b"\n", b" ma"):
        extensions = {i for i, b in enumerate(spelled) if b and b.startswith(rest)}
        assert set(index.agreeing(rest).tolist()) == extensions, rest
    # Healed, the indentation is respelled and the text continues the prompt.
    prompt = "def f(x):\n    "
    ids, removed = llama.tokens.fed_ids(prompt, 4, heal=True)
    assert removed.endswith(b"    ")
    result = _complete(llama, prompt, max_new_tokens=4)
    assert llama.decode_text(ids + result.token_ids) == prompt + result.text


def test_byte_level_token_bytes_spell_the_text(model: FastModel) -> None:
    spelled = _spelled(model)
    for text in ["naïve café, 日本語 — ok?", "tabs\tand\nlines", "x  y"]:
        ids = model.encode(text)
        assert b"".join(spelled[i] for i in ids) == text.encode()
    assert spelled[model.end_token_id] == b""  # a special token spells nothing


def test_sentencepiece_token_bytes_spell_the_text(tiny_gemma3_gguf: tuple[Path, Any]) -> None:
    from litecomplete.models.gemma3.tokenizer import gemma3_tokenizer_from_gguf
    from litecomplete.models.gguf.reader import read_gguf

    tokenizer = gemma3_tokenizer_from_gguf(read_gguf(tiny_gemma3_gguf[0]))
    size = tokenizer.get_vocab_size(with_added_tokens=True)
    spelled = token_bytes(tokenizer, size)
    index = SpellingIndex(tokenizer, size)
    for text in ["In the beginning God created", "naïve ✓ words", "a  b"]:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        joined = b"".join(spelled[i] for i in ids)
        assert joined.endswith(text.encode()) and len(joined) - len(text.encode()) <= 1
        cut = text[:-2]  # ends inside a word
        cut_ids = tokenizer.encode(cut, add_special_tokens=False).ids
        healed, removed = index.heal(cut_ids, cut)
        assert removed and cut.encode().endswith(removed)
        assert b"".join(spelled[i] for i in healed) + removed == b"".join(
            spelled[i] for i in cut_ids
        )


def _complete(model: FastModel, prompt: str, **fields: Any) -> Any:
    fields.setdefault("sampling", GREEDY)
    model.reset()
    return model.complete(prompt, GenerationConfig(heal=True, **fields))


def test_a_healed_completion_continues_the_prompt_as_written(model: FastModel) -> None:
    for prompt in PROMPTS:
        ids, removed = model.tokens.fed_ids(prompt, 6, heal=True)
        result = _complete(model, prompt, max_new_tokens=6)
        whole = model.decode_text(ids + result.token_ids)
        if whole.startswith(prompt):  # the removed text was spelled within 6 tokens
            assert whole == prompt + result.text, prompt
        else:
            assert result.text == "" and prompt.startswith(whole), prompt
        # The first token: the likeliest of those agreeing with the removed text.
        model.reset()
        logits = model.feed(ids)
        spelled = _spelled(model)
        agreeing = [i for i, b in enumerate(spelled) if b and b.startswith(removed)]
        if removed and agreeing:
            best = max(agreeing, key=lambda i: logits[i])
            assert result.token_ids[0] == best, prompt


def test_without_healing_the_prompt_is_fed_whole(model: FastModel) -> None:
    prompt = "the cat sat on the ma"
    model.reset()
    plain = model.complete(prompt, GenerationConfig(max_new_tokens=4, sampling=GREEDY))
    assert plain.prompt_tokens == len(model.prompt_ids(prompt, 4))
    healed = _complete(model, prompt, max_new_tokens=4)
    assert healed.prompt_tokens == plain.prompt_tokens - 1


@pytest.mark.parametrize("mode", [SpeculationMode.LOOKUP, SpeculationMode.AUTO])
def test_speculation_does_not_change_a_healed_completion(
    model: FastModel, mode: SpeculationMode
) -> None:
    for prompt in PROMPTS:
        for n in (1, 3, 12):
            plain = _complete(model, prompt, max_new_tokens=n, speculation=OFF)
            drafted = _complete(model, prompt, max_new_tokens=n, speculation=Speculation(mode))
            assert (drafted.token_ids, drafted.text) == (plain.token_ids, plain.text), prompt


def test_sampled_healed_completions_spell_the_prompt(model: FastModel) -> None:
    prompt = "the cat sat on the ma"
    ids, _ = model.tokens.fed_ids(prompt, 8, heal=True)
    for seed in range(12):
        sampling = SamplingConfig(temperature=1.5, seed=seed)
        result = _complete(model, prompt, max_new_tokens=8, sampling=sampling)
        whole = model.decode_text(ids + result.token_ids)
        assert whole.startswith(prompt) or prompt.startswith(whole)


def test_a_stop_string_inside_the_removed_text_does_not_stop(model: FastModel) -> None:
    prompt = "the cat sat on the ma"
    free = _complete(model, prompt, max_new_tokens=6)
    stopped = _complete(model, prompt, max_new_tokens=6, stop=("ma",))
    assert "ma" not in free.text, "pick another stop string"
    assert stopped.text == free.text


def test_streamed_pieces_leave_the_removed_text_out(model: FastModel) -> None:
    prompt = "I'm enjoying a quiet even"
    whole = _complete(model, prompt, max_new_tokens=8).text
    model.reset()
    config = GenerationConfig(max_new_tokens=8, sampling=GREEDY, heal=True)
    assert "".join(p.text for p in model.stream(prompt, config)) == whole


def test_keystrokes_inside_a_word_run_no_model_call(model: FastModel) -> None:
    """Every key of one word feeds the same tokens: their logits are kept."""
    model.reset()
    config = GenerationConfig(max_new_tokens=1, sampling=GREEDY, heal=True)
    model.complete("I'm enjoying a quiet e", config)
    calls = _count_calls(model)
    try:
        results = [
            model.complete(p, config)
            for p in ("I'm enjoying a quiet ev", "I'm enjoying a quiet eve")
        ]
    finally:
        _uncount(model)
    assert sum(calls.values()) == 0
    assert all(r.reused_tokens == r.prompt_tokens for r in results)
    fresh = FastModel.load(model.path)
    for prompt, result in zip(
        ("I'm enjoying a quiet ev", "I'm enjoying a quiet eve"), results, strict=True
    ):
        assert fresh.complete(prompt, config).token_ids == result.token_ids


def test_kept_logits_are_dropped_when_their_slots_are_overwritten(model: FastModel) -> None:
    first = model.encode("the cat sat on the mat")
    other = model.encode("a dog ran in the park today")
    model.reset()
    kept = model.feed(first).copy()
    model.feed(other)  # writes the slots ``first`` held
    assert model.kept.get(first) is None
    calls = _count_calls(model)
    try:
        again = model.feed(first)
    finally:
        _uncount(model)
    assert sum(calls.values()) > 0
    np.testing.assert_allclose(again, kept, rtol=1e-5, atol=1e-5)
    # Fed again without anything written over it: no call, the same logits.
    calls = _count_calls(model)
    try:
        np.testing.assert_array_equal(model.feed(first), again)
    finally:
        _uncount(model)
    assert sum(calls.values()) == 0


def test_reset_forgets_kept_logits(model: FastModel) -> None:
    ids = model.encode("the cat sat")
    model.feed(ids)
    model.reset()
    assert model.kept.get(ids) is None


def test_kept_logits_hold_no_verify_array(model: FastModel) -> None:
    """A row of a verify call is kept on its own: eight kept rows never pin eight
    whole arrays of 16 rows."""
    model.reset()
    text = "one two three one two three one two three one two three"
    model.complete(text, GenerationConfig(max_new_tokens=12, sampling=GREEDY))
    kept = model.kept.rows()
    assert len(kept) == 8
    assert all(k.base is None and k.shape == (model.vocabulary_size,) for k in kept)


def test_a_text_no_token_goes_on_spelling_is_left_free() -> None:
    """Defensive: where no token agrees with what is left, the logits are not masked
    (all at -inf they would give no token), and text that does not repeat the removed
    text is shown whole."""
    from tokenizers import Tokenizer, models

    from litecomplete.runtime.healing import Respelling

    tokenizer = Tokenizer(models.WordLevel({"a": 0, "b": 1, "[UNK]": 2}, unk_token="[UNK]"))
    index = SpellingIndex(tokenizer, 3)
    respelling = Respelling(index, b"zz")
    logits = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    np.testing.assert_array_equal(respelling.mask(logits), logits)
    assert not respelling.spelling
    assert respelling.visible("a") == "" and respelling.visible("b") == "ab"
    agreeing = Respelling(index, b"a")
    assert agreeing.mask(logits).tolist() == [1.0, -np.inf, -np.inf]
    assert agreeing.visible("ab") == "b"
