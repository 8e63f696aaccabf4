"""How a run of tokens is cut into the chunks a file's signatures feed."""

from __future__ import annotations

from functools import cache

# What one extra invoke costs, in padded token positions, when planning chunks.
INVOKE_COST_TOKENS = 8


@cache
def plan_chunks(n: int, buckets: tuple[int, ...]) -> list[int]:
    """Bucket sizes to feed ``n`` tokens with, wasting the fewest padded positions.

    128 tokens with buckets (16, 64, 256) go in as 64 + 64, not padded to 256.
    The last chunk may be partly filled.
    """
    best: list[tuple[int, list[int]]] = [(0, [])]  # best[m]: (cost, chunks) for m tokens
    for m in range(1, n + 1):
        options = []
        for b in buckets:
            cost, chunks = best[max(0, m - b)]
            options.append((cost + b + INVOKE_COST_TOKENS, [*chunks, b]))
        best.append(min(options, key=lambda o: (o[0], len(o[1]))))
    # Fill full chunks first: best[] builds from the end, so reverse to put the
    # partial chunk last.
    return sorted(best[n][1], reverse=True) if n else []
