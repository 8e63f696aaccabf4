"""SmolLM2 where on-device users run it: the seed app's TF Lite 2.12, and LiteRT-LM."""

from __future__ import annotations

from pathlib import Path

import pytest

from litecomplete.contract import APP_OUTPUT_BUFFER_BYTES
from litecomplete.quantize import QuantMode
from litecomplete.runtime import FastModel, GenerationConfig, LitertLmModel
from tests.convert.test_seed_app_runtime import PROMPTS, fits
from tests.oracles import run_like_seed_app

pytestmark = pytest.mark.slow

GREEDY = GenerationConfig(max_new_tokens=24)
QUESTIONS = [
    "The capital of France is",
    "Once upon a time, there was a",
    "def fibonacci(n):",
    "My favourite thing about the weekend is",
]


def test_app_format_runs_on_tflite_212(tmp_path: Path) -> None:
    from litecomplete.convert import ExportConfig
    from litecomplete.convert.app_export import convert_app_model
    from litecomplete.models import load_causal_lm

    path = tmp_path / "smollm2-app-dynamic.tflite"
    convert_app_model(load_causal_lm("smollm2"), ExportConfig(quant=QuantMode.DYNAMIC), path)
    runs = run_like_seed_app({"smollm2": path}, list(PROMPTS.values()))["smollm2"]
    assert not isinstance(runs, str), f"TF Lite 2.12 failed: {runs}"
    for prompt, run in zip(PROMPTS.values(), runs, strict=True):
        assert run.raw_bytes <= APP_OUTPUT_BUFFER_BYTES, (prompt[:40], run.raw_bytes)
        text = run.output.decode("utf-8")
        assert text.startswith(prompt) if fits(prompt) else text == ""


def test_litertlm_dynamic_gives_our_runtimes_tokens(tmp_path: Path) -> None:
    from litecomplete.convert.fast_export import FastExportConfig, gguf_fast_source
    from litecomplete.convert.litertlm_export import convert_litertlm_model
    from litecomplete.default_model import ensure_default_model
    from litecomplete.models.embedded import smollm2_gguf_path

    path = tmp_path / "smollm2-dynamic.litertlm"
    source = gguf_fast_source(smollm2_gguf_path())
    convert_litertlm_model(source, FastExportConfig(quant=QuantMode.DYNAMIC), path)
    ours = FastModel.load(ensure_default_model())  # the same weights, fast format
    theirs = LitertLmModel.load(path)
    assert "<|im_start|>" in theirs.info.llm_metadata["jinjaPromptTemplate"]
    for prompt in QUESTIONS:
        assert theirs.complete(prompt, GREEDY) == ours.complete(prompt, GREEDY).text, prompt
    assert "Paris" in theirs.complete(QUESTIONS[0], GenerationConfig(max_new_tokens=8))
