"""What a file's fill signature saves: one prompt fed cold through it and without it.

    python scripts/fill_gain.py gemma3-fast-int4.tflite --threads 2

The prompt (the packaged evaluation text's first --tokens tokens) goes in once with the
chunks before its last through ``fill_<T>``, once through ``prefill_<T>`` alone, the
two alternated --repetitions times; the script prints each way's median and fastest
time and the largest difference between their logits. Not a test: the figures depend
on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from litecomplete.eval.text import default_eval_text
from litecomplete.runtime import FastModel


def timed_feed(model: FastModel, ids: list[int], fills: dict[int, str]) -> tuple[float, np.ndarray]:
    """Milliseconds to feed ``ids`` cold with ``fills`` as the file's fill signatures."""
    model._fill_signatures = fills
    model.reset()
    start = time.perf_counter()
    logits = model.feed(ids)
    return (time.perf_counter() - start) * 1000, logits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a fast-format file with fill signatures")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repetitions", type=int, default=15)
    args = parser.parse_args()
    model = FastModel.load(args.model, num_threads=args.threads)
    fills = dict(model._fill_signatures)
    if not fills:
        parser.error(f"{args.model} has no fill signature")
    start = [] if model.start_token_id is None else [model.start_token_id]
    ids = [*start, *model.encode(default_eval_text())][: args.tokens]
    ways = {"with fills": fills, "without": {}}
    for chosen in ways.values():  # each signature's first run prepares it
        timed_feed(model, ids, chosen)
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repetitions):
        for name, chosen in ways.items():
            times[name].append(timed_feed(model, ids, chosen)[0])
    for name, values in times.items():
        print(f"{name}: median {statistics.median(values):.1f} ms, fastest {min(values):.1f}")
    difference = np.abs(timed_feed(model, ids, fills)[1] - timed_feed(model, ids, {})[1]).max()
    print(f"{len(ids)} tokens; largest logit difference: {float(difference)}")


if __name__ == "__main__":
    main()
