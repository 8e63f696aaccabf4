"""The tiny Gemma 3 (imported from GGUF) in both formats and every quantization mode:
the fast graph against the NumPy reference past the sliding window and across bucket
boundaries, the app graph against KerasHub's generate()."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from litecomplete.contract import ModelFormat
from litecomplete.eval.numpy_forward import forward_logits
from litecomplete.inspect import check_contract, read_model_info
from litecomplete.quantize import QuantMode
from litecomplete.quantize.modes import APP_QUANT_MODES
from litecomplete.runtime import AppModel, FastModel, GenerationConfig
from tests.conftest import TINY_GEMMA3_MAX_LENGTH

MAX_LENGTH = 32  # four times the tiny model's window
PROMPTS = ["I'm enjoying a", "In 1969, the", "Zürich café — 東京"]


@pytest.fixture(scope="module")
def gemma3_fast_models(
    tiny_gemma3: Any, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    from litecomplete.convert.fast_config import FastExportConfig
    from litecomplete.convert.fast_export import convert_fast_model

    out = tmp_path_factory.mktemp("gemma3_fast")
    paths = {}
    for mode in QuantMode:
        paths[mode.value] = out / f"tiny-gemma3-fast-{mode.value}.tflite"
        # No verify signatures (test_llama_formats and test_auto_quant hold those): each
        # signature is quantized apart, and eight modes' worth was two minutes.
        config = FastExportConfig(
            max_length=MAX_LENGTH, buckets=(4, 16), verify=(), quant=mode, calibration_samples=2
        )
        convert_fast_model(tiny_gemma3, config, paths[mode.value])
    return paths


@pytest.mark.parametrize("mode", [m.value for m in QuantMode])
def test_fast_format_in_every_mode(gemma3_fast_models: dict[str, Path], mode: str) -> None:
    info = read_model_info(gemma3_fast_models[mode])
    assert check_contract(info) is ModelFormat.FAST
    assert info.op_set == "builtins"
    assert info.manifest["architecture"] == "gemma3"
    assert info.manifest["start_token_id"] == 2  # <bos>: Gemma's GGUF adds it
    model = FastModel.load(gemma3_fast_models[mode])
    assert set(model.end_token_ids) == {1, model.tokenizer.token_to_id("<end_of_turn>")}
    completion = model.complete("I'm enjoying a", GenerationConfig(max_new_tokens=6))
    assert completion.text


def _relative_error(logits: np.ndarray, reference: np.ndarray) -> float:
    """Max abs difference over the reference logits' largest magnitude."""
    return float(np.abs(logits - reference).max() / np.abs(reference).max())


@pytest.mark.parametrize("prompt_tokens", [1, 4, 5, 17, 26])
def test_fast_fp32_logits_match_the_reference(
    tiny_gemma3_gguf: tuple[Path, Any], gemma3_fast_models: dict[str, Path], prompt_tokens: int
) -> None:
    # Prefill in one bucket or chunks of two (17 > 16), then decode steps that cross
    # the sliding window; the reference is float64 over the whole sequence.
    weights = tiny_gemma3_gguf[1]
    model = FastModel.load(gemma3_fast_models["none"])
    ids = ([2] + model.encode("It was the best of times, it was the worst of times " * 3))[
        :prompt_tokens
    ]
    logits = model.feed(ids)
    assert _relative_error(logits, forward_logits(weights, ids)[-1]) <= 1e-5
    for _ in range(5):
        ids.append(int(np.argmax(logits)))
        logits = model.step(ids[-1])
        assert _relative_error(logits, forward_logits(weights, ids)[-1]) <= 1e-5


@pytest.fixture(scope="module")
def gemma3_verifying(tiny_gemma3: Any, tmp_path_factory: pytest.TempPathFactory) -> FastModel:
    """The float32 tiny Gemma 3 with verify signatures of 4 and 16 rows: two and four
    times its sliding window."""
    from litecomplete.convert.fast_config import FastExportConfig
    from litecomplete.convert.fast_export import convert_fast_model

    path = tmp_path_factory.mktemp("gemma3_verify") / "tiny-gemma3-verify.tflite"
    config = FastExportConfig(max_length=MAX_LENGTH, buckets=(4,), verify=(4, 16))
    convert_fast_model(tiny_gemma3, config, path)
    return FastModel.load(path)


@pytest.mark.parametrize("first", [1, 3, 9])
def test_verify_rows_match_the_reference_past_the_window(
    tiny_gemma3_gguf: tuple[Path, Any], gemma3_verifying: FastModel, first: int
) -> None:
    # Every row of 16- and 4-row calls, each seeing only its own window of keys.
    model = gemma3_verifying
    ids = ([2] + model.encode("It was the best of times, it was the worst of times " * 3))[:30]
    rows = model.logits_rows(ids, first)
    reference = forward_logits(tiny_gemma3_gguf[1], ids)[first:]
    assert rows.shape == reference.shape
    for row, expected in zip(rows, reference, strict=True):
        assert _relative_error(row, expected) <= 1e-5


def test_speculation_keeps_greedy_tokens_past_the_window(gemma3_verifying: FastModel) -> None:
    from litecomplete.runtime.speculative import Speculation, SpeculationMode

    model = gemma3_verifying
    before = model.speculation_stats.verifies, model.speculation_stats.accepted
    prompts = ["the cat sat on the mat and the cat sat on the", "a b c a b c a b", "In 1969, the"]

    def complete(prompt: str, mode: SpeculationMode) -> tuple[list[int], str]:
        # To the cache's end, unless the model ends sooner.
        config = GenerationConfig(max_new_tokens=MAX_LENGTH, speculation=Speculation(mode))
        model.reset()
        made = model.complete(prompt, config)
        return made.token_ids, made.finish_reason

    for prompt in prompts:
        plain = complete(prompt, SpeculationMode.OFF)
        assert complete(prompt, SpeculationMode.LOOKUP) == plain, prompt
    assert model.speculation_stats.verifies - before[0] > 5
    assert model.speculation_stats.accepted - before[1] > 5


# Mean and worst KL divergence from float32 on the tiny Gemma 3, about five times what
# was measured: dynamic 0.00070 / 0.0019, float16 7.6e-7 / 2.1e-6, int8w 0.00040 /
# 0.0013, int8 0.00059 / 0.0024, int4 0.069 / 0.19.
TINY_GEMMA3_KLD_BOUNDS = {
    "dynamic": (0.0035, 0.01),
    "float16": (4e-6, 1.1e-5),
    "int8w": (0.002, 0.0065),
    "int8": (0.003, 0.012),
    "int4": (0.35, 0.95),
}


@pytest.mark.parametrize("mode", sorted(TINY_GEMMA3_KLD_BOUNDS))
def test_fast_modes_stay_near_float(gemma3_fast_models: dict[str, Path], mode: str) -> None:
    from litecomplete.eval import EvalConfig, evaluate
    from litecomplete.eval.text import default_eval_text

    ref = FastModel.load(gemma3_fast_models["none"])
    model = FastModel.load(gemma3_fast_models[mode])
    config = EvalConfig(max_tokens=MAX_LENGTH * 3, greedy_samples=2, greedy_tokens=4)
    cmp = evaluate(model, default_eval_text(), config, ref=ref).comparison
    assert cmp is not None
    mean_bound, max_bound = TINY_GEMMA3_KLD_BOUNDS[mode]
    assert 0.0 < cmp.kld_mean <= mean_bound and cmp.kld_max <= max_bound, cmp


def test_fast_weights_are_stored_once(
    tiny_gemma3_gguf: tuple[Path, Any], gemma3_fast_models: dict[str, Path]
) -> None:
    weights = tiny_gemma3_gguf[1]
    arrays = [weights.token_embedding, weights.final_norm_scale]
    arrays += [a for layer in weights.layers for a in vars(layer).values() if a is not None]
    params = sum(a.size for a in arrays)
    stored = read_model_info(gemma3_fast_models["none"]).weight_bytes_by_dtype["FLOAT32"]
    # The tied table once; two RoPE tables (local and global bases) of 32 positions x
    # 24 frequencies, cos and sin, are the only other floats.
    rope = 2 * 2 * MAX_LENGTH * 24 * 4
    assert stored == pytest.approx(4 * params + rope, rel=0.01)


def test_int8_modes_keep_the_table_int8_once(gemma3_fast_models: dict[str, Path]) -> None:
    table = 512 * 64
    for mode in ("dynamic", "int8w", "int4"):
        info = read_model_info(gemma3_fast_models[mode])
        assert table <= info.weight_bytes_by_dtype["INT8"], mode
        assert info.weight_bytes_by_dtype.get("FLOAT32", 0) < 4 * table // 2, mode


def keras_greedy(causal_lm: Any, prompt: str, max_length: int) -> str:
    """Greedy continuation by KerasHub's own cached forward (``call_with_cache``),
    starting from the start token as the GGUF asks, stopping at an end token."""
    from litecomplete.convert.tokenizer_export import end_token_ids

    tokenizer = causal_lm.preprocessor.tokenizer
    ids = [int(tokenizer.start_token_id)] + [int(t) for t in tokenizer(prompt)]
    prompt_length = len(ids)
    ends = end_token_ids(tokenizer)
    while len(ids) < max_length:
        x = {"token_ids": np.array([ids]), "padding_mask": np.ones((1, len(ids)), bool)}
        next_id = int(np.asarray(causal_lm(x))[0, -1].argmax())
        if next_id in ends:
            break
        ids.append(next_id)
    return prompt + tokenizer.detokenize(ids[prompt_length:])


# The third prompt is 21 tokens of the tiny vocabulary (bytes, mostly): the app graph
# keeps its newest 16, which KerasHub's whole-prompt continuation would not.
@pytest.mark.parametrize("prompt", PROMPTS[:2])
def test_app_fp32_greedy_equals_keras(
    tiny_gemma3: Any, gemma3_app_models: dict[str, Path], prompt: str
) -> None:
    path = gemma3_app_models["none"]
    assert check_contract(read_model_info(path)) is ModelFormat.APP
    # Kept whole (with <bos>) by the app graph's context window, as KerasHub sees it.
    assert len(tiny_gemma3.preprocessor.tokenizer(prompt)) < TINY_GEMMA3_MAX_LENGTH // 2
    output = AppModel.load(path).generate(prompt).decode("utf-8")
    assert output == keras_greedy(tiny_gemma3, prompt, TINY_GEMMA3_MAX_LENGTH)


@pytest.mark.parametrize("mode", [m.value for m in APP_QUANT_MODES])
def test_app_format_in_every_mode(gemma3_app_models: dict[str, Path], mode: str) -> None:
    info = read_model_info(gemma3_app_models[mode])
    assert check_contract(info) is ModelFormat.APP
    assert info.quantization == mode
    for prompt in PROMPTS:
        output = AppModel.load(gemma3_app_models[mode]).generate(prompt)
        assert output.startswith(prompt.encode("utf-8")) and len(output) > len(prompt.encode())
        output.decode("utf-8")  # strict: valid UTF-8
