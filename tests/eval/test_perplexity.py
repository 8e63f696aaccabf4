"""Perplexity and the comparison with a reference: exact on fakes, true to Keras on tiny models."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from litecomplete.errors import ConfigError, ModelFileError, PromptError
from litecomplete.eval import EvalConfig, evaluate
from litecomplete.eval.perplexity import log_softmax, windows
from litecomplete.eval.text import default_eval_text, read_eval_text
from litecomplete.runtime import FastModel
from litecomplete.runtime.model_files import load_fast_model
from tests.conftest import keras_logits

TEXT = default_eval_text()


class FakeModel:
    """Token ids are characters; logits are a fixed function of the previous token."""

    def __init__(self, vocab: int = 16, sharp: float = 0.0, max_length: int = 32) -> None:
        self.vocab, self.sharp, self.max_length = vocab, sharp, max_length
        self.start_token_id: int | None = None
        self.fed: list[list[int]] = []

    def encode(self, text: str) -> list[int]:
        return [ord(ch) % self.vocab for ch in text]

    def _logits(self, last: int) -> np.ndarray:
        logits = np.zeros(self.vocab, np.float32)
        logits[(last + 1) % self.vocab] = self.sharp  # favours the next id up
        return logits

    def feed(self, ids: list[int]) -> np.ndarray:
        assert 1 <= len(ids) <= self.max_length
        self.fed.append(list(ids))
        self.length = len(ids)
        return self._logits(ids[-1])

    def step(self, token: int) -> np.ndarray:
        self.length += 1
        assert self.length <= self.max_length
        return self._logits(token)


@pytest.mark.parametrize(
    ("n", "span", "stride", "first"),
    [(100, 32, 16, 1), (100, 32, 32, 0), (31, 32, 8, 1), (7, 3, 1, 1)],
)
def test_windows_score_every_token_once_with_the_promised_context(
    n: int, span: int, stride: int, first: int
) -> None:
    scored: list[int] = []
    for begin, lo, end in windows(n, span, stride, first):
        assert end - begin <= span
        assert lo == first or lo - begin >= span - stride  # context before the scored part
        scored += range(lo, end)
    assert scored == list(range(first, n))


def test_back_to_back_windows_without_a_start_token_skip_each_first_token() -> None:
    plan = list(windows(100, 32, 32, 1))
    assert plan == [(0, 1, 32), (32, 33, 64), (64, 65, 96), (96, 97, 100)]
    result = evaluate(FakeModel(), "abcdefghij" * 10, EvalConfig(context=32, stride=32))
    assert result.tokens == 96 and result.perplexity == pytest.approx(16.0, rel=1e-12)


def test_llama_cpp_windows_score_the_second_half_of_each_chunk() -> None:
    plan = list(windows(1030, 256, 256, 1, min_context=129))
    assert plan == [(b, b + 129, b + 256) for b in (0, 256, 512, 768)]  # the rest is too short


def test_min_context_scores_fewer_tokens() -> None:
    text = "abcdefghij" * 10
    result = evaluate(FakeModel(), text, EvalConfig(context=32, stride=32, min_context=17))
    assert result.tokens == 3 * 15  # windows at 0, 32, 64 score 15 each; 96.. too short
    assert result.perplexity == pytest.approx(16.0, rel=1e-12)


def test_uniform_logits_give_the_vocabulary_size() -> None:
    result = evaluate(FakeModel(vocab=16), "abcdefghij" * 10, EvalConfig(context=32))
    assert result.tokens == 99
    assert result.perplexity == pytest.approx(16.0, rel=1e-12)


def test_perplexity_is_exp_of_the_mean_negative_log_likelihood() -> None:
    model = FakeModel(vocab=16, sharp=3.0)
    text = "abcabd" * 20
    result = evaluate(model, text, EvalConfig(context=16, stride=4))
    ids = model.encode(text)
    expected = [-log_softmax(model._logits(a))[b] for a, b in zip(ids, ids[1:], strict=False)]
    assert result.perplexity == pytest.approx(math.exp(np.mean(expected)), rel=1e-12)


def test_a_model_against_itself() -> None:
    result = evaluate(
        FakeModel(sharp=2.0), TEXT[:400], EvalConfig(context=24), ref=FakeModel(sharp=2.0)
    )
    cmp = result.comparison
    assert cmp is not None
    assert cmp.ppl_ratio == 1.0 and cmp.kld_mean == 0.0 and cmp.kld_max == 0.0
    assert cmp.top1_agreement == 1.0 and cmp.greedy_identical == 1.0


def test_kld_of_a_flatter_model_is_the_exact_divergence() -> None:
    ref, model = FakeModel(sharp=4.0), FakeModel(sharp=1.0)
    result = evaluate(model, TEXT[:300], EvalConfig(context=32), ref=ref)
    p, q = np.exp(log_softmax(ref._logits(0))), np.exp(log_softmax(model._logits(0)))
    expected = float(np.sum(p * np.log(p / q)))  # every position has the same pair
    assert result.comparison is not None
    assert result.comparison.kld_mean == pytest.approx(expected, rel=1e-9)
    assert result.comparison.ppl_ratio != 1.0
    assert result.comparison.top1_agreement == 1.0  # same argmax, different confidence


def test_fast_model_perplexity_equals_keras_on_one_window(
    tiny_lm: Any, fast_models: dict[str, Path]
) -> None:
    model = FastModel.load(fast_models["none"])
    text = TEXT[:300]
    result = evaluate(model, text, EvalConfig(context=model.max_length, max_tokens=40))
    ids = [model.start_token_id, *model.encode(text)[:40]]
    logits = keras_logits(tiny_lm, ids)[:-1].astype(np.float64)
    top = logits.max(-1, keepdims=True)
    lp = logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))
    nll = -lp[np.arange(len(ids) - 1), ids[1:]]
    assert result.tokens == 40
    assert result.perplexity == pytest.approx(math.exp(nll.mean()), rel=1e-5)


@pytest.mark.parametrize("first", [0, 3, 40, 61])
def test_logits_rows_are_the_logits_of_token_by_token_feeding(
    fast_models: dict[str, Path], first: int
) -> None:
    # The tiny file verifies 4 and 16 tokens: rows 40..63 take 16 + 4 + decode steps
    # (a chunk must end inside the 64-token cache), rows 0..63 many chunks.
    model = FastModel.load(fast_models["dynamic"])
    assert model.verify_lengths == [4, 16]
    ids = model.encode(TEXT)[: model.max_length]
    model.feed(ids[:5])  # a cached prefix that the rows must not trust past its match
    rows = model.logits_rows(ids, first)
    model.reset()
    expected = [model.feed(ids[: first + 1])] + [model.step(t) for t in ids[first + 1 :]]
    assert rows.shape == (len(ids) - first, model.vocabulary_size)
    np.testing.assert_allclose(rows, np.stack(expected), rtol=0, atol=2e-4)
    # The caches now hold ids: one more token continues from there.
    assert np.argmax(model.feed(ids)) == np.argmax(rows[-1])


def test_bad_rows_requests_are_refused(fast_models: dict[str, Path]) -> None:
    model = FastModel.load(fast_models["none"])
    with pytest.raises(PromptError, match="first row inside"):
        model.logits_rows([1, 2, 3], 3)
    with pytest.raises(PromptError, match="takes 1 to 64 tokens"):
        model.logits_rows([1] * 65, 0)


class StepsOnly:
    """A fast model seen without ``logits_rows``: evaluation feeds it token by token."""

    def __init__(self, model: FastModel) -> None:
        self.max_length, self.start_token_id = model.max_length, model.start_token_id
        self.encode, self.feed, self.step = model.encode, model.feed, model.step


def test_scoring_by_rows_equals_scoring_token_by_token(fast_models: dict[str, Path]) -> None:
    # dynamic quantizes each row on its own, so a row's logits do not depend on the
    # call that computed them.
    model, ref = FastModel.load(fast_models["dynamic"]), FastModel.load(fast_models["none"])
    config = EvalConfig(max_tokens=200, stride=24, greedy_samples=2, greedy_tokens=4)
    by_rows = evaluate(model, TEXT, config, ref=ref)
    by_steps = evaluate(StepsOnly(model), TEXT, config, ref=StepsOnly(ref))
    assert by_rows.tokens == by_steps.tokens == 200
    assert by_rows.perplexity == pytest.approx(by_steps.perplexity, rel=1e-4)
    assert by_rows.comparison is not None and by_steps.comparison is not None
    assert by_rows.comparison.kld_mean == pytest.approx(by_steps.comparison.kld_mean, rel=0.01)
    assert by_rows.comparison.top1_agreement == pytest.approx(
        by_steps.comparison.top1_agreement, abs=0.01
    )


# Mean and worst KL divergence from float32 each mode may reach on the tiny GPT-2: ten
# times what was measured (dynamic 3.0e-6 / 4.7e-6, float16 1.6e-9 / 3.2e-9, int8
# 2.2e-6 / 4.2e-6, int8w 1.5e-6 / 2.6e-6, int4 2.8e-4 / 4.5e-4). Its random weights give
# nearly flat logits, so the figures are small; a broken mode is orders of magnitude off.
TINY_KLD_BOUNDS = {
    "dynamic": (3e-5, 5e-5),
    "float16": (2e-8, 4e-8),
    "int8": (2e-5, 4e-5),
    "int8w": (2e-5, 3e-5),
    "int4": (3e-3, 5e-3),
}


@pytest.mark.parametrize("mode", ["none", "dynamic", "float16", "int8", "int8w", "int4"])
def test_every_mode_against_float(fast_models: dict[str, Path], mode: str) -> None:
    ref = FastModel.load(fast_models["none"])
    model = FastModel.load(fast_models[mode])
    config = EvalConfig(max_tokens=96, greedy_samples=2, greedy_tokens=4)
    result = evaluate(model, TEXT, config, ref=ref)
    cmp = result.comparison
    assert cmp is not None and math.isfinite(result.perplexity)
    assert math.isfinite(cmp.kld_mean) and math.isfinite(cmp.kld_max)
    if mode == "none":
        assert cmp.kld_max == 0.0 and cmp.top1_agreement == 1.0
    else:
        assert cmp.kld_max > 0.0  # quantization changed something
        mean_bound, max_bound = TINY_KLD_BOUNDS[mode]
        assert cmp.kld_mean <= mean_bound and cmp.kld_max <= max_bound, cmp


def test_a_reference_with_another_tokenizer_is_refused(
    fast_models: dict[str, Path], tiny_llama_fast_none: Path
) -> None:
    model = FastModel.load(fast_models["none"])
    with pytest.raises(ConfigError, match="another tokenizer"):
        evaluate(
            model, TEXT[:500], EvalConfig(context=32), ref=FastModel.load(tiny_llama_fast_none)
        )


def test_too_short_and_empty_texts(tmp_path: Path, fast_models: dict[str, Path]) -> None:
    model = FastModel.load(fast_models["none"])
    with pytest.raises(ConfigError, match="too short to score: 3 tokens"):
        evaluate(model, "Hello there friend")
    empty = tmp_path / "empty.txt"
    empty.write_text(" \n\n")
    with pytest.raises(ConfigError, match="is empty"):
        read_eval_text(empty)
    with pytest.raises(ConfigError, match="does not exist"):
        read_eval_text(tmp_path / "missing.txt")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00abc")
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_eval_text(binary)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"context": 500}, "exceeds the model's max length 64"),
        ({"context": 2}, "no room to score"),
    ],
)
def test_windows_that_do_not_fit(
    fast_models: dict[str, Path], config: dict[str, int], message: str
) -> None:
    model = FastModel.load(fast_models["none"])
    with pytest.raises(ConfigError, match=message):
        evaluate(model, TEXT, EvalConfig(**config))


def test_invalid_config() -> None:
    with pytest.raises(ConfigError, match="--stride 9 exceeds --context 8"):
        EvalConfig(context=8, stride=9)
    with pytest.raises(ConfigError, match="--max-tokens must be at least 1"):
        EvalConfig(max_tokens=0)


def test_an_app_format_model_cannot_be_measured(app_models: dict[str, Path]) -> None:
    with pytest.raises(ModelFileError, match="--ref .* app-format model, which returns text"):
        load_fast_model(app_models["none"], 1, role="--ref")
