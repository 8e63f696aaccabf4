"""Speculative decoding: draft tokens cheaply, check them with the model in one call.

A decode step reads every weight to produce one token; a ``verify_<T>`` signature
reads them once for T tokens and returns every row's logits. A drafter guesses the
tokens that follow; the model runs the last sampled token and the guesses in one
call, and the generation loop samples each next token from the row after the
previous one, exactly as decode would have given it, moving to the next row while
the sampled token is the guess. The first token that differs ends the chunk: its
row's logits were the model's own, so nothing is lost but the call's extra cost.

Drafts are deterministic (one token per position), so "accept when the sample equals
the guess" is the speculative-sampling rule with a one-hot draft distribution:
accepted with probability p(guess), otherwise drawn from p without the guess. Every
token is still drawn once, in order, from the model's own distribution with the
sampler's random generator: with a seed, speculation changes nothing in the output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from litecomplete.choices import Choice
from litecomplete.errors import ConfigError

# The shortest n-gram a lookup draft must match (auto): single-token matches were
# right too rarely to pay for a verify call on prose (``DEVELOPERS.md``).
AUTO_MIN_NGRAM = 2
LOOKUP_MIN_NGRAM = 1
# A match this long (tokens) is a text seen before going on: drafted at the long length.
LONG_MATCH = 16
RECENT_SEQUENCES = 4  # earlier prompts with their completions that drafts may come from


class SpeculationMode(Choice):
    """How a fast-format model drafts tokens to verify."""

    __choice__ = "speculative mode"
    AUTO = "auto"  # lookup drafts where the file has verify signatures, matches of 2+ tokens
    OFF = "off"  # one decode step per token
    LOOKUP = "lookup"  # drafts from any matching n-gram, single tokens included
    DRAFT = "draft"  # a second, smaller fast-format model of the same tokenizer drafts

    @property
    def spelled(self) -> str:
        return "draft:FILE.tflite" if self is SpeculationMode.DRAFT else str(self.value)


@dataclass(frozen=True)
class Speculation:
    """``--speculative``: a mode, and for ``draft`` the draft model's file."""

    mode: SpeculationMode = SpeculationMode.AUTO
    draft: Path | None = None

    def __post_init__(self) -> None:
        if (self.mode is SpeculationMode.DRAFT) != (self.draft is not None):
            raise ConfigError("a draft model file goes with --speculative draft:FILE only")

    @classmethod
    def parse(cls, text: str) -> Speculation:
        """``auto``, ``off``, ``lookup`` or ``draft:FILE``; ConfigError naming the value."""
        name, _, rest = text.partition(":")
        mode = SpeculationMode.parse(name)
        if mode is SpeculationMode.DRAFT:
            if not rest.strip():
                raise ConfigError("--speculative draft needs a file: draft:FILE.tflite")
            return cls(mode, Path(rest.strip()).expanduser())
        if rest:
            raise ConfigError(f"--speculative {name} takes no file, got {text!r}")
        return cls(mode)


@dataclass
class SpeculationStats:
    """Counts over a model's lifetime: verify calls, tokens drafted, drafts accepted."""

    verifies: int = 0
    drafted: int = 0
    accepted: int = 0


class Drafter(Protocol):
    def propose(self, history: Sequence[int], short: int, long: int) -> list[int]:
        """Guesses for the tokens after ``history``: at most ``long`` where the guess
        repeats an earlier sequence, ``short`` where it is a phrase of the context."""
        ...


class LookupDrafter:
    """Prompt-lookup drafts: what followed the most recent earlier occurrence of the
    text's last tokens, in recent prompts with their completions or in the text itself.

    Where the match runs back ``LONG_MATCH`` tokens or more (or over the whole of a
    shorter history), the text is one seen before going on (a user typing what was
    suggested, a passage pasted twice): its next tokens are drafted at the long
    length. A shorter match is a phrase that recurs, which goes on as before less
    often: drafted at the short length.
    """

    def __init__(self, recent: Sequence[Sequence[int]], min_ngram: int) -> None:
        self.recent = recent
        self.min_ngram = min_ngram

    def propose(self, history: Sequence[int], short: int, long: int) -> list[int]:
        best: tuple[int, list[int]] = (0, [])
        for sequence in [*reversed(self.recent), history]:  # newest first
            matched, following = _follow(sequence, history, long)
            if matched > best[0]:
                best = (matched, following)
            if matched >= LONG_MATCH:
                break
        matched, following = best
        if matched < self.min_ngram:
            return []
        return following[: long if _seen_before(matched, history) else short]


def _seen_before(matched: int, history: Sequence[int]) -> bool:
    """Whether a match of ``matched`` tokens makes ``history`` a text seen before: one
    of ``LONG_MATCH`` tokens, or the whole of a shorter history."""
    return matched >= LONG_MATCH or matched == len(history)


def goes_on(sequence: Sequence[int], history: Sequence[int]) -> bool:
    """Whether ``sequence`` goes on from ``history`` as a text seen before (drafted long)."""
    return _seen_before(_follow(sequence, history, 1)[0], history)


def _follow(sequence: Sequence[int], history: Sequence[int], limit: int) -> tuple[int, list[int]]:
    """The longest match (up to ``LONG_MATCH`` tokens) of the end of ``history`` in
    ``sequence``, latest first among equals, followed by at least one token: its length
    and up to ``limit`` tokens after it; (0, []) if the last token occurs nowhere.

    The match's last token sits before ``sequence``'s end, so the end of ``history``
    never matches itself.
    """
    if limit < 1 or not history:
        return 0, []
    last = history[-1]
    best, best_at = 0, -1
    for i in range(len(sequence) - 2, -1, -1):
        if sequence[i] != last:
            continue
        n = 1
        while n < LONG_MATCH and n <= i and n < len(history) and sequence[i - n] == history[-1 - n]:
            n += 1
        if n > best:
            best, best_at = n, i
            if n == LONG_MATCH:
                break
    if best == 0:
        return 0, []
    return best, list(sequence[best_at + 1 : best_at + 1 + limit])


class TokenModel(Protocol):
    """What a draft model offers: a cache fed with a sequence, then one token at a time."""

    max_length: int

    def feed(self, ids: list[int]) -> np.ndarray: ...

    def step(self, token: int) -> np.ndarray: ...


class ModelDrafter:
    """Drafts from a second fast-format model: its greedy tokens after the history.

    It keeps its own KV cache, reusing the prefix it shares with the last call.
    """

    def __init__(self, model: TokenModel) -> None:
        self.model = model

    def propose(self, history: Sequence[int], short: int, long: int) -> list[int]:
        limit = min(short, self.model.max_length - len(history))
        if limit < 1:
            return []
        logits = self.model.feed(list(history))
        draft: list[int] = []
        while True:
            draft.append(int(logits.argmax()))
            if len(draft) >= limit:
                return draft
            logits = self.model.step(draft[-1])
