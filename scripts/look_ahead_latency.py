"""An 8-token suggestion after a typed token that look-ahead covered, against plain decoding.

    python scripts/look_ahead_latency.py

The default model at 2 threads, 19 places of the packaged prose (128 tokens of
context each): a suggestion, look-ahead of 3, then for each of the two likeliest next
tokens a suggestion after it with drafts (`covered`) and with speculation off
(`off`); also one decode step and a verify call of 4 and of 16 rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from litecomplete import contract as c
from litecomplete.bench.sessions import session_texts
from litecomplete.default_model import default_model_path
from litecomplete.runtime import GenerationConfig
from litecomplete.runtime.fast_model import FastModel
from litecomplete.runtime.speculative import Speculation


def ms(fn: Callable[..., object], *args: object) -> float:
    """Milliseconds ``fn(*args)`` took."""
    start = time.perf_counter()
    fn(*args)
    return 1000 * (time.perf_counter() - start)


def main() -> None:
    model = FastModel.load(default_model_path())
    ids = model.encode(session_texts()["prose"])
    auto = GenerationConfig(max_new_tokens=8, stop_at_end_token=False)
    off = GenerationConfig(
        max_new_tokens=8, stop_at_end_token=False, speculation=Speculation.parse("off")
    )
    times: dict[str, list[float]] = {"off": [], "covered": [], "look-ahead": []}
    for start in range(200, 3000, 150):
        context = ids[start - 128 : start]
        model.reset()
        model.complete_ids(context, auto)
        times["look-ahead"].append(ms(model.look_ahead, context, 3, auto))
        for token in np.argsort(-model.feed(context))[:2]:
            typed = [*context, int(token)]
            model.complete_ids(context, auto)
            times["covered"].append(ms(model.complete_ids, typed, auto))
            model.complete_ids(context, off)
            times["off"].append(ms(model.complete_ids, typed, off))
    for name, values in times.items():
        print(
            f"{name} {len(values)}: p50 {np.median(values):.1f} ms, p90 "
            f"{np.percentile(values, 90):.1f}"
        )
    steps = [ms(model._run_decode, 5, 100) for _ in range(50)]
    print(f"decode step at position 100: mean {np.mean(steps):.1f} ms")
    for rows in model.verify_lengths:
        key = c.verify_signature(rows)
        calls = [ms(model._graphs.run_rows, key, [5] * rows, 100) for _ in range(20)]
        print(f"verify {rows} rows: mean {np.mean(calls):.1f} ms")


if __name__ == "__main__":
    main()
