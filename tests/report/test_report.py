"""The report: a real run on the tiny model, and the write-up from known figures."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from litecomplete.errors import ConfigError
from litecomplete.quantize import QuantMode
from litecomplete.report import ModeRow, Report, ReportConfig
from litecomplete.report.markdown import goal_lines, render
from litecomplete.report.plots import write_plots

PNG = b"\x89PNG\r\n\x1a\n"
HAS_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None


def row(mode: str, size: int, ppl: float, **comparison: float) -> ModeRow:
    cmp = {
        "ppl_ratio": 1.0,
        "kld_mean": 0.0,
        "kld_p99": 0.0,
        "kld_max": 0.0,
        "top1_agreement": 1.0,
        "greedy_identical": 1.0,
        **comparison,
    }
    return ModeRow(
        mode=mode,
        path=f"{mode}.tflite",
        size_bytes=size,
        convert_seconds=10.0,
        convert_peak_rss_bytes=2**30,
        float_fallback_ops={"SOFTMAX": 2} if mode == "int8" else {},
        eval={"perplexity": ppl, "tokens": 100, "context": 64, "stride": 32, "comparison": cmp},
        prefill_tokens_per_s={"16": 500.0, "64": 900.0},
        decode_tokens_per_s=50.0,
        first_token_ms=20.0,
        run_peak_rss_bytes=2**28,
    )


def known_report() -> Report:
    return Report(
        model="example",
        config={"model": "example", "max_length": 64, "threads": 2, "repetitions": 3},
        text="t.txt",
        rows=[
            row("none", 400 * 2**20, 20.0),
            row("float16", 200 * 2**20, 20.01, ppl_ratio=1.0005),
            row("dynamic", 100 * 2**20, 20.5, ppl_ratio=1.025, kld_mean=0.02, top1_agreement=0.95),
            row("int8", 100 * 2**20, 20.4, ppl_ratio=1.02),
        ],
        machine={"cpu": "test cpu", "tensorflow": "x", "ai-edge-litert": "y"},
    )


def test_goals_say_met_or_by_how_much_they_are_missed() -> None:
    lines = "\n".join(goal_lines(known_report()))
    assert "| float16 | ppl_ratio ≤ 0.001" not in lines
    assert "| float16 | ppl_ratio ≤ 1.001 | 1.0005 | met |" in lines
    assert "| dynamic | ppl_ratio ≤ 1.01 | 1.0250 | **missed** by 0.0150 |" in lines
    assert "| dynamic | kld_mean ≤ 0.01 | 0.0200 | **missed** by 0.0100 |" in lines
    assert "| dynamic | top1_agreement ≥ 0.97 | 0.9500 | **missed** by 0.0200 |" in lines
    assert "| int8 | ppl_ratio ≤ 1.008 | 1.0200 | **missed** by 0.0120 |" in lines
    assert "| int8 | kld_mean ≤ 0.0049 | 0.0000 | met |" in lines
    assert "int4" not in lines  # no row, no verdict


def test_with_llamacpp_rows_int8_is_held_to_q8_0_of_the_same_run() -> None:
    report = known_report()
    peer = row("llama.cpp Q8_0", 110 * 2**20, 20.1, ppl_ratio=1.005, kld_mean=0.002)
    report.rows.append(dataclasses.replace(peer, decode_tokens_per_s=40.0))
    lines = "\n".join(goal_lines(report))
    assert "ppl_ratio ≤ 1.008" not in lines  # the fixed goal gives way to the measured peer
    assert "| int8 | ppl_ratio ≤ llama.cpp Q8_0's 1.0050 | 1.0200 | **missed** by 0.0150 |" in lines
    assert "| int8 | kld_mean ≤ llama.cpp Q8_0's 0.0020 | 0.0000 | met |" in lines
    assert "| int8 | decode_tokens_per_s ≥ llama.cpp Q8_0's 40.0 | 50.0 | met |" in lines
    assert "| int8 | size_bytes ≤ llama.cpp Q8_0's 110.0 MiB | 100.0 MiB | met |" in lines
    assert "| dynamic | ppl_ratio ≤ 1.01 |" in lines  # modes without a peer keep theirs


def test_int4_may_be_a_tenth_larger_than_q4_0() -> None:
    """The issue's size goal for int4: at most 1.1 times Q4_0's file (whose output layer
    is Q6_K or Q8_0, ours int8)."""
    report = known_report()
    report.rows.append(row("llama.cpp Q4_0", 90 * 2**20, 22.0, ppl_ratio=1.2, kld_mean=0.3))
    report.rows.append(row("int4", 98 * 2**20, 21.0, ppl_ratio=1.1, kld_mean=0.1))
    lines = "\n".join(goal_lines(report))
    assert "| int4 | size_bytes ≤ 1.1 × llama.cpp Q4_0's 90.0 MiB | 98.0 MiB | met |" in lines
    report.rows[-1] = row("int4", 100 * 2**20, 21.0, ppl_ratio=1.1, kld_mean=0.1)
    lines = "\n".join(goal_lines(report))
    assert "| 100.0 MiB | **missed** by 1.0 MiB |" in lines


def test_an_auto_row_is_held_to_its_budget_on_the_evaluation_text() -> None:
    report = known_report()
    report.rows.append(row("auto 0.01", 90 * 2**20, 20.3, kld_mean=0.012))
    report.rows.append(row("auto 0.05", 80 * 2**20, 20.9, kld_mean=0.04))
    lines = "\n".join(goal_lines(report))
    assert "| auto 0.01 | kld_mean ≤ 0.01 | 0.0120 | **missed** by 0.0020 |" in lines
    assert "| auto 0.05 | kld_mean ≤ 0.05 | 0.0400 | met |" in lines
    assert "at most 0.05 |" in render(report)  # the row's description names its budget


def test_render_has_every_row_notes_fallback_and_plots(tmp_path: Path) -> None:
    text = render(known_report(), notes="## Why\n\nBecause.")
    for mode, size in (("none", "400.0"), ("float16", "200.0"), ("dynamic", "100.0")):
        assert f"| {mode} | {size} |" in text
    assert "| float16 | 200.0 | 0.50 |" in text  # size relative to float32
    assert "## Why" in text and "int8: SOFTMAX ×2" in text
    paths = write_plots(known_report(), tmp_path)
    assert [p.name for p in paths] == ["size_vs_ppl.png", "size_vs_kld.png", "decode_vs_size.png"]
    assert all(p.read_bytes().startswith(PNG) for p in paths)


def test_report_json_round_trips() -> None:
    report = known_report()
    assert Report.from_dict(json.loads(json.dumps(report.to_dict()))) == report


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"modes": (QuantMode.DYNAMIC,)}, "start with none"),
        ({"modes": (QuantMode.NONE, QuantMode.INT4, QuantMode.INT4)}, "listed twice"),
        ({"context": 512}, "exceeds --max-length"),
        ({"eval_tokens": 3}, "at least 16"),
        ({"modes": (QuantMode.NONE, QuantMode.AUTO)}, "given by their budgets"),
        ({"auto_klds": (0.01, 0.0)}, "--max-kld must be above 0"),
    ],
)
def test_invalid_report_config(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ReportConfig(**fields)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "litecomplete", *args], capture_output=True, text=True, timeout=1200
    )


def test_report_on_the_tiny_model(tmp_path: Path) -> None:
    out = tmp_path / "report"
    args = ["report", "--model", "tiny", "--out", str(out), "--modes", "none,dynamic,int4"]
    args += ["--max-length", "48", "--context", "48", "--eval-tokens", "40", "--repetitions", "1"]
    args += ["--auto-kld", "0.05"]
    result = cli(*args, "--llamacpp", "on" if HAS_LLAMA_CPP else "off")
    assert result.returncode == 0, result.stderr
    report = Report.from_dict(json.loads((out / "report.json").read_text()))
    peers = ["llama.cpp F32", "llama.cpp Q8_0", "llama.cpp Q4_0", "llama.cpp Q4_K_M"]
    ours = ["none", "dynamic", "int4", "auto 0.05"]
    assert [r.mode for r in report.rows] == [*ours, *peers[: 4 * HAS_LLAMA_CPP]]
    rows = {r.mode: r for r in report.rows}
    if HAS_LLAMA_CPP:
        # llama.cpp on the F32 export of the same weights gives float32's distribution.
        f32 = rows["llama.cpp F32"].eval["comparison"]
        assert f32["kld_max"] < 1e-4 and f32["top1_agreement"] == 1.0, f32
        assert 0 < rows["llama.cpp Q8_0"].eval["comparison"]["kld_mean"] < 0.05
        q4 = rows["llama.cpp Q4_0"]
        assert q4.size_bytes < rows["llama.cpp Q8_0"].size_bytes < rows["llama.cpp F32"].size_bytes
        md = (out / "report.md").read_text()
        assert "| int4 | kld_mean ≤ llama.cpp Q4_0's" in md and "| int8 |" not in md
    sizes = {r.mode: r.size_bytes for r in report.rows}
    # The tiny model is mostly its embedding: int4 keeps the lookup's copy in int8 next
    # to the output matmul's int4 copy, so it is not below dynamic here.
    assert max(sizes["int4"], sizes["dynamic"]) < 0.5 * sizes["none"]
    for r in report.rows:  # llama.cpp's rows too: the export's and quantizer's memory
        assert r.eval["tokens"] == 40 and r.decode_tokens_per_s > 0
        assert r.convert_peak_rss_bytes > 0 and r.run_peak_rss_bytes > 0
    assert report.rows[0].eval["comparison"]["kld_max"] == 0.0
    md = (out / "report.md").read_text()
    assert "| int4 |" in md and "![size against perplexity](size_vs_ppl.png)" in md
    assert "| auto 0.05 | kld_mean ≤ 0.05 |" in md
    assert (out / "decode_vs_size.png").read_bytes().startswith(PNG)
    assert (out / "size_vs_kld.png").read_bytes().startswith(PNG)
    assert not list(out.glob("*.tflite")) and not list(
        out.glob("*.gguf")
    )  # converted models went to a temporary directory

    notes = tmp_path / "notes.md"
    notes.write_text("## Reading the figures\n\nRandom weights.\n")
    rerendered = cli("report", "--out", str(out), "--render-only", "--notes", str(notes))
    assert rerendered.returncode == 0, rerendered.stderr
    assert "Random weights." in (out / "report.md").read_text()


def test_report_errors_are_one_line(tmp_path: Path) -> None:
    result = cli("report", "--out", str(tmp_path), "--render-only")
    assert result.returncode == 2 and "run the report without it first" in result.stderr
    result = cli("report", "--out", str(tmp_path), "--modes", "none,int3")
    assert result.returncode == 2 and "unknown quantization mode 'int3'" in result.stderr
    result = cli("report", "--out", str(tmp_path), "--auto-kld", "0.01,x")
    assert result.returncode == 2 and "--auto-kld must be comma-separated" in result.stderr
    assert "Traceback" not in result.stderr
