"""One engine's benchmark in its own process: JSON request on stdin, result on stdout."""

from __future__ import annotations

import json
import sys

from litecomplete.bench.fast_bench import FastBenchConfig, bench_engine
from litecomplete.errors import LitecompleteError


def main() -> int:
    from pathlib import Path

    request = json.loads(sys.stdin.read())
    cfg = request["config"]
    config = FastBenchConfig(**{**cfg, "prompt_lengths": tuple(cfg["prompt_lengths"])})
    try:
        result = bench_engine(
            request["kind"], Path(request["model"]), config, request["max_length"]
        )
    except LitecompleteError as e:
        print(str(e), file=sys.stderr)
        return 2
    print(json.dumps(result.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
