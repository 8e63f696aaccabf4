"""Real-size conversions (GPT-2 124M shapes): minutes and several GB each."""

from __future__ import annotations

from pathlib import Path

import pytest

from litecomplete.contract import APP_OUTPUT_BUFFER_BYTES
from litecomplete.convert import AppExportConfig
from litecomplete.models import BUILTIN_CONFIGS, load_causal_lm
from litecomplete.quantize import QuantMode
from litecomplete.runtime import AppModel
from tests.convert.test_seed_app_runtime import PROMPTS, fits
from tests.oracles import run_like_seed_app

pytestmark = pytest.mark.slow


def test_gpt2_124m_dynamic_is_about_a_quarter_of_fp32(tmp_path: Path) -> None:
    from litecomplete.convert.app_export import convert_app_model

    config = BUILTIN_CONFIGS["gpt2-124m"]
    fp32_bytes = 4 * config.parameter_count()
    result = convert_app_model(
        load_causal_lm("gpt2-124m"),
        AppExportConfig(quant=QuantMode.DYNAMIC),
        tmp_path / "gpt2-124m-dynamic.tflite",
    )
    assert result.info.quantization == "dynamic"
    assert result.size_bytes <= 0.27 * fp32_bytes, (result.size_bytes, fp32_bytes)
    completion = AppModel.load(result.path).complete("I'm enjoying a")
    assert completion
    # The seed app's runtime runs it, and its output fits the app's buffer.
    runs = run_like_seed_app({"gpt2": result.path}, list(PROMPTS.values()))["gpt2"]
    assert not isinstance(runs, str), f"TF Lite 2.12 failed: {runs}"
    for prompt, run in zip(PROMPTS.values(), runs, strict=True):
        assert run.raw_bytes <= APP_OUTPUT_BUFFER_BYTES, (prompt[:40], run.raw_bytes)
        text = run.output.decode("utf-8")
        assert text.startswith(prompt) if fits(prompt) else text == ""


def test_gpt2_124m_fast_fp32_matches_keras(tmp_path: Path) -> None:
    import numpy as np

    from litecomplete.convert.fast_config import FastExportConfig
    from litecomplete.convert.fast_export import convert_fast_model
    from litecomplete.runtime import FastModel

    causal_lm = load_causal_lm("gpt2-124m")
    path = tmp_path / "gpt2-124m-fast.tflite"
    result = convert_fast_model(causal_lm, FastExportConfig(), path)
    assert result.info.op_set == "builtins"
    model = FastModel.load(path)
    ids = [model.start_token_id, *model.encode("The quick brown fox jumps over the lazy dog")]

    def keras_last(ids: list[int]) -> np.ndarray:
        x = {"token_ids": np.array([ids]), "padding_mask": np.ones((1, len(ids)), bool)}
        return np.asarray(causal_lm(x))[0, -1]

    logits = model.feed(ids)
    assert np.abs(logits - keras_last(ids)).max() <= 1e-4
    for _ in range(3):
        ids.append(int(np.argmax(logits)))
        logits = model.step(ids[-1])
        assert np.abs(logits - keras_last(ids)).max() <= 1e-4
