"""SmolLM2 quantized: the quality goals, and perplexity against llama.cpp's own tool."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from litecomplete.eval import EvalConfig, evaluate
from litecomplete.eval.perplexity import Comparison
from litecomplete.eval.text import default_eval_text
from litecomplete.quantize import QuantMode
from litecomplete.quantize.calibration import DEFAULT_CALIBRATION_SAMPLES, calibration_passages
from litecomplete.quantize.plan import PLAN_WINDOW, PLAN_WINDOWS
from litecomplete.runtime import FastModel
from tests.slow.shared_files import smollm2_fast_file

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
LLAMA_PERPLEXITY = ROOT / ".venv/bin/llama-perplexity"
AUTO_BUDGET = 0.05  # the report's fidelity end, near llama.cpp's Q4_K_M


@pytest.fixture(scope="module")
def smollm2_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("smollm2_quality")
    modes = [QuantMode.NONE, QuantMode.DYNAMIC, QuantMode.INT8W, QuantMode.INT8, QuantMode.INT4]
    paths = {mode.value: smollm2_fast_file(mode, out) for mode in modes}
    paths["auto"] = smollm2_fast_file(QuantMode.AUTO, out, "--max-kld", str(AUTO_BUDGET))
    return paths


def compare(files: dict[str, Path], mode: str) -> tuple[float, Comparison]:
    ref = FastModel.load(files["none"])
    model = FastModel.load(files[mode])
    result = evaluate(model, default_eval_text(), EvalConfig(max_tokens=1024), ref=ref)
    assert result.comparison is not None
    return result.perplexity, result.comparison


def test_int8_weights_meet_the_quality_goals(smollm2_files: dict[str, Path]) -> None:
    perplexity, cmp = compare(smollm2_files, "int8w")
    assert cmp.ppl_ratio <= 1.01 and cmp.kld_mean <= 0.01
    assert 5 < perplexity < 100  # real English under a real model


def test_dynamic_int8_stays_within_its_measured_quality(smollm2_files: dict[str, Path]) -> None:
    # Measured over these 1,024 tokens: PPL ratio 1.026, KLD 0.020, top-1 0.89 (2,048,
    # docs/reports/smollm2: 1.029, 0.022, 0.89) -- short of the goals (1.01, 0.01, 0.97)
    # because of activation outliers. With the norm scales folded into its int8 weights
    # (before ``fast_layers.norm(scale_first=)``): 1.046, 0.042, 0.88 over 2,048.
    _, cmp = compare(smollm2_files, "dynamic")
    assert cmp.ppl_ratio <= 1.04 and cmp.kld_mean <= 0.03 and cmp.top1_agreement >= 0.87


def test_int8_with_float_outlier_channels_is_as_faithful_as_q8_0(
    smollm2_files: dict[str, Path],
) -> None:
    # Measured on the whole packaged text in llama-perplexity's windows (ctx 256, second
    # halves): PPL ratio 1.0055, KLD 0.0045, top-1 95.9 %; llama.cpp's Q8_0 of the same
    # weights, same text and windows: 1.0078, 0.0046, 95.6 %. Dynamic int8 without the
    # float channels: 1.046, 0.042, 87.5 %.
    _, cmp = compare(smollm2_files, "int8")
    assert cmp.ppl_ratio <= 1.012 and cmp.kld_mean <= 0.007 and cmp.top1_agreement >= 0.93


def test_int4_stays_within_its_measured_quality(smollm2_files: dict[str, Path]) -> None:
    # Measured over these 1,024 tokens: PPL ratio 1.115, KLD 0.104, top-1 0.81 (2,048:
    # 1.123, 0.112, 0.81), since int4 keeps 32 outlier channels per matmul and none at the
    # output layer (with 64 and 32: 1.063, 0.077, 0.85; 7 MB more read per token; before
    # GPTQ rounded its blocks 1.117, 0.136, 0.79 over 2,048); llama.cpp's Q4_0 of the same
    # weights 1.234, 0.297, 0.69 over 2,048, Q4_K_M 1.032, 0.057, 0.86.
    _, cmp = compare(smollm2_files, "int4")
    assert cmp.ppl_ratio <= 1.14 and cmp.kld_mean <= 0.13 and cmp.top1_agreement >= 0.78


def test_auto_keeps_its_budget_on_the_text_it_planned_by(smollm2_files: dict[str, Path]) -> None:
    # ``auto`` plans by a simulation's KLD on the calibration text's first windows; the
    # file, measured on those windows, keeps to the budget. Measured: 0.0498 (the
    # simulation's 0.0488) against 0.05.
    ref = FastModel.load(smollm2_files["none"])
    model = FastModel.load(smollm2_files["auto"])
    text = " ".join(calibration_passages(DEFAULT_CALIBRATION_SAMPLES))
    config = EvalConfig(
        context=PLAN_WINDOW,
        stride=PLAN_WINDOW,
        min_context=PLAN_WINDOW // 2,
        max_tokens=PLAN_WINDOW * PLAN_WINDOWS,
    )
    result = evaluate(model, text, config, ref=ref)
    assert result.comparison is not None
    assert result.tokens == PLAN_WINDOWS * PLAN_WINDOW // 2  # each window's second half
    assert result.comparison.kld_mean <= 1.1 * AUTO_BUDGET


def test_auto_stays_within_its_measured_quality_on_other_text(
    smollm2_files: dict[str, Path],
) -> None:
    # Measured over these 1,024 tokens: PPL ratio 1.040, KLD 0.054, top-1 0.88 (2,048:
    # 1.051, 0.060, 0.86; llama.cpp's Q4_K_M of the same weights 1.032, 0.057, 0.86): text
    # unlike Shakespeare moves the model a little more than the budget's. Between int4
    # and int8 in size.
    _, cmp = compare(smollm2_files, "auto")
    assert cmp.ppl_ratio <= 1.06 and cmp.kld_mean <= 0.065 and cmp.top1_agreement >= 0.85
    size = {mode: smollm2_files[mode].stat().st_size for mode in ("int4", "auto", "int8")}
    assert size["int4"] < size["auto"] < size["int8"]


@pytest.mark.skipif(not LLAMA_PERPLEXITY.is_file(), reason="scripts/install-llamacpp.sh")
def test_perplexity_agrees_with_llama_cpp(smollm2_files: dict[str, Path], tmp_path: Path) -> None:
    text = tmp_path / "eval.txt"
    text.write_text(default_eval_text(), "utf-8")
    gguf = tmp_path / "smollm2-f32.gguf"
    export = ["export-gguf", "--model", "smollm2", "--type", "f32", "--out", str(gguf)]
    subprocess.run([sys.executable, "-m", "litecomplete", *export], check=True)
    context, chunks = 128, 8
    tool = subprocess.run(
        [str(LLAMA_PERPLEXITY), "-m", str(gguf), "-f", str(text), "-c", str(context)]
        + ["--chunks", str(chunks), "-t", "2", "-b", str(context)],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Final estimate: PPL = ([0-9.]+)", tool.stdout + tool.stderr)
    assert found, tool.stderr[-2000:]
    theirs = float(found.group(1))
    config = EvalConfig(
        context=context, stride=context, min_context=context // 2 + 1, max_tokens=chunks * context
    )
    ours = evaluate(FastModel.load(smollm2_files["none"]), default_eval_text(), config)
    assert ours.tokens == chunks * (context // 2 - 1)  # the tokens llama.cpp scores
    assert abs(ours.perplexity / theirs - 1) <= 0.02, json.dumps([ours.perplexity, theirs])
