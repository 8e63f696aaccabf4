"""Logits kept after the newest sequences a fast-format model fed or generated, while
its cache slots still hold those tokens: a prompt already in the cache runs no call.

Validity is checked against the tokens the slots hold (every call records what it
writes from where, forgetting what follows, which a call's padding may overwrite),
not against the model's ``cached`` list, which generation truncates while the slots
still hold the tokens after it.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

# Sequences kept (each a vocabulary of logits: 196 KB for SmolLM2): a suggestion of 8
# tokens after a keystroke it predicted needs all of them.
KEPT = 8


class KeptLogits:
    """The logits after the newest ``size`` sequences, and what the slots hold."""

    def __init__(self, size: int = KEPT) -> None:
        self.size = size
        self._written: list[int] = []  # the token in each slot, -1 where unknown
        self._logits: OrderedDict[tuple[int, ...], np.ndarray] = OrderedDict()

    def wrote(self, tokens: list[int], pos: int) -> None:
        """A call puts ``tokens`` into the slots from ``pos`` (what follows: unknown)."""
        known = self._written[:pos]
        self._written = [*known, *[-1] * (pos - len(known)), *tokens]

    def remember(self, ids: list[int], logits: np.ndarray) -> None:
        """``logits`` follow ``ids``, which the slots now hold."""
        key = tuple(ids)
        # A row of a verify call's array is a view: kept alone, not with its array
        # (16 rows of Gemma 3's vocabulary are 17 MB).
        self._logits[key] = logits.copy() if logits.base is not None else logits
        self._logits.move_to_end(key)
        while len(self._logits) > self.size:
            self._logits.popitem(last=False)

    def get(self, ids: list[int]) -> np.ndarray | None:
        """The logits after ``ids`` if they were computed and the slots still hold
        ``ids``: no call needed to feed them again."""
        logits = self._logits.get(tuple(ids))
        if logits is None or self._written[: len(ids)] != ids:
            return None
        return logits

    def rows(self) -> list[np.ndarray]:
        """The logits kept, oldest first."""
        return list(self._logits.values())

    def clear(self) -> None:
        self._written = []
        self._logits.clear()
