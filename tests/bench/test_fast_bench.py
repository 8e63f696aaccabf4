from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from litecomplete.bench.engines import LitecompleteEngine
from litecomplete.bench.fast_bench import EngineResult, FastBenchConfig, Stat, measure
from litecomplete.bench.fast_report import pair_ratios
from litecomplete.errors import ConfigError

SMALL = FastBenchConfig(prompt_lengths=(4, 16), decode_tokens=8, repetitions=2)


def test_measure_reports_every_figure(fast_models: dict[str, Path]) -> None:
    figures = measure(LitecompleteEngine(fast_models["none"], threads=2), SMALL)
    assert set(figures["prefill_tokens_per_s"]) == {4, 16}
    for stat in [*figures["prefill_tokens_per_s"].values(), figures["decode_tokens_per_s"]]:
        assert stat.median > 0 and stat.spread >= 0
    assert figures["first_token_ms"].median > 0
    assert figures["suggestion_ms"].median > 0
    assert figures["context_tokens"] == 56  # 64-token cache minus an 8-token suggestion


def test_a_cache_too_short_is_refused(fast_models: dict[str, Path]) -> None:
    engine = LitecompleteEngine(fast_models["none"], threads=1)
    with pytest.raises(ConfigError, match="needs 116 positions"):
        measure(engine, FastBenchConfig(decode_tokens=100))


def _row(engine: str, threads: int, decode: float) -> EngineResult:
    stat = Stat(decode, 0.0)
    return EngineResult(
        engine, "m", engine, threads, {16: Stat(2 * decode, 0)}, stat, stat, stat, 64, 0
    )


def test_ratios_pair_rows_by_thread_count_and_order() -> None:
    rows = [
        _row("litecomplete", 1, 10),
        _row("llama.cpp", 1, 5),
        _row("litecomplete", 2, 30),
        _row("llama.cpp", 2, 20),
    ]
    ratios = pair_ratios(rows)
    assert [(r.threads, r.decode) for r in ratios] == [(1, 2.0), (2, 1.5)]
    assert ratios[0].prefill == {16: 2.0}


@pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="the llamacpp extra is not installed"
)
def test_both_engines_agree_on_greedy_tokens(
    fast_models: dict[str, Path], tiny_lm: object, tmp_path: Path
) -> None:
    from litecomplete.bench.engines import LlamaCppEngine
    from litecomplete.models.gguf.export import write_gguf
    from litecomplete.models.registry import decoder_weights

    gguf = tmp_path / "tiny.gguf"
    write_gguf(decoder_weights(tiny_lm), tiny_lm.preprocessor.tokenizer, gguf)  # type: ignore[attr-defined]
    ours = LitecompleteEngine(fast_models["none"], threads=2)
    peer = LlamaCppEngine(gguf, threads=2, max_length=64)
    ids = ours.tokenize("The quick brown fox jumps over the lazy dog")
    assert peer.tokenize("The quick brown fox jumps over the lazy dog") == ids
    a, b = ours.feed(ids), peer.feed(ids)
    for _ in range(8):
        assert int(np.argmax(a)) == int(np.argmax(b))
        a, b = ours.step(int(np.argmax(a))), peer.step(int(np.argmax(b)))
    # A one-token extension reuses the cached prefix in both engines alike.
    a, b = ours.feed([*ids, 13]), peer.feed([*ids, 13])
    assert int(np.argmax(a)) == int(np.argmax(b))
