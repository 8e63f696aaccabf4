"""The fast-format benchmark's report: ours against each peer engine, per thread count,
and the printed table (``litecomplete bench``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from litecomplete.bench.fast_bench import EngineResult, Stat
from litecomplete.bench.sessions import LOOK_AHEAD_SUFFIX


@dataclass(frozen=True)
class Ratio:
    """Ours against a peer, per thread count: above 1 means litecomplete is faster.

    Rates are ours over theirs; ``first_token`` is their time over ours.
    """

    threads: int
    ours: str
    peer: str
    decode: float
    prefill: dict[int, float]
    peer_engine: str = "llama.cpp"
    first_token: float = 0.0


def pair_ratios(rows: list[EngineResult]) -> list[Ratio]:
    """Pair the n-th litecomplete row with the n-th row of each peer engine, per thread
    count."""
    ratios = []
    for threads in dict.fromkeys(r.threads for r in rows):
        ours = [r for r in rows if r.threads == threads and r.engine == "litecomplete"]
        for peer_engine in dict.fromkeys(r.engine for r in rows if r.engine != "litecomplete"):
            peers = [r for r in rows if r.threads == threads and r.engine == peer_engine]
            for a, b in zip(ours, peers, strict=False):
                ratios.append(
                    Ratio(
                        threads=threads,
                        ours=a.variant,
                        peer=b.variant,
                        decode=a.decode_tokens_per_s.median / b.decode_tokens_per_s.median,
                        prefill={
                            k: a.prefill_tokens_per_s[k].median / b.prefill_tokens_per_s[k].median
                            for k in a.prefill_tokens_per_s
                            if k in b.prefill_tokens_per_s
                        },
                        peer_engine=peer_engine,
                        first_token=b.first_token_ms.median / a.first_token_ms.median,
                    )
                )
    return ratios


def runner_copy_decode_tokens_per_s(path: Path, threads: int, steps: int = 32) -> Stat:
    """Decode rate through ai-edge-litert's ``Interpreter`` and its ``SignatureRunner``.

    The runner copies each input in and each output out on every call: here the
    whole caches, twice per token. This is the design the in-place runtime
    replaces, measured for comparison.
    """
    from ai_edge_litert.interpreter import Interpreter

    from litecomplete import contract as c

    runner = Interpreter(model_path=str(path), num_threads=threads).get_signature_runner(
        c.DECODE_SIGNATURE
    )
    caches = {
        name: np.zeros(d["shape"], d["dtype"])
        for name, d in runner.get_input_details().items()
        if name not in (c.TOKENS, c.INPUT_POS)
    }
    rates = []
    for _ in range(4):  # the first is a warm-up
        start = time.perf_counter()
        for pos in range(steps):
            out = runner(
                tokens=np.array([[pos % 1000]], np.int32),
                input_pos=np.array([pos], np.int32),
                **caches,
            )
            caches = {name: out[name] for name in caches}
        rates.append(steps / (time.perf_counter() - start))
    return Stat.of(rates[1:])


def _fmt(stat: Stat) -> str:
    return f"{stat.median:.1f} ± {stat.spread:.1f}"


def format_fast_report(
    rows: list[EngineResult], ratios: list[Ratio], runner_copy: dict[str, Stat]
) -> str:
    """A markdown table of ``rows``, then the ratios and the runner-copy figures."""
    m = rows[0].machine
    lines = [
        f"machine: {m['cpu']}, {m['cores']} cores; python {m['python']}, "
        f"ai-edge-litert {m['ai-edge-litert']}, litecomplete {m['litecomplete']}",
        "",
    ]
    lengths = list(rows[0].prefill_tokens_per_s)
    header = ["engine", "variant", "threads"] + [f"prefill {k} tok/s" for k in lengths]
    header += ["decode tok/s", "first token ms", "typing suggestion ms"]
    header += ["load s", "RSS after load MiB", "peak RSS MiB"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for r in rows:
        cells = [r.engine, r.variant, str(r.threads)]
        cells += [_fmt(r.prefill_tokens_per_s[k]) for k in lengths]
        cells += [_fmt(r.decode_tokens_per_s), _fmt(r.first_token_ms), _fmt(r.suggestion_ms)]
        cold = "" if r.cold_load_s is None else f" (cold {r.cold_load_s:.2f})"
        cells.append(f"{r.load_s:.2f}{cold}")
        cells.append(f"{r.rss_after_load_bytes / 2**20:.0f}")
        cells.append(f"{r.peak_rss_bytes / 2**20:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for ratio in ratios:
        prefill = ", ".join(f"{k}: {v:.2f}x" for k, v in ratio.prefill.items())
        lines.append(
            f"{ratio.threads} thread(s): litecomplete {ratio.ours} vs {ratio.peer_engine} "
            f"{ratio.peer}: decode {ratio.decode:.2f}x, prefill {prefill}, "
            f"first token {ratio.first_token:.2f}x"
        )
    lines += _session_lines(rows)
    for key, stat in runner_copy.items():
        lines.append(
            f"decode with caches copied through SignatureRunner, {key}: {_fmt(stat)} tok/s"
        )
    return "\n".join(lines)


def _session_lines(rows: list[EngineResult]) -> list[str]:
    """The typing sessions' table and ratios, where they were measured."""
    sessioned = [r for r in rows if r.sessions]
    if not sessioned:
        return []
    lines = [
        "",
        "| engine | variant | threads | text | decoding | suggestion tok/s | "
        "suggestion ms p50 / p90 | accepted per verify | verifies per suggestion | "
        "look-ahead ms p50 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sessioned:
        for x in r.sessions:
            cells = [
                _maybe(x.tokens_per_s, ".1f"),
                f"{x.latency_p50_ms:.1f} / {x.latency_p90_ms:.1f}",
                _maybe(x.accepted_per_verify, ".2f"),
                _maybe(x.verifies_per_suggestion, ".2f"),
                _maybe(x.look_ahead_p50_ms, ".1f"),
            ]
            lines.append(
                f"| {r.engine} | {r.variant} | {r.threads} | {x.text} | {x.mode} | "
                + " | ".join(cells)
                + " |"
            )
    lines.append("")
    for threads in dict.fromkeys(r.threads for r in sessioned):
        peers = [r for r in sessioned if r.threads == threads and r.engine != "litecomplete"]
        for r in sessioned:
            if r.threads == threads and r.engine == "litecomplete":
                lines += _session_ratios(r, peers)
    return lines


def _session_ratios(ours: EngineResult, peers: list[EngineResult]) -> list[str]:
    """Per text: speculation's rate and latency against plain decoding and the peers',
    and look-ahead's latency, where measured."""
    lines = []
    modes = {(x.text, x.mode): x for x in ours.sessions}
    for text in dict.fromkeys(x.text for x in ours.sessions):
        off, auto = modes.get((text, "off")), modes.get((text, "auto"))
        if not (off and auto and off.tokens_per_s and auto.tokens_per_s):
            continue
        parts = [
            f"speculative {auto.tokens_per_s / off.tokens_per_s:.2f}x plain decoding",
            f"latency p50 {auto.latency_p50_ms / off.latency_p50_ms:.2f}x",
        ]
        ahead = modes.get((text, "auto" + LOOK_AHEAD_SUFFIX))
        if ahead:
            parts.append(
                f"with look-ahead p50 {ahead.latency_p50_ms / off.latency_p50_ms:.2f}x, "
                f"p90 {ahead.latency_p90_ms / off.latency_p90_ms:.2f}x"
            )
        for peer in peers:
            plain = next((x for x in peer.sessions if x.text == text), None)
            if plain and plain.tokens_per_s:
                parts.append(
                    f"{auto.tokens_per_s / plain.tokens_per_s:.2f}x {peer.engine} {peer.variant}"
                )
        lines.append(f"{ours.threads} thread(s), {text} typing: " + ", ".join(parts))
    return lines


def _maybe(value: float | None, spec: str) -> str:
    """``value`` formatted, or an empty cell."""
    return "" if value is None else format(value, spec)
