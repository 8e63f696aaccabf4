"""How a run of tokens is cut into the chunks a file's signatures feed."""

from __future__ import annotations

from functools import cache

# What one extra invoke costs, in padded token positions, when planning chunks.
INVOKE_COST_TOKENS = 8


@cache
def plan_chunks(
    n: int,
    lengths: tuple[int, ...],
    every_row: frozenset[int] = frozenset(),
    output_cost: float = 0.0,
) -> list[int]:
    """Chunk lengths to feed ``n`` tokens with, at the least cost.

    A chunk of length L costs L token positions (padding included), an invoke
    (``INVOKE_COST_TOKENS``) and ``output_cost`` per row of logits it returns: one, or
    L for the lengths in ``every_row`` (verify signatures). 128 tokens with lengths
    (16, 64, 256) go in as 64 + 64, not padded to 256. The last chunk may be partly
    filled.
    """

    def cost(length: int) -> float:
        rows = length if length in every_row else 1
        return length + INVOKE_COST_TOKENS + rows * output_cost

    best: list[tuple[float, list[int]]] = [(0.0, [])]  # best[m]: (cost, chunks) for m tokens
    for m in range(1, n + 1):
        options = []
        for length in lengths:
            spent, chunks = best[max(0, m - length)]
            options.append((spent + cost(length), [*chunks, length]))
        best.append(min(options, key=lambda o: (o[0], len(o[1]))))
    # Fill full chunks first: best[] builds from the end, so reverse to put the
    # partial chunk last.
    return sorted(best[n][1], reverse=True) if n else []
