"""Benchmark an app-format model: wall time of one whole completion.

The seed reports 6.7 s for a 100-token completion of GPT-2 (dynamic int8) on a
Pixel 7. The app graph returns text, so new tokens are counted by encoding the
completion again with GPT-2's tokenizer (exact up to BPE re-merging).
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from litecomplete.errors import require_at_least
from litecomplete.models.gpt2.vocab import VOCABULARY_SIZE
from litecomplete.resources import peak_rss_bytes
from litecomplete.runtime.app_model import AppModel
from litecomplete.runtime.tokenizer import count_gpt2_tokens


@dataclass(frozen=True)
class AppBenchConfig:
    prompt: str = "I'm enjoying a"
    repetitions: int = 5
    warmup: int = 1
    num_threads: int | None = None

    def __post_init__(self) -> None:
        require_at_least("--repetitions", self.repetitions, 1)
        require_at_least("--warmup", self.warmup, 0)


@dataclass(frozen=True)
class AppBenchResult:
    model: str
    size_bytes: int
    quantization: str
    max_length: int | None
    threads: int | None
    load_s: float
    wall_s: list[float]
    new_tokens: int | None
    peak_rss_bytes: int
    machine: dict[str, Any]

    @property
    def median_s(self) -> float:
        return statistics.median(self.wall_s)

    @property
    def spread_s(self) -> float:
        """Half the range of wall times: median +- spread covers every run."""
        return (max(self.wall_s) - min(self.wall_s)) / 2

    @property
    def tokens_per_s(self) -> float | None:
        return self.new_tokens / self.median_s if self.new_tokens else None

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "median_s": self.median_s,
            "spread_s": self.spread_s,
            "tokens_per_s": self.tokens_per_s,
        }


def machine_fields() -> dict[str, Any]:
    """Machine and version fields printed with every benchmark."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu
            )
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for package in ("litecomplete", "tensorflow", "ai-edge-litert"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), **versions}


def bench_app_model(path: Path, config: AppBenchConfig) -> AppBenchResult:
    """Time ``config.repetitions`` completions of ``config.prompt`` after warm-up runs."""
    start = time.perf_counter()
    model = AppModel.load(path, num_threads=config.num_threads)
    load_s = time.perf_counter() - start
    for _ in range(config.warmup):
        model.complete(config.prompt)
    wall_s = []
    completion = ""
    for _ in range(config.repetitions):
        start = time.perf_counter()
        completion = model.complete(config.prompt)
        wall_s.append(time.perf_counter() - start)
    manifest = model.info.manifest
    gpt2_vocab = manifest.get("vocabulary_size") == VOCABULARY_SIZE
    return AppBenchResult(
        model=str(path),
        size_bytes=model.info.size_bytes,
        quantization=model.info.quantization,
        max_length=manifest.get("max_length"),
        threads=config.num_threads,
        load_s=load_s,
        wall_s=wall_s,
        new_tokens=count_gpt2_tokens(completion) if gpt2_vocab else None,
        peak_rss_bytes=peak_rss_bytes(),
        machine=machine_fields(),
    )
