"""SmolLM2 where on-device users run it: the seed app's TF Lite 2.12, and LiteRT-LM."""

from __future__ import annotations

from pathlib import Path

import pytest

from litecomplete.contract import APP_OUTPUT_BUFFER_BYTES
from litecomplete.quantize import QuantMode
from litecomplete.runtime import FastModel, GenerationConfig, LitertLmModel
from tests.convert.test_seed_app_runtime import PROMPTS, fits
from tests.oracles import run_like_seed_app
from tests.slow.shared_files import smollm2_fast_file

pytestmark = pytest.mark.slow

QUESTIONS = [
    "The capital of France is",
    "Once upon a time, there was a",
    "def fibonacci(n):",
    "My favourite thing about the weekend is",
]


def test_app_format_runs_on_tflite_212(tmp_path: Path) -> None:
    """Greedy, so the answer to a factual prompt is the model's own (the fast tier runs
    the seed app's top-k sampler in TF Lite 2.12 on tiny models)."""
    from litecomplete.convert import AppExportConfig, Sampler
    from litecomplete.convert.app_export import convert_app_model
    from litecomplete.models import load_causal_lm

    path = tmp_path / "smollm2-app-dynamic.tflite"
    config = AppExportConfig(sampler=Sampler.GREEDY, quant=QuantMode.DYNAMIC)
    convert_app_model(load_causal_lm("smollm2"), config, path)
    prompts = [*PROMPTS.values(), QUESTIONS[0]]
    runs = run_like_seed_app({"smollm2": path}, prompts)["smollm2"]
    assert not isinstance(runs, str), f"TF Lite 2.12 failed: {runs}"
    for prompt, run in zip(prompts, runs, strict=True):
        assert run.raw_bytes <= APP_OUTPUT_BUFFER_BYTES, (prompt[:40], run.raw_bytes)
        text = run.output.decode("utf-8")
        assert text.startswith(prompt) if fits(prompt) else text == ""
    assert "Paris" in runs[-1].output.decode("utf-8").removeprefix(QUESTIONS[0])


def test_litertlm_writes_our_runtimes_text(tmp_path: Path) -> None:
    """The bundle holds the fast-format model: 48 greedy tokens agree exactly. (Dynamic,
    the default model's mode; the fast tier runs every mode in LiteRT-LM on tiny models.)"""
    from litecomplete.convert.fast_config import FastExportConfig
    from litecomplete.convert.fast_export import gguf_fast_source
    from litecomplete.convert.litertlm_export import convert_litertlm_model
    from litecomplete.models.embedded import smollm2_gguf_path

    bundle = tmp_path / "smollm2-dynamic.litertlm"
    source = gguf_fast_source(smollm2_gguf_path())
    convert_litertlm_model(source, FastExportConfig(quant=QuantMode.DYNAMIC), bundle)
    fast = smollm2_fast_file(QuantMode.DYNAMIC, tmp_path)
    ours, theirs = FastModel.load(fast), LitertLmModel.load(bundle)
    assert "<|im_start|>" in theirs.info.llm_metadata["jinjaPromptTemplate"]
    config = GenerationConfig(max_new_tokens=48)
    for prompt in [*QUESTIONS, "In 1969, the first", "The best way to learn a language"]:
        assert theirs.complete(prompt, config) == ours.complete(prompt, config).text, prompt
    assert "Paris" in theirs.complete(QUESTIONS[0], GenerationConfig(max_new_tokens=8))
