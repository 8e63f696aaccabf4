"""``report.md``: the measured table, the goals checked against it, and the plots."""

from __future__ import annotations

import math
from dataclasses import dataclass

from litecomplete.report.run import AUTO_ROW, ModeRow, Report

MODE_NOTES = {
    "none": "float32 weights and activations (the reference)",
    "float16": "float16 weights, float32 compute",
    "dynamic": "int8 weights, activations quantized on the fly",
    "int8": "int8 weights rounded by GPTQ on Shakespeare, on activations quantized per row "
    "at run time; each matmul's 48 outlier input channels (found there) through a float "
    "matmul (16 at an output layer that outweighs the blocks)",
    "int8w": "int8 weights dequantized to float32: float compute",
    "int4": "int4 weights in blocks of 32 rounded by GPTQ on Shakespeare, activations "
    "quantized on the fly; each matmul's 32 outlier input channels int8, the output layer "
    "int8",
    "llama.cpp F32": "llama.cpp on the F32 GGUF of the same weights (`export-gguf`)",
    "llama.cpp Q8_0": "llama.cpp's quantizer: int8 blocks of 32, activations in blocks of 32",
    "llama.cpp Q4_0": "llama.cpp's quantizer: 4-bit blocks of 32; the output layer Q6_K "
    "(Q8_0 where the width is not a multiple of 256, as Gemma 3 270M's 640)",
    "llama.cpp Q4_K_M": "llama.cpp's quantizer: 4/5/6-bit K-quants, more bits for attn_v "
    "and ffn_down",
}


def mode_note(mode: str) -> str:
    """What a row's mode is."""
    if mode.startswith(AUTO_ROW):
        budget = mode.removeprefix(AUTO_ROW)
        return (
            "each matmul int4, int8 or float (as in those modes), the smallest plan whose "
            f"simulated KLD on the calibration text (Shakespeare) is at most {budget}"
        )
    return MODE_NOTES.get(mode, "")


@dataclass(frozen=True)
class Goal:
    mode: str
    metric: str  # key of the comparison ("ppl_ratio"...), or a row field ("size_bytes"...)
    limit: float = math.nan  # or the peer row's value of the metric
    at_most: bool = True  # False: the value must be at least the limit
    peer: str | None = None  # a row measured in the same run (llama.cpp's)
    times: float = 1.0  # the peer's value is the limit times this

    def describe(self, limit: float) -> str:
        if self.peer is None:
            bound = f"{limit:g}"
        else:
            factor = f"{self.times:g} × " if self.times != 1.0 else ""
            bound = f"{factor}{self.peer}'s {_shown(self.metric, limit / self.times)}"
        return f"{self.metric} {'≤' if self.at_most else '≥'} {bound}"


def _shown(metric: str, value: float) -> str:
    """A goal's figure: sizes in MiB, speeds to a tenth, ratios and KLD to 4 places."""
    if metric == "size_bytes":
        return f"{value / 2**20:.1f} MiB"
    if metric.endswith("_per_s"):
        return f"{value:.1f}"
    return f"{value:.4f}"


# Without llama.cpp's rows: llama.cpp's Q8_0 and Q4_0 of SmolLM2's weights, measured with
# its own tools on held-out prose (ctx 256), are what int8 and int4 must match.
GOALS = (
    Goal("float16", "ppl_ratio", 1.001),
    Goal("dynamic", "ppl_ratio", 1.01),
    Goal("dynamic", "kld_mean", 0.01),
    Goal("dynamic", "top1_agreement", 0.97, at_most=False),
    Goal("int8", "ppl_ratio", 1.008),
    Goal("int8", "kld_mean", 0.0049),
    Goal("int8", "top1_agreement", 0.949, at_most=False),
    Goal("int4", "ppl_ratio", 1.263),
    Goal("int4", "kld_mean", 0.344),
)
# With them: int8 against llama.cpp's Q8_0 and int4 against its Q4_0, same run, same
# weights, same text: as faithful, at least as fast, no bigger (int4: at most 1.1 times
# Q4_0, whose output layer is Q6_K or Q8_0 where ours is int8).
PEERS = {"int8": "llama.cpp Q8_0", "int4": "llama.cpp Q4_0"}
SIZE_TIMES = {"int8": 1.0, "int4": 1.1}
PEER_GOALS = tuple(
    Goal(mode, metric, at_most=at_most, peer=peer, times=times)
    for mode, peer in PEERS.items()
    for metric, at_most, times in (
        ("ppl_ratio", True, 1.0),
        ("kld_mean", True, 1.0),
        ("top1_agreement", False, 1.0),
        ("decode_tokens_per_s", False, 1.0),
        ("size_bytes", True, SIZE_TIMES[mode]),
    )
)


def _mib(n: int | float) -> str:
    return f"{n / 2**20:.1f}"


def _cmp(row: ModeRow, key: str) -> float:
    value = (row.eval.get("comparison") or {}).get(key)
    return math.nan if value is None else float(value)


def _value(row: ModeRow, metric: str) -> float:
    """A comparison figure of ``row``, or one of its fields (sizes, speeds)."""
    if hasattr(row, metric):
        return float(getattr(row, metric))
    return _cmp(row, metric)


def goal_lines(report: Report) -> list[str]:
    rows = {r.mode: r for r in report.rows}
    with_peers = any(g.peer in rows for g in PEER_GOALS)
    fixed = [g for g in GOALS if not (with_peers and g.mode in PEERS)]
    lines = ["| mode | goal | measured | verdict |", "|---|---|---|---|"]
    # auto's budget, set on Shakespeare, holds on the evaluation text too.
    budgets = [
        Goal(mode, "kld_mean", float(mode.removeprefix(AUTO_ROW)))
        for mode in rows
        if mode.startswith(AUTO_ROW)
    ]
    for goal in [*fixed, *budgets, *(PEER_GOALS if with_peers else ())]:
        if goal.mode not in rows or (goal.peer is not None and goal.peer not in rows):
            continue
        limit = goal.limit
        if goal.peer is not None:
            limit = goal.times * _value(rows[goal.peer], goal.metric)
        value = _value(rows[goal.mode], goal.metric)
        met = value <= limit if goal.at_most else value >= limit
        if met:
            verdict = "met"
        else:
            miss = value - limit if goal.at_most else limit - value
            verdict = f"**missed** by {_shown(goal.metric, miss)}"
        shown = _shown(goal.metric, value)
        lines.append(f"| {goal.mode} | {goal.describe(limit)} | {shown} | {verdict} |")
    return lines


def table_lines(report: Report) -> list[str]:
    ref_size = report.rows[0].size_bytes
    prompt = max((int(k) for k in report.rows[0].prefill_tokens_per_s), default=0)
    head = (
        "| mode | size MiB | × fp32 | PPL | PPL ratio | KLD mean | KLD p99 | KLD max | top-1 "
        f"| greedy = | prefill tok/s ({prompt}) | decode tok/s | first token ms | run RSS MiB "
        "| convert s | convert RSS MiB |"
    )
    lines = [head, "|" + "---|" * 16]
    for r in report.rows:
        lines.append(
            f"| {r.mode} | {_mib(r.size_bytes)} | {r.size_bytes / ref_size:.2f} "
            f"| {r.eval['perplexity']:.3f} | {_cmp(r, 'ppl_ratio'):.4f} "
            f"| {_cmp(r, 'kld_mean'):.4f} | {_cmp(r, 'kld_p99'):.3f} | {_cmp(r, 'kld_max'):.2f} "
            f"| {_cmp(r, 'top1_agreement'):.3f} | {_cmp(r, 'greedy_identical'):.2f} "
            f"| {r.prefill_tokens_per_s.get(str(prompt), math.nan):.0f} "
            f"| {r.decode_tokens_per_s:.1f} | {r.first_token_ms:.1f} "
            f"| {_mib(r.run_peak_rss_bytes)} | {r.convert_seconds:.0f} "
            f"| {_mib(r.convert_peak_rss_bytes)} |"
        )
    return lines


def render(report: Report, notes: str = "") -> str:
    """The whole ``report.md``; ``notes`` (markdown) goes after the goals."""
    cfg, first = report.config, report.rows[0]
    m = report.machine
    parts = [
        f"# Quantization report: {report.model}",
        "",
        f"Every mode converted to the fast format (KV cache {cfg['max_length']} tokens) and "
        f"measured on this machine: {m.get('cpu')}, {cfg['threads']} threads, "
        f"TensorFlow {m.get('tensorflow')}, ai-edge-litert {m.get('ai-edge-litert')}.",
        "",
        f"Quality: {first.eval['tokens']} tokens of {report.text}, windows of "
        f"{first.eval['context']} tokens moving by {first.eval['stride']}; every mode against "
        "the float32 conversion (`none`) at every scored position. KLD is KL(float32 ‖ mode) "
        "in nats per token; top-1 is the share of positions whose most likely next token is "
        "the same; greedy = is the share of 16-token greedy continuations (8 places in the "
        "text) identical token for token. Speed: medians of "
        f"{cfg['repetitions']} runs (`litecomplete bench`); run RSS is the benchmark "
        "process's peak memory, convert RSS the converter's.",
        "",
        "## Results",
        "",
        *table_lines(report),
        "",
        "| mode | what it is |",
        "|---|---|",
        *(f"| {r.mode} | {mode_note(r.mode)} |" for r in report.rows),
        "",
        "## Goals",
        "",
        *goal_lines(report),
        "",
    ]
    if notes:
        parts += [notes.strip(), ""]
    fallback = {r.mode: r.float_fallback_ops for r in report.rows if r.float_fallback_ops}
    if fallback:
        parts += ["## Ops left in float", ""]
        for mode, ops in fallback.items():
            listed = ", ".join(f"{k} ×{v}" for k, v in sorted(ops.items()))
            parts += [f"- {mode}: {listed}"]
        parts += [""]
    parts += [
        "## Plots",
        "",
        "![size against perplexity](size_vs_ppl.png)",
        "",
        "![size against KLD](size_vs_kld.png)",
        "",
        "![decode speed against size](decode_vs_size.png)",
        "",
        f"Generated by `litecomplete report --model {cfg['model']}` in "
        f"{report.seconds / 60:.0f} minutes; the figures are in `report.json`.",
        "",
    ]
    return "\n".join(parts)
