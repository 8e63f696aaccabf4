"""Properties over whole input ranges (hypothesis): tokenizers, context windows, sampling."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from litecomplete.errors import ConfigError, ModelRunError, PromptError
from litecomplete.runtime import FastModel, GenerationConfig
from litecomplete.runtime.byte_vocab import byte_to_unicode
from litecomplete.runtime.context import MAX_CONTEXT_WORDS, newest_words
from litecomplete.runtime.sampling import SamplingConfig, TokenSampler

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Text as users type it, and text made to hit tokenizer edge cases: multi-byte
# characters, combining marks, control characters, special-token spellings.
TRICKY = st.sampled_from(
    ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "🙂", "é", "e\u0301", "日本", "\r\n", "\x00"]
)
TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(TRICKY, st.text(max_size=5)), max_size=30).map("".join),
)


@pytest.fixture(scope="module", params=["gpt2", "llama"])
def model(request: Any, fast_models: dict[str, Path], tiny_llama_fast_none: Path) -> FastModel:
    path = fast_models["none"] if request.param == "gpt2" else tiny_llama_fast_none
    return FastModel.load(path)


def spellable(model: FastModel, text: str) -> str:
    """``text`` without the characters a byte of which the vocabulary lacks."""
    vocab, table = model.tokenizer.get_vocab(), byte_to_unicode()
    return "".join(c for c in text if all(table[b] in vocab for b in c.encode("utf-8")))


@PROPERTY
@given(text=TEXT)
def test_tokenizer_round_trips_any_text(model: FastModel, text: str) -> None:
    ids = model.encode(text)
    assert all(0 <= t < model.vocabulary_size for t in ids)
    assert model.decode_text(ids) == spellable(model, text)


def test_characters_the_vocabulary_cannot_spell_are_left_out_whole(
    tiny_llama_fast_none: Path,
) -> None:
    """SmolLM2's vocabulary lacks the byte 0xF1 (planes 4-7) and a few control bytes."""
    model = FastModel.load(tiny_llama_fast_none)
    assert model.decode_text(model.encode("a\U00040000b\x04c")) == "abc"
    with pytest.raises(PromptError, match="no characters"):  # was an AssertionError
        model.complete("\U00040000")


def test_special_token_spellings_in_a_prompt_stay_text(model: FastModel) -> None:
    """Typed "<|endoftext|>" must not become the end token the model stops at."""
    for spelling in ("<|endoftext|>", "<|im_start|>", "<|im_end|>"):
        ids = model.encode(f"a {spelling} b")
        assert not set(ids) & model.end_token_ids, spelling
        assert model.decode_text(ids) == f"a {spelling} b"


@PROPERTY
@given(text=TEXT, limit=st.integers(1, 80), max_new=st.integers(1, 80))
def test_trimmed_prompt_is_the_newest_whole_characters(
    model: FastModel, text: str, limit: int, max_new: int
) -> None:
    try:
        ids = model.prompt_ids(text, max_new, limit)
    except PromptError:  # empty prompts, and ones with nothing the vocabulary spells
        assert not text.encode().strip() or not spellable(model, text)
        return
    except ConfigError as e:  # no start token and no whole character fits
        assert model.start_token_id is None and "cannot hold" in str(e)
        return
    start = [] if model.start_token_id is None else [model.start_token_id]
    assert ids[: len(start)] == start
    kept = ids[len(start) :]
    assert len(kept) <= limit
    assert len(ids) <= model.max_length - min(max_new, model.max_length // 2)
    full = model.encode(text)
    assert full[len(full) - len(kept) :] == kept  # the newest tokens
    # Whole characters: a suffix of the text.
    assert spellable(model, text).endswith(model.decode_text(kept))
    if len(full) <= limit and len(start) + len(full) <= model.max_length - min(
        max_new, model.max_length // 2
    ):
        assert kept == full  # nothing is dropped when it fits


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300), words=st.integers(1, MAX_CONTEXT_WORDS))
def test_newest_words_keep_the_end_of_the_text(text: str, words: int) -> None:
    kept = newest_words(text, words)
    assert text.endswith(kept)
    assert kept.split() == text.split()[-words:]
    assert kept == text or len(kept.split()) == words
    if kept != text:  # cut between words: after whitespace, at a word's first character
        assert text[len(text) - len(kept) - 1].isspace() and not kept[0].isspace()


FINITE_OR_INF = st.floats(allow_nan=False, width=32)
SAMPLING = st.builds(
    SamplingConfig,
    temperature=st.one_of(st.just(0.0), st.floats(min_value=5e-324, max_value=1e308)),
    top_k=st.integers(0, 2**62),
    top_p=st.floats(min_value=5e-324, max_value=1.0, exclude_min=False),
    repetition_penalty=st.floats(min_value=5e-324, max_value=1e308),
    seed=st.one_of(st.none(), st.integers(0, 2**63)),
)


@settings(max_examples=500, deadline=None)
@given(
    logits=st.lists(FINITE_OR_INF, min_size=1, max_size=64),
    config=SAMPLING,
    history=st.lists(st.integers(0, 63), max_size=10),
)
def test_sampler_picks_a_token_for_any_settings_and_logits(
    logits: list[float], config: SamplingConfig, history: list[int]
) -> None:
    array = np.array(logits, np.float32)
    history = [h for h in history if h < array.size]
    token = TokenSampler(config)(array, history)
    assert 0 <= token < array.size
    if config.greedy and config.repetition_penalty == 1.0:
        assert array[token] == array.max()


@settings(max_examples=100, deadline=None)
@given(
    logits=st.lists(st.floats(allow_nan=True, width=32), min_size=2, max_size=16), t=st.floats(0, 2)
)
def test_nan_logits_are_a_model_error(logits: list[float], t: float) -> None:
    array = np.array(logits, np.float32)
    array[0] = np.nan
    with pytest.raises(ModelRunError, match="NaN"):
        TokenSampler(SamplingConfig(temperature=t))(array)


@settings(max_examples=300, deadline=None)
@given(
    temperature=st.floats(allow_nan=True),
    top_k=st.integers(-(2**63), 2**63),
    top_p=st.floats(allow_nan=True),
    repetition_penalty=st.floats(allow_nan=True),
    max_new_tokens=st.integers(-(2**31), 2**31),
    max_prompt_tokens=st.one_of(st.none(), st.integers(-(2**31), 2**31)),
)
def test_settings_are_accepted_or_refused_with_config_error(
    temperature: float,
    top_k: int,
    top_p: float,
    repetition_penalty: float,
    max_new_tokens: int,
    max_prompt_tokens: int | None,
) -> None:
    try:
        sampling = SamplingConfig(temperature, top_k, top_p, repetition_penalty)
        GenerationConfig(max_new_tokens, sampling, max_prompt_tokens=max_prompt_tokens)
    except ConfigError as e:
        assert str(e)
        return
    assert temperature >= 0 and math.isfinite(temperature) and top_k >= 0
    assert 0 < top_p <= 1 and 0 < repetition_penalty < math.inf and max_new_tokens >= 1


@PROPERTY
@given(
    prompt=st.text(min_size=1, max_size=40).filter(lambda s: bool(s.strip())),
    config=SAMPLING,
    max_new=st.integers(1, 40),
)
def test_generation_runs_for_any_settings(
    model: FastModel, prompt: str, config: SamplingConfig, max_new: int
) -> None:
    try:
        completion = model.complete(prompt, GenerationConfig(max_new, config))
    except PromptError:  # nothing of it the vocabulary can spell
        assert not spellable(model, prompt).strip()
        return
    assert len(completion.token_ids) <= max_new
    # Every token but the last one sampled takes a cache slot.
    assert completion.prompt_tokens + len(completion.token_ids) - 1 <= model.max_length
