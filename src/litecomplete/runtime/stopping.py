"""Stop strings that may span several tokens, for streamed text."""

from __future__ import annotations

from collections.abc import Sequence


class StopMatcher:
    """Feeds text pieces; releases only text that cannot be the start of a stop string."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self._pending = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        """Text safe to show after ``piece``; sets ``stopped`` at a stop string."""
        if self.stopped:
            return ""
        text = self._pending + piece
        hits = [i for i in (text.find(s) for s in self.stops) if i >= 0]
        if hits:
            self.stopped = True
            self._pending = ""
            return text[: min(hits)]
        # Hold back the longest tail that is a proper prefix of some stop string.
        hold = 0
        for stop in self.stops:
            for n in range(min(len(stop) - 1, len(text)), hold, -1):
                if text.endswith(stop[:n]):
                    hold = n
                    break
        self._pending = text[len(text) - hold :]
        return text[: len(text) - hold]

    def flush(self) -> str:
        """Held-back text, released when generation ends without a stop string."""
        text, self._pending = self._pending, ""
        return "" if self.stopped else text
