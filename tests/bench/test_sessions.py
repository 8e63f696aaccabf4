"""Typing sessions: each way of decoding measured on the same keystrokes, and reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from litecomplete.bench.engines import LitecompleteEngine
from litecomplete.bench.fast_bench import EngineResult, FastBenchConfig, Stat
from litecomplete.errors import ConfigError


def test_typing_sessions_report_speculation_beside_plain_decoding(
    fast_models: dict[str, Path],
) -> None:
    from litecomplete.bench.app_bench import machine_fields
    from litecomplete.bench.fast_report import format_fast_report
    from litecomplete.bench.sessions import measure_sessions, session_modes

    config = FastBenchConfig(
        sessions=2, typed_tokens=3, session_context=16, session_suggestion_tokens=8
    )
    engine = LitecompleteEngine(fast_models["none"], threads=2)
    modes = session_modes(engine, config)
    assert modes == ["off", "auto", "auto+look-ahead"]
    results = measure_sessions(engine, config, modes)
    assert [(r.text, r.mode) for r in results] == [
        (text, mode) for text in ("prose", "code") for mode in modes
    ]
    for r in results:
        assert r.suggestions == 2 * 3
        assert 0 < r.latency_p50_ms <= r.latency_p90_ms
        assert (r.verifies_per_suggestion == 0) == (r.mode == "off")
        ahead = r.mode.endswith("look-ahead")
        # Look-ahead is timed apart, and has no rate of its own (its work moves).
        assert (r.tokens_per_s is None) == ahead
        assert (r.look_ahead_p50_ms is not None and r.look_ahead_p50_ms > 0) == ahead
    assert any(r.accepted_per_verify for r in results if r.mode == "auto")
    stat = Stat(1.0, 0.0)
    row = EngineResult(
        "litecomplete",
        "m",
        "none",
        2,
        {16: stat},
        stat,
        stat,
        stat,
        16,
        0,
        machine=machine_fields(),
        sessions=results,
    )
    report = format_fast_report([row], [], {})
    assert "| litecomplete | none | 2 | code | auto |" in report
    assert "2 thread(s), prose typing: speculative" in report
    assert "with look-ahead p50" in report


def test_session_modes_follow_the_engine_and_the_look_ahead_setting() -> None:
    from litecomplete.bench.sessions import session_modes

    class Peer:  # llama.cpp's engine: no speculation to set
        pass

    class Ours:
        speculation = None

    assert session_modes(Peer(), FastBenchConfig()) == ["plain"]
    assert session_modes(Ours(), FastBenchConfig(look_ahead=0)) == ["off", "auto"]
    with pytest.raises(ConfigError, match="--look-ahead"):
        FastBenchConfig(look_ahead=-1)
