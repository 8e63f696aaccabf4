"""Speculative decoding on tiny fast-format models: it never changes what is generated."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from litecomplete.errors import ConfigError, ModelFileError
from litecomplete.runtime import FastModel, GenerationConfig, SamplingConfig
from litecomplete.runtime.speculative import (
    LookupDrafter,
    Speculation,
    SpeculationMode,
    _follow,
)

OFF = Speculation(SpeculationMode.OFF)
LOOKUP = Speculation(SpeculationMode.LOOKUP)
AUTO = Speculation()

PROMPTS = [
    "the cat sat on the mat and the cat sat on the",
    "one two three one two three one two",
    "I'm enjoying a",
    "a b c d a b c d a b",
    "Hello, world. Hello, world. Hello,",
    "x",
    "def f(x): return x; def g(x): return",
    "zz zz zz zz zz",
]


@pytest.fixture(scope="module")
def model(fast_models: dict[str, Path]) -> FastModel:
    return FastModel.load(fast_models["none"])


def _ids(model: FastModel, prompt: str, speculation: Speculation, **fields: object) -> list[int]:
    config = GenerationConfig(speculation=speculation, **fields)  # type: ignore[arg-type]
    model.reset()
    return model.complete(prompt, config).token_ids


def test_the_file_carries_verify_signatures(model: FastModel) -> None:
    assert model.verify_lengths == [4, 16]


@pytest.mark.parametrize("mode", [SpeculationMode.LOOKUP, SpeculationMode.AUTO])
def test_greedy_tokens_are_those_of_plain_decoding(model: FastModel, mode: SpeculationMode) -> None:
    before = model.speculation_stats.verifies, model.speculation_stats.accepted
    for prompt in PROMPTS:
        for n in (1, 2, 7, 30):
            plain = _ids(model, prompt, OFF, max_new_tokens=n)
            assert _ids(model, prompt, Speculation(mode), max_new_tokens=n) == plain, (prompt, n)
    verifies = model.speculation_stats.verifies - before[0]
    accepted = model.speculation_stats.accepted - before[1]
    assert verifies > 20 and accepted > 20, "the prompts must exercise drafts and accept some"


def test_typing_on_reuses_the_last_suggestion_exactly(model: FastModel) -> None:
    """A prompt extended by the suggestion's first token drafts the rest of it."""
    text = "the quick brown fox"
    config = GenerationConfig(max_new_tokens=12, speculation=AUTO)
    for _ in range(4):
        first = model.complete(text, config)
        model_plain = _ids(model, text, OFF, max_new_tokens=12)
        assert first.token_ids == model_plain
        text += model.decode_text(first.token_ids[:1])
    assert model.speculation_stats.accepted > 0


def test_the_cache_end_and_stop_strings_across_a_verify_chunk(model: FastModel) -> None:
    long_prompt = " ".join(["the cat sat on the mat"] * 6)
    for speculation in (OFF, LOOKUP):
        assert len(_ids(model, long_prompt, speculation, max_new_tokens=200)) > 0
    until_full = _ids(model, long_prompt, OFF, max_new_tokens=200)
    assert _ids(model, long_prompt, LOOKUP, max_new_tokens=200) == until_full
    model.reset()
    config = GenerationConfig(max_new_tokens=20, speculation=OFF)
    plain = model.complete("one two three one two three one two", config)
    words = plain.text.split()
    assert len(words) > 3, plain.text
    stop = " ".join(words[2:4])  # a stop string of several tokens, inside a drafted run
    for speculation in (OFF, LOOKUP):
        model.reset()
        out = model.complete(
            "one two three one two three one two",
            GenerationConfig(max_new_tokens=20, stop=(stop,), speculation=speculation),
        )
        assert out.text == plain.text[: plain.text.index(stop)]


def test_seeded_sampling_is_unchanged(model: FastModel) -> None:
    for seed in range(5):
        sampling = SamplingConfig(temperature=1.0, top_k=20, seed=seed)
        outs = [
            _ids(model, PROMPTS[0], speculation, max_new_tokens=16, sampling=sampling)
            for speculation in (OFF, LOOKUP)
        ]
        assert outs[0] == outs[1]


def test_sampling_keeps_the_model_distribution(model: FastModel) -> None:
    """Frequencies of the second and third tokens, drafted and plain, with different
    seeds: the same distribution (chi-square two-sample, df = categories - 1, 0.1 %)."""
    runs = 300

    def second_tokens(speculation: Speculation, seeds: range) -> Counter[tuple[int, int]]:
        counts: Counter[tuple[int, int]] = Counter()
        for seed in seeds:
            sampling = SamplingConfig(temperature=1.0, top_k=3, seed=seed)
            ids = _ids(model, PROMPTS[3], speculation, max_new_tokens=3, sampling=sampling)
            counts[ids[1], ids[2]] += 1
        return counts

    before = model.speculation_stats.verifies
    drafted = second_tokens(LOOKUP, range(runs))
    assert model.speculation_stats.verifies - before > runs // 2, "drafts must be checked"
    plain = second_tokens(OFF, range(runs, 2 * runs))
    tokens = [t for t in drafted.keys() | plain.keys() if drafted[t] + plain[t] >= 10]
    a = np.array([drafted[t] for t in tokens] + [runs - sum(drafted[t] for t in tokens)], float)
    b = np.array([plain[t] for t in tokens] + [runs - sum(plain[t] for t in tokens)], float)
    keep = (a + b) > 0
    a, b = a[keep], b[keep]
    expected_a = (a + b) / 2
    chi2 = float((((a - expected_a) ** 2 + (b - expected_a) ** 2) / expected_a).sum())
    df = len(a) - 1
    assert df >= 2, "the prompt must give several likely continuations"
    # the 99.9th percentile of chi-square grows about as df + 3.1 * sqrt(2 df) + 10
    assert chi2 < df + 3.1 * np.sqrt(2 * df) + 10, (chi2, df)


def test_a_draft_model_drafts_without_changing_the_tokens(
    model: FastModel, fast_models: dict[str, Path]
) -> None:
    draft = Speculation(SpeculationMode.DRAFT, fast_models["int4"])
    before = model.speculation_stats.accepted
    for prompt in PROMPTS[:4]:
        assert _ids(model, prompt, draft, max_new_tokens=12) == _ids(
            model, prompt, OFF, max_new_tokens=12
        )
    assert model.speculation_stats.accepted > before


def test_bad_speculation_is_refused_by_name(
    model: FastModel,
    app_models: dict[str, Path],
    tiny_llama_fast_none: Path,
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match="unknown speculative mode .sometimes.*draft:FILE"):
        Speculation.parse("sometimes")
    with pytest.raises(ConfigError, match="needs a file"):
        Speculation.parse("draft:")
    with pytest.raises(ConfigError, match="takes no file"):
        Speculation.parse("lookup:x.tflite")
    assert Speculation.parse("draft:m.tflite").draft == Path("m.tflite")

    def run(path: Path) -> None:
        speculation = Speculation(SpeculationMode.DRAFT, path)
        model.complete("hello", GenerationConfig(max_new_tokens=2, speculation=speculation))

    with pytest.raises(ConfigError, match="does not exist"):
        run(tmp_path / "missing.tflite")
    with pytest.raises(ModelFileError, match="^draft model: .* not a fast-format model"):
        run(app_models["none"])
    with pytest.raises(ConfigError, match="vocabulary|tokenizer"):
        run(tiny_llama_fast_none)


def test_lookup_drafts_follow_the_latest_longest_match() -> None:
    history = [1, 2, 3, 9, 1, 2, 3, 8, 5, 2, 3]
    # "2 3" matched at its latest place (before 8); "1 2 3" (before 9) would be longer
    # but "x 2 3" with x = 5 matches nowhere longer than 2
    assert _follow(history, history, 3) == (2, [8, 5, 2])
    assert _follow(history, history, 1) == (2, [8])
    assert _follow([1, 2, 3], [1, 2, 3], 3) == (0, [])  # the end does not match itself
    assert _follow(history, [7, 7], 3) == (0, [])
    # a longer match wins over a later shorter one
    assert _follow([4, 2, 3, 6, 0, 2, 3, 7], [4, 2, 3], 2) == (3, [6, 0])
    drafter = LookupDrafter([], 2)
    assert drafter.propose([1, 2, 1, 2], short=1, long=4) == [1]
    assert LookupDrafter([], 3).propose([1, 2, 1, 2], short=1, long=4) == []


def test_a_text_seen_before_is_drafted_long_and_a_phrase_short() -> None:
    seen = list(range(100, 140))  # an earlier prompt and its completion
    drafter = LookupDrafter([seen], 2)
    typed_on = [7, *seen[:20]]  # the same text, one token typed after it
    assert drafter.propose(typed_on, short=3, long=15) == seen[20:35]
    phrase = [7, 8, *seen[10:12]]  # two tokens of it elsewhere
    assert drafter.propose(phrase, short=3, long=15) == seen[12:15]


def test_alternatives_after_a_typed_extension_are_unchanged(model: FastModel) -> None:
    """Guesses fed with the typed tokens serve the first alternative only: the next
    ones write their own tokens where the guesses' keys were."""
    base = PROMPTS[1]
    outs = []
    for speculation in (OFF, LOOKUP):
        model.reset()
        greedy = GenerationConfig(max_new_tokens=8, speculation=speculation)
        first = model.complete(base, greedy)
        typed = base + model.decode_text(first.token_ids[:1])
        sampling = SamplingConfig(temperature=1.0, top_k=5, seed=11)
        config = GenerationConfig(max_new_tokens=8, sampling=sampling, speculation=speculation)
        outs.append([c.token_ids for c in model.complete_n(typed, 3, config)])
    assert outs[0] == outs[1]
