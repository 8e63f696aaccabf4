from __future__ import annotations

from pathlib import Path

import pytest

from litecomplete.bench.app_bench import AppBenchConfig, bench_app_model
from litecomplete.errors import ConfigError


def test_bench_reports_times_tokens_and_memory(app_models: dict[str, Path]) -> None:
    result = bench_app_model(app_models["dynamic"], AppBenchConfig(repetitions=2, warmup=0))
    assert len(result.wall_s) == 2 and all(t > 0 for t in result.wall_s)
    assert min(result.wall_s) <= result.median_s <= max(result.wall_s)
    assert result.new_tokens is not None and result.new_tokens > 0
    assert result.tokens_per_s == pytest.approx(result.new_tokens / result.median_s)
    assert result.peak_rss_bytes > 0
    assert result.machine["cores"] and result.machine["tensorflow"]


def test_bench_config_is_validated() -> None:
    with pytest.raises(ConfigError, match="repetitions"):
        AppBenchConfig(repetitions=0)
