"""llama-bench style measurements of the fast runtime, and of llama.cpp on the same weights.

Each engine runs in its own process (``python -m litecomplete.bench.worker``),
so warm-up, caches and peak RSS belong to one engine at a time. Every figure
is the median over repetitions, with the spread (half the range) beside it.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from litecomplete.bench.app_bench import machine_fields
from litecomplete.bench.sessions import SessionResult, measure_sessions, session_modes
from litecomplete.errors import BenchmarkError, ConfigError, require_at_least
from litecomplete.resources import peak_rss_bytes, rss_bytes
from litecomplete.supervise import json_from_child

DECODE_PROMPT = 16  # tokens fed before the decode rate is timed


@dataclass(frozen=True)
class FastBenchConfig:
    """What to measure.

    Attributes:
        threads: interpreter threads for every engine.
        prompt_lengths: prompt sizes (tokens) whose cold prefill is timed; sizes
            beyond the model's max length are left out.
        decode_tokens: tokens generated one by one for the decode rate.
        context_tokens: prompt size for time to first token and the typing test.
        suggestion_tokens: tokens in a suggestion (typing test).
        repetitions: timed runs of each measurement, after one warm-up.
        sessions: typing sessions per text (0: none): from evenly spaced places of
            the packaged evaluation text and of a code file, a user types
            ``typed_tokens`` tokens of the text one at a time and gets a greedy
            suggestion after each (``session_context`` tokens of context).
        look_ahead: with sessions, ours also with look-ahead: between keystrokes the
            suggestions of this many likeliest other next tokens (0: not run).
    """

    threads: int = 2
    prompt_lengths: tuple[int, ...] = (16, 64, 128)
    decode_tokens: int = 64
    context_tokens: int = 64
    suggestion_tokens: int = 8
    repetitions: int = 5
    sessions: int = 0
    typed_tokens: int = 8
    session_context: int = 128
    session_suggestion_tokens: int = 16
    look_ahead: int = 3

    def __post_init__(self) -> None:
        require_at_least("--threads", self.threads, 1)
        require_at_least("--repetitions", self.repetitions, 1)
        require_at_least("--sessions", self.sessions, 0)
        require_at_least("--look-ahead", self.look_ahead, 0)
        if not self.prompt_lengths or min(self.prompt_lengths) < 1:
            raise ConfigError(f"prompt lengths must be positive, got {self.prompt_lengths}")


@dataclass(frozen=True)
class Stat:
    median: float
    spread: float  # half the range

    @classmethod
    def of(cls, values: list[float]) -> Stat:
        return cls(statistics.median(values), (max(values) - min(values)) / 2)


@dataclass(frozen=True)
class EngineResult:
    engine: str
    model: str
    variant: str
    threads: int
    prefill_tokens_per_s: dict[int, Stat]
    decode_tokens_per_s: Stat
    first_token_ms: Stat  # cold prompt of context_tokens, then one token
    suggestion_ms: Stat  # one typed token on a cached prompt, then a whole suggestion
    context_tokens: int  # prompt size of first_token_ms and suggestion_ms
    peak_rss_bytes: int
    machine: dict[str, Any] = field(default_factory=dict)
    load_s: float = 0.0  # the engine's load, as a user's next run does it
    cold_load_s: float | None = None  # ours with no packed-weights cache yet
    rss_after_load_bytes: int = 0
    sessions: list[SessionResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["prefill_tokens_per_s"] = {
            str(k): asdict(v) for k, v in self.prefill_tokens_per_s.items()
        }
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EngineResult:
        return cls(
            engine=d["engine"],
            model=d["model"],
            variant=d["variant"],
            threads=d["threads"],
            prefill_tokens_per_s={
                int(k): Stat(**v)
                for k, v in sorted(d["prefill_tokens_per_s"].items(), key=lambda kv: int(kv[0]))
            },
            decode_tokens_per_s=Stat(**d["decode_tokens_per_s"]),
            first_token_ms=Stat(**d["first_token_ms"]),
            suggestion_ms=Stat(**d["suggestion_ms"]),
            context_tokens=d["context_tokens"],
            peak_rss_bytes=d["peak_rss_bytes"],
            machine=d.get("machine", {}),
            load_s=d.get("load_s", 0.0),
            cold_load_s=d.get("cold_load_s"),
            rss_after_load_bytes=d.get("rss_after_load_bytes", 0),
            sessions=[SessionResult(**x) for x in d.get("sessions", [])],
        )


def bench_text() -> str:
    """Real English text for prompts (the calibration passages)."""
    text = resources.files("litecomplete").joinpath("data/calibration.txt").read_text("utf-8")
    return " ".join(line for line in text.splitlines() if not line.startswith("#"))


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(engine: Any, config: FastBenchConfig) -> dict[str, Any]:
    """Run every measurement on ``engine`` (one warm-up, then ``repetitions``)."""
    ids = engine.tokenize(bench_text())
    lengths = [n for n in config.prompt_lengths if n <= engine.max_length]
    # The typing test's prompt shrinks to fit a short cache.
    context = min(config.context_tokens, engine.max_length - config.suggestion_tokens)
    needed = DECODE_PROMPT + config.decode_tokens
    if not lengths or needed > engine.max_length or context < 1:
        raise ConfigError(
            f"the benchmark needs {needed} positions and prompts of {config.prompt_lengths} "
            f"tokens; the model holds {engine.max_length}"
        )
    runs = config.repetitions + 1  # the first run of each measurement is a warm-up

    def prefill(n: int) -> float:
        engine.reset()
        return n / _timed(lambda: engine.feed(ids[:n]))

    prefill_rates = {n: [prefill(n) for _ in range(runs)][1:] for n in lengths}

    def decode() -> float:
        engine.reset()
        logits = engine.feed(ids[:DECODE_PROMPT])

        def loop() -> None:
            nonlocal logits
            for _ in range(config.decode_tokens):
                logits = engine.step(int(np.argmax(logits)))

        return config.decode_tokens / _timed(loop)

    decode_rates = [decode() for _ in range(runs)][1:]

    def first_token() -> float:
        engine.reset()
        return 1000 * _timed(lambda: int(np.argmax(engine.feed(ids[:context]))))

    first_ms = [first_token() for _ in range(runs)][1:]

    def suggestion() -> float:
        engine.reset()
        engine.feed(ids[:context])

        def typed() -> None:  # one more token typed, then a whole suggestion
            logits = engine.feed(ids[: context + 1])
            for _ in range(config.suggestion_tokens - 1):
                logits = engine.step(int(np.argmax(logits)))

        return 1000 * _timed(typed)

    suggestion_ms = [suggestion() for _ in range(runs)][1:]
    return {
        "prefill_tokens_per_s": {n: Stat.of(v) for n, v in prefill_rates.items()},
        "decode_tokens_per_s": Stat.of(decode_rates),
        "first_token_ms": Stat.of(first_ms),
        "suggestion_ms": Stat.of(suggestion_ms),
        "context_tokens": context,
    }


# The module each engine kind imports (ours: the runtime).
ENGINE_MODULES = {"litertlm": "litert_lm", "llama.cpp": "llama_cpp"}


def bench_engine(kind: str, model: Path, config: FastBenchConfig, max_length: int) -> EngineResult:
    """Measure one engine in this process (the worker calls this)."""
    from litecomplete.bench.engines import LitecompleteEngine, LlamaCppEngine

    engine: Any
    cold_load_s = None
    # An engine's Python imports are not its load time.
    with contextlib.suppress(ImportError):  # a missing engine says so when it loads
        importlib.import_module(ENGINE_MODULES.get(kind, "litecomplete.runtime.fast_model"))
    with tempfile.TemporaryDirectory(prefix="litecomplete-bench-") as cache_dir:
        if kind == "litertlm":
            from litecomplete.bench.litertlm_bench import LitertLmBench, measure_litertlm

            start = time.perf_counter()
            engine = LitertLmBench(model, config.threads)
        elif kind == "litecomplete":
            # The first load packs the weights into an empty cache directory; the
            # measured one maps that file, as every later run of a user's does.
            start = time.perf_counter()
            cold = LitecompleteEngine(model, config.threads, Path(cache_dir))
            cold_load_s = time.perf_counter() - start
            del cold
            start = time.perf_counter()
            engine = LitecompleteEngine(model, config.threads, Path(cache_dir))
        else:
            start = time.perf_counter()
            engine = LlamaCppEngine(model, config.threads, max_length)
        load_s = time.perf_counter() - start
        rss_after_load = rss_bytes()
        if kind == "litertlm":
            figures = measure_litertlm(engine, config)
        else:
            figures = measure(engine, config)
            if config.sessions:
                modes = session_modes(engine, config)
                figures["sessions"] = measure_sessions(engine, config, modes)
    return EngineResult(
        engine=engine.name,
        model=str(model),
        variant=engine.variant,
        threads=config.threads,
        peak_rss_bytes=peak_rss_bytes(),
        machine=machine_fields(),
        load_s=load_s,
        cold_load_s=cold_load_s,
        rss_after_load_bytes=rss_after_load,
        **figures,
    )


def bench_in_subprocess(
    kind: str, model: Path, config: FastBenchConfig, max_length: int
) -> EngineResult:
    """``bench_engine`` in a fresh Python process; its result comes back as JSON."""
    request = json.dumps(
        {"kind": kind, "model": str(model), "config": asdict(config), "max_length": max_length}
    )
    what = f"the {kind} benchmark of {model}"
    argv = ["-m", "litecomplete.bench.worker"]
    return EngineResult.from_dict(json_from_child(argv, what, BenchmarkError, request))
