"""``--quant auto``: each matmul int4, int8 or float, the smallest within a KLD budget.

On the tiny Llama (random weights, SmolLM2's tokenizer) int8 moves the model little
and int4 far (``test_llama_formats``), so budgets between them give mixed plans.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from litecomplete.errors import ConfigError
from litecomplete.quantize import QuantMode
from litecomplete.runtime import FastModel
from tests.reference import file_log_probs, mean_kld
from tests.test_cli import assert_one_line_error, run
from tests.tflite_ops import operators

# Below int8's KLD (some matmuls float), between int8 and int4, above int4 (all int4).
BUDGETS = (0.001, 0.05, 1.0)
FC_WEIGHT_TYPES = {0: "float", 9: "int8", 17: "int4"}  # TFLite TensorType codes


def convert(source: Any, quant: QuantMode, out: Path, **options: Any) -> Path:
    from litecomplete.convert.fast_config import FastExportConfig
    from litecomplete.convert.fast_export import convert_fast_model

    # 128 positions: ``auto`` measures on windows of 128 tokens (``quantize.plan``).
    config = FastExportConfig(max_length=128, buckets=(16,), quant=quant, **options)
    convert_fast_model(source, config, out)
    return out


@pytest.fixture(scope="module")
def source(tiny_llama_gguf: Path) -> Any:
    from litecomplete.convert.fast_export import gguf_fast_source

    return gguf_fast_source(tiny_llama_gguf)


@pytest.fixture(scope="module")
def files(source: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("auto")
    paths = {m: convert(source, QuantMode(m), out / f"{m}.tflite") for m in ("none", "int4")}
    for budget in BUDGETS:
        paths[f"auto-{budget}"] = convert(
            source, QuantMode.AUTO, out / f"auto-{budget}.tflite", max_kld=budget
        )
    return paths


def matmul_types(path: Path) -> dict[str, dict[str, str]]:
    """Every signature's FULLY_CONNECTED ops: output name (the converter's copy number
    stripped, and the last of a fused op's names: "mul_2;layer_0_qkv_proj") -> weight type."""
    import re

    from ai_edge_litert import schema_py_generated as schema

    found: dict[str, dict[str, str]] = {}
    for graph, op in operators(path, schema.BuiltinOperator.FULLY_CONNECTED):
        name = graph.Tensors(op.Outputs(0)).Name().decode()
        weight = graph.Tensors(op.Inputs(1)).Type()
        ops = found.setdefault(graph.Name().decode(), {})
        ops[re.sub(r"_?\d+$", "", name.split(";")[-1])] = FC_WEIGHT_TYPES[weight]
    return found


def plan_of(path: Path) -> dict[str, Any]:
    from litecomplete.inspect import read_model_info

    plan = read_model_info(path).manifest["quant_plan"]
    assert isinstance(plan, dict)
    return plan


def precisions(plan: dict[str, Any]) -> dict[tuple[int, str], str]:
    units = {}
    for i, row in enumerate(plan["layers"]):
        for item in row.split():
            projection, precision = item.split("=")
            units[(i, projection)] = precision
    return units


@pytest.mark.parametrize("budget", BUDGETS)
def test_each_matmul_is_stored_as_the_plan_says(files: dict[str, Path], budget: float) -> None:
    path = files[f"auto-{budget}"]
    plan = plan_of(path)
    matmuls = {"qkv": ["qkv"], "out": ["out"], "gate_up": ["gate", "up"], "down": ["down"]}
    signatures = matmul_types(path)
    keys = {"decode", "decode_64", "prefill_16", "fill_16", "verify_4", "verify_16"}
    assert set(signatures) == keys
    last = max(i for i, _ in precisions(plan))
    for key, ops in signatures.items():
        for (i, projection), precision in precisions(plan).items():
            if key == "fill_16" and i == last and projection != "qkv":
                # A fill returns the caches: its last block ends at its keys and values.
                names = [f"layer_{i}_{name}_proj" for name in matmuls[projection]]
                assert not any(n.startswith(tuple(names)) for n in ops), ops
                continue
            for name in matmuls[projection]:
                main, side = ops[f"layer_{i}_{name}_proj"], ops.get(f"layer_{i}_{name}_proj_side")
                assert main == precision, (i, name, ops)
                # int4's outlier channels go through int8, int8's through float.
                expected_side = {"int4": "int8", "int8": "float"}.get(precision)
                assert side == expected_side or (side is None and precision != "float")
        assert plan["output"] == "int8"  # the output layer reads the lookup's int8 table
        heads = [t for n, t in ops.items() if not n.startswith("layer_") and "side" not in n]
        assert heads == ([] if key == "fill_16" else ["int8"]), ops


def test_a_larger_budget_gives_a_smaller_file_within_it(
    files: dict[str, Path], tmp_path: Path
) -> None:
    from litecomplete.eval import EvalConfig, evaluate
    from litecomplete.quantize.calibration import calibration_passages

    sizes = [files[f"auto-{b}"].stat().st_size for b in BUDGETS]
    assert sizes[0] > sizes[1] > sizes[2], sizes
    counts = [list(precisions(plan_of(files[f"auto-{b}"])).values()) for b in BUDGETS]
    assert "float" in counts[0]
    assert "int4" in counts[1] and "int8" in counts[1] and "float" not in counts[1]
    assert set(counts[2]) == {"int4"}  # every matmul of this model tiles into blocks
    # All int4 is the int4 mode's file but for the output layer's 8 outlier channels
    # (of 64), which auto keeps float as int8 does, and the int4 mode does not split
    # off: 8 float32s a vocabulary row.
    vocab = 49152
    side = 8 * vocab * 4
    assert sizes[2] - files["int4"].stat().st_size == pytest.approx(side, rel=0.01)
    # The budget holds when the runtime measures the file on the calibration text, on
    # the plan's windows: 4 of 128 tokens, the second halves scored.
    text = tmp_path / "calibration.txt"
    text.write_text(" ".join(calibration_passages(16)), encoding="utf-8")
    ref = FastModel.load(files["none"])
    config = EvalConfig(context=128, stride=128, min_context=64, max_tokens=512, greedy_samples=0)
    for budget in BUDGETS[:2]:
        kld = plan_of(files[f"auto-{budget}"])["calibration_kld"]
        assert 0 < kld <= budget
        model = FastModel.load(files[f"auto-{budget}"])
        measured = evaluate(model, text.read_text("utf-8"), config, ref=ref).comparison
        assert measured is not None
        assert measured.kld_mean == pytest.approx(kld, rel=0.1), (budget, measured)


def test_the_simulation_computes_what_the_file_does(files: dict[str, Path], source: Any) -> None:
    """The NumPy simulation ``auto`` decides by gives the file's logits: far closer to
    them than the float model is."""
    from litecomplete.quantize.gptq import GptqRounding, input_hessians
    from litecomplete.quantize.modes import Precision
    from litecomplete.quantize.plan import plan_channels
    from litecomplete.quantize.simulate import OUTPUT, Simulator, Window, log_softmax

    path = files["auto-0.05"]
    model = FastModel.load(path)
    ids = model.encode("It was the best of times, it was the worst of times, it was the age")[:24]
    plan = {u: Precision(p) for u, p in precisions(plan_of(path)).items()}
    plan[(len(source.weights.layers), OUTPUT)] = Precision.INT8
    from litecomplete.quantize.calibration import calibration_passages

    calibration = source.encode(" ".join(calibration_passages(16)))[:1024]
    channels = plan_channels(source.weights, calibration)
    from litecomplete.convert.fast_config import FastExportConfig
    from litecomplete.convert.fast_export import gptq_ids

    config = FastExportConfig(max_length=128, buckets=(16,), quant=QuantMode.AUTO, max_kld=0.05)
    rounding = GptqRounding(input_hessians(source.weights, gptq_ids(source, config)))
    sim = Simulator(source.weights, [ids], channels, rounding, int8_positions=True)
    sim.plan = plan
    window: Window = sim.windows[0]
    simulated = log_softmax(sim.run(window))
    produced = file_log_probs(model, ids)

    # Measured: 1.5e-9 against 0.036 (the bfloat16 block scales simulated as stored).
    assert mean_kld(produced, simulated) < 0.05 * mean_kld(produced, window.reference)


def test_a_budget_beyond_reach_is_refused(source: Any, tmp_path: Path) -> None:
    from litecomplete.errors import ConversionError

    out = tmp_path / "x.tflite"
    with pytest.raises(ConversionError, match="out of reach: with every matmul in float"):
        convert(source, QuantMode.AUTO, out, max_kld=1e-12)
    assert not out.exists()


def test_matmuls_int4_cannot_tile_stay_int8_in_auto_and_int4_names_them(
    source: Any, tmp_path: Path
) -> None:
    from litecomplete.models import llama
    from litecomplete.models.fake import random_decoder_weights

    spec = dataclasses.replace(llama.fake_spec(), hidden_dim=48, head_dim=12)
    narrow = dataclasses.replace(source, weights=random_decoder_weights(spec))
    with pytest.raises(ConfigError, match="cannot take layer 0's qkv matmul: its 48 input"):
        convert(narrow, QuantMode.INT4, tmp_path / "int4.tflite")
    assert not (tmp_path / "int4.tflite").exists()
    path = convert(narrow, QuantMode.AUTO, tmp_path / "auto.tflite", max_kld=1.0)
    units = precisions(plan_of(path))
    # qkv and gate_up read the 48-wide hidden state; out and down 48 and 128 channels.
    assert {units[(i, "qkv")] for i in range(2)} == {"int8"}
    assert units[(0, "down")] == "int4"


def test_bad_budgets_and_calibration_texts_are_one_line_errors(tmp_path: Path) -> None:
    out = tmp_path / "x.tflite"
    fast = ("convert", "--model", "tiny", "--format", "fast", "--out", str(out))
    for budget in ("0", "-0.1", "1.5", "nan"):
        result = run(*fast, "--quant", "auto", "--max-kld", budget)
        assert_one_line_error(result, "--max-kld must be")
    result = run(*fast, "--quant", "int8", "--max-kld", "0.01")
    assert_one_line_error(result, "--max-kld applies to --quant auto, not int8")
    result = run("convert", "--model", "tiny", "--quant", "auto", "--out", str(out))
    assert_one_line_error(result, "the app format cannot take --quant auto")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("café au lait\n".encode("latin-1"))
    result = run(*fast, "--quant", "auto", "--calibration-text", str(latin1))
    assert_one_line_error(result, "is not UTF-8 text (byte 0xe9 at offset 3)")
    result = run(*fast, "--quant", "int8", "--calibration-text", str(tmp_path / "absent.txt"))
    assert_one_line_error(result, "absent.txt: no such file")
    short = tmp_path / "short.txt"
    short.write_text("Too short to calibrate on.\n", encoding="utf-8")
    result = run(*fast, "--quant", "auto", "--calibration-text", str(short))
    assert_one_line_error(result, "calibration needs at least 64 tokens of text")
    assert not out.exists()


def test_a_calibration_text_of_ones_own_is_used(source: Any, tmp_path: Path) -> None:
    from litecomplete.quantize.calibration import calibration_passages

    text = tmp_path / "notes.txt"
    lines = [
        f"Note {i}: the quarterly figures for region {i} went up again this week."
        for i in range(40)
    ]
    text.write_text("\n\n".join(lines), encoding="utf-8")
    assert calibration_passages(16, text) == lines[:16]
    a = convert(source, QuantMode.INT8, tmp_path / "a.tflite", calibration_text=text)
    b = convert(source, QuantMode.INT8, tmp_path / "b.tflite")
    assert a.read_bytes() != b.read_bytes()  # other outlier channels


def test_gptq_fits_on_tokens_the_plan_does_not_score(source: Any) -> None:
    """A plan scored on the text its int4 blocks were fitted to looks better than it is."""
    from litecomplete.convert.fast_config import FastExportConfig
    from litecomplete.convert.fast_export import gptq_ids
    from litecomplete.quantize.calibration import calibration_passages
    from litecomplete.quantize.plan import PLAN_TOKENS

    int4 = gptq_ids(source, FastExportConfig(quant=QuantMode.INT4))
    auto = gptq_ids(source, FastExportConfig(quant=QuantMode.AUTO))
    scored = source.encode(" ".join(calibration_passages(16)))[:PLAN_TOKENS]
    assert int4[:PLAN_TOKENS] == scored and auto == int4[PLAN_TOKENS:]
    assert len(auto) > 2 * PLAN_TOKENS  # the whole packaged text, less the scored part
