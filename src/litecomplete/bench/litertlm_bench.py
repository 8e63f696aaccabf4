"""LiteRT-LM's engine measured like our runtime, on a ``.litertlm`` bundle of the same weights.

LiteRT-LM generates inside its own loop, so it is driven through sessions rather than
token by token: prefill and decode rates are the engine's own benchmark info
(``BenchmarkInfo``: tokens it prefilled and decoded, and its timings); time to first
token and the typing suggestion are timed around its calls, as ours are. A session
keeps its KV cache between calls, so the typing test prefills one more token into a
session that holds the prompt, then decodes the suggestion: prefix reuse, as ours does.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from litecomplete.bench.fast_bench import DECODE_PROMPT, FastBenchConfig, Stat, bench_text


class LitertLmBench:
    name = "LiteRT-LM"

    def __init__(self, path: Path, threads: int) -> None:
        import litert_lm

        from litecomplete.inspect.litertlm_file import read_litertlm_info

        info = read_litertlm_info(path)
        self.variant = str(info.manifest.get("quantization", "unknown"))
        self.max_length = int(info.llm_metadata.get("maxNumTokens", 0))
        litert_lm.set_min_log_severity(litert_lm.LogSeverity.ERROR)
        self.engine = litert_lm.Engine(
            str(path),
            backend=litert_lm.Backend.CPU(thread_count=threads),
            enable_benchmark=True,
        )
        self._greedy = litert_lm.SamplerConfig(top_k=1, top_p=1.0, temperature=1.0, seed=0)
        self.ids = list(self.engine.tokenize(bench_text()))

    def text(self, tokens: int) -> str:
        """Text that LiteRT-LM feeds as ``tokens`` tokens, its start token included."""
        starts = 1 if self.engine.bos_token_id is not None else 0
        return str(self.engine.detokenize(self.ids[: tokens - starts]))

    def session(self, max_output_tokens: int) -> Any:
        return self.engine.create_session(
            apply_prompt_template=False,
            sampler_config=self._greedy,
            max_output_tokens=max_output_tokens,
        )


def measure_litertlm(bench: LitertLmBench, config: FastBenchConfig) -> dict[str, Any]:
    """Every measurement of ``fast_bench.measure`` (one warm-up, then ``repetitions``)."""
    runs = config.repetitions + 1
    lengths = [n for n in config.prompt_lengths if n <= bench.max_length]
    context = min(config.context_tokens, bench.max_length - config.suggestion_tokens)

    def prefill(n: int) -> float:
        session = bench.session(1)
        session.run_prefill([bench.text(n)])
        rate = float(session.get_benchmark_info().last_prefill_tokens_per_second)
        session.close()
        return rate

    def decode() -> float:
        session = bench.session(config.decode_tokens)
        session.run_prefill([bench.text(DECODE_PROMPT)])
        session.run_decode()
        rate = float(session.get_benchmark_info().last_decode_tokens_per_second)
        session.close()
        return rate

    def first_token() -> float:
        session = bench.session(1)
        start = time.perf_counter()
        session.run_prefill([bench.text(context)])
        session.run_decode()
        elapsed = time.perf_counter() - start
        session.close()
        return 1000 * elapsed

    def suggestion() -> float:
        session = bench.session(config.suggestion_tokens)
        session.run_prefill([bench.text(context)])
        typed = bench.text(context + 1)[len(bench.text(context)) :]  # one more token's text
        start = time.perf_counter()
        session.run_prefill([typed])
        session.run_decode()
        elapsed = time.perf_counter() - start
        session.close()
        return 1000 * elapsed

    def timed(measurement: Any) -> Stat:  # the first run is a warm-up
        return Stat.of([measurement() for _ in range(runs)][1:])

    return {
        "prefill_tokens_per_s": {n: timed(lambda n=n: prefill(n)) for n in lengths},
        "decode_tokens_per_s": timed(decode),
        "first_token_ms": timed(first_token),
        "suggestion_ms": timed(suggestion),
        "context_tokens": context,
    }
