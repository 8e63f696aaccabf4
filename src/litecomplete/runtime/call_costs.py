"""What each signature's calls cost on this model, here: the verify length a draft is checked by.

A verify call of T rows reads the weights once; beyond a few rows its cost grows with
the rows' compute, and how fast depends on the machine and the thread count (SmolLM2:
16 rows cost 1.4-2.1 decode steps on an Intel Xeon with AMX, 2.9-3.4 on an AMD EPYC
(4 rows 1.5 there); DEVELOPERS.md). A draft of seven tokens checked in one 16-row call
or in two 4-row calls: which is sooner is a measurement, not a rule. So the model
times its own calls (``CallCosts``, kept by ``CompiledGraphs``) and ``verify_length``
picks, for a draft, the signature that checks all of it soonest if every guess is
right (a long draft is a text seen before, whose guesses mostly are). A candidate
not timed yet, or not run for a while (so that a measurement taken in a slow moment
does not keep it out for good), is run instead, the longest such first: with no
timings at all, the shortest signature that holds the whole draft checks it.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Sequence

from litecomplete import contract as c

TIMINGS_KEPT = 9  # the latest calls of a signature its cost is the median of
TIMINGS_NEEDED = 3  # before a signature's cost is trusted
STALE_AFTER = 64  # calls (of any signature) after which an unchosen one is timed again


class CallCosts:
    """The median of each signature's latest call times (seconds); a signature's first
    call (when the runtime prepares it) is not counted."""

    def __init__(self) -> None:
        self._times: dict[str, deque[float]] = {}
        self._last_run: dict[str, int] = {}
        self.calls = 0

    def record(self, key: str, seconds: float) -> None:
        self.calls += 1
        self._times.setdefault(key, deque(maxlen=TIMINGS_KEPT)).append(seconds)
        self._last_run[key] = self.calls

    def cost(self, key: str) -> float | None:
        """The median of ``key``'s latest times; None until it has run ``TIMINGS_NEEDED``
        times or when it has not run for ``STALE_AFTER`` calls."""
        times = self._times.get(key, ())
        if len(times) < TIMINGS_NEEDED or self.calls - self._last_run[key] > STALE_AFTER:
            return None
        return statistics.median(times)


def verify_length(draft: int, fed: int, lengths: Sequence[int], costs: CallCosts) -> int:
    """The verify signature's length (rows) to check ``draft`` guessed tokens fed after
    ``fed`` tokens, among ``lengths`` (ascending, each above ``fed``, the last holding
    the whole draft).

    A call of T rows checks ``T - fed`` guesses and, where they are right, gives a
    token more than it checks; later calls feed one token and check ``T - 1``. The
    length whose calls would check the whole draft in the least measured time wins
    (its draft is cut to what it holds: the rest is drafted again from what the call
    accepts); a candidate without a cost is run so that it gets one, the longest such.
    """
    whole = next(t for t in lengths if t - fed >= draft)
    candidates = [t for t in lengths if t <= whole]
    known = {t: costs.cost(c.verify_signature(t)) for t in candidates}
    if unknown := [t for t in candidates if known[t] is None]:
        return unknown[-1]

    def seconds(t: int) -> float:
        later = draft - (t - fed)  # guesses left after the first call
        cost = known[t]
        assert cost is not None
        return cost * (1 + max(0, math.ceil(later / t)))

    return min(reversed(candidates), key=seconds)  # among equal times, the longest
