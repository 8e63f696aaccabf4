"""Typing sessions: a user types a text token by token and gets a suggestion after each.

From evenly spaced places of a text, each session feeds the context and suggests
after it (untimed: the user paused there), then types the text's next tokens one at a
time; after each, a greedy suggestion is timed (the typed token's feed included). Two
passes: long suggestions for the rate (suggestion tokens over their time), short ones
for the latency a user sees. Ours runs once per way of decoding (``--speculative`` off
and auto, and auto with look-ahead), llama.cpp once.

Look-ahead (``runtime.look_ahead``) works between keystrokes: after each suggestion
of its latency pass the engine prepares the likeliest other next tokens' suggestions,
timed apart (``look_ahead_p50_ms``: the pause a user must leave for it to finish).
Its rate pass is not run: the rate is decoding's, and look-ahead moves work between
keystrokes rather than doing less of it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from litecomplete.bench.fast_bench import FastBenchConfig

LOOK_AHEAD_SUFFIX = "+look-ahead"  # a mode's name with look-ahead: "auto+look-ahead"


@dataclass(frozen=True)
class SessionResult:
    """Typing sessions on one text, one engine and one way of decoding.

    ``tokens_per_s``: suggestion tokens over the time of the whole suggestions (the
    typed token's feed included), ``session_suggestion_tokens`` long; None for a
    look-ahead mode. ``latency_ms``: p50 and p90 of ``suggestion_tokens``-token
    suggestions after one typed token.
    """

    text: str
    mode: str  # ours: the --speculative mode (+look-ahead); llama.cpp: "plain"
    tokens_per_s: float | None
    latency_p50_ms: float
    latency_p90_ms: float
    suggestions: int
    accepted_per_verify: float | None = None
    verifies_per_suggestion: float | None = None
    look_ahead_p50_ms: float | None = None  # time spent between keystrokes, per keystroke


def session_texts() -> dict[str, str]:
    """The texts typing sessions type: the packaged evaluation prose, and a code file
    (Python's own ``textwrap`` module, the same on every machine with this Python)."""
    import textwrap

    prose = resources.files("litecomplete").joinpath("data/eval.txt").read_text("utf-8")
    prose = "\n".join(line for line in prose.splitlines() if not line.startswith("#"))
    return {"prose": prose, "code": Path(textwrap.__file__).read_text("utf-8")}


def session_modes(engine: Any, config: FastBenchConfig) -> list[str]:
    """The ways of decoding an engine's sessions run: ours off, auto, and auto with
    look-ahead where ``config.look_ahead`` asks for it; a peer's one plain way."""
    if not hasattr(engine, "speculation"):
        return ["plain"]
    return ["off", "auto"] + (["auto" + LOOK_AHEAD_SUFFIX] if config.look_ahead else [])


def measure_sessions(engine: Any, config: FastBenchConfig, modes: list[str]) -> list[SessionResult]:
    """Typing sessions (``FastBenchConfig.sessions``) on each text, once per mode."""
    results = []
    context = min(config.session_context, engine.max_length - config.session_suggestion_tokens - 1)
    for name, text in session_texts().items():
        ids = engine.tokenize(text)
        room = len(ids) - context - config.typed_tokens
        starts = [context + i * room // config.sessions for i in range(config.sessions)]
        for mode in modes:
            results.append(_sessions(engine, config, name, ids, starts, context, mode))
    return results


def _sessions(
    engine: Any,
    config: FastBenchConfig,
    text: str,
    ids: list[int],
    starts: list[int],
    context: int,
    mode: str,
) -> SessionResult:
    """One mode's passes over ``starts`` of ``ids``."""
    from litecomplete.runtime.speculative import Speculation

    speculative, _, ahead = mode.partition("+")
    stats = getattr(getattr(engine, "model", None), "speculation_stats", None)
    if hasattr(engine, "speculation"):
        engine.speculation = Speculation.parse(speculative)
    verifies = accepted = 0  # over the timed suggestions only
    passes = [(config.suggestion_tokens, "latency")]
    if not ahead:
        passes.insert(0, (config.session_suggestion_tokens, "rate"))
    spent, made, latencies, idle = 0.0, 0, [], []
    for length, timed in passes:
        for start in starts:
            engine.reset()
            # The user paused here: the context's own suggestion was made (and looked
            # ahead from), untimed, as after any keystroke.
            engine.suggest(ids[start - context : start], length)
            if ahead:
                engine.look_ahead(ids[start - context : start], length, config.look_ahead)
            for typed in range(1, config.typed_tokens + 1):
                prompt = ids[start - context : start + typed]
                before = (stats.verifies, stats.accepted) if stats else (0, 0)
                begin = time.perf_counter()
                count = engine.suggest(prompt, length)
                seconds = time.perf_counter() - begin
                if stats:
                    verifies += stats.verifies - before[0]
                    accepted += stats.accepted - before[1]
                if timed == "rate":
                    spent, made = spent + seconds, made + count
                else:
                    latencies.append(1000 * seconds)
                if ahead:  # the user's pause before the next keystroke
                    begin = time.perf_counter()
                    engine.look_ahead(prompt, length, config.look_ahead)
                    idle.append(1000 * (time.perf_counter() - begin))
    suggestions = len(latencies)
    return SessionResult(
        text=text,
        mode=mode,
        tokens_per_s=made / spent if spent else None,
        latency_p50_ms=float(np.percentile(latencies, 50)),
        latency_p90_ms=float(np.percentile(latencies, 90)),
        suggestions=suggestions,
        accepted_per_verify=accepted / verifies if verifies else None,
        verifies_per_suggestion=verifies / (len(passes) * suggestions) if stats else None,
        look_ahead_p50_ms=float(np.percentile(idle, 50)) if idle else None,
    )
