"""The model side of the ghost text: each key's text straight into the suggester.

    python scripts/ghost_model_latency.py [--model FILE.tflite] [--delay-ms 150] [--no-heal]

Types `ghost_latency.py`'s sentences a character at a time into the server's
suggester (the default model unless --model names a fast-format file; greedy, 6
tokens, stopping at a line end, healed as the page asks unless --no-heal), a pause of
--delay-ms before each key, and prints the milliseconds from the request to its first
visible piece, p50 / p90, and the model calls those requests made. No server, no
browser: what is left of `ghost_latency.py`'s figures is HTTP and the page.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ghost_latency import SENTENCES  # noqa: E402
from load_test import percentile  # noqa: E402


def _count_calls(model: Any) -> Counter[str]:
    """Counts every graph call ``model`` makes from now on."""
    calls: Counter[str] = Counter()
    graphs = model._graphs
    for name in ("run", "run_rows", "fill"):
        original = getattr(graphs, name)

        def counted(key: str, *args: Any, _original: Any = original) -> Any:
            calls[key] += 1
            return _original(key, *args)

        setattr(graphs, name, counted)
    return calls


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="a fast-format file (default: the default model)")
    p.add_argument("--delay-ms", type=float, default=150.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-heal", action="store_true", help="feed each text whole")
    args = p.parse_args()
    from litecomplete.app.suggester import Suggester, SuggestRequest
    from litecomplete.default_model import ensure_default_model
    from litecomplete.runtime import FastModel, GenerationConfig
    from litecomplete.safety import default_filter

    path = Path(args.model) if args.model else ensure_default_model()
    model = FastModel.load(path, num_threads=args.threads)
    suggester = Suggester(model, default_filter())
    config = GenerationConfig(max_new_tokens=6, stop=("\n",), heal=not args.no_heal)
    calls = _count_calls(model)
    ms = []
    for sentence in SENTENCES:
        for end in range(1, len(sentence) + 1):
            if not sentence[:end].strip():
                continue
            time.sleep(args.delay_ms / 1000)
            begin = time.perf_counter()
            for delta in suggester.stream(SuggestRequest(sentence[:end], config)):
                if delta.text.strip() or delta.finish_reason is not None:
                    break
            ms.append(1000 * (time.perf_counter() - begin))
    print(f"model {path.name}, {args.threads} threads, healing {'off' if args.no_heal else 'on'}")
    print(
        f"requests {len(ms)} ({args.delay_ms:.0f} ms apart): first piece ms "
        f"p50 {statistics.median(ms):.1f}  p90 {percentile(ms, 0.9):.1f}  max {max(ms):.1f}"
    )
    print("model calls:", ", ".join(f"{key} {n}" for key, n in sorted(calls.items())))


if __name__ == "__main__":
    main()
