"""Look-ahead: the next keystroke's suggestions, made while the user is still typing.

A suggestion after a typed token is one verify call when drafts cover it
(``runtime.speculative``), and drafts cover it when the token typed was the one
suggested: the previous suggestion goes on. Otherwise it takes a decode step per
token. Between keystrokes the model is idle; ``look_ahead`` spends that time on the
likeliest other tokens the user may type next, each with its greedy suggestion, and
keeps them as lookup drafts (``FastModel.branches``). When the user types one of
them, its suggestion is checked in one call, as for the one suggested.

Drafts never change what is generated (each token is still sampled from the model's
own logits after exactly the tokens before it), so a branch that goes unused, or a
user who types before it is made, costs only the idle time it took. A caller running
it beside the user's typing passes ``stop`` (asked between model calls): a key then
waits for one model call at most, and the branches made so far stay drafts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from litecomplete.errors import PromptError, require_at_least
from litecomplete.runtime.generation import GenerationConfig
from litecomplete.runtime.sampling import SamplingConfig
from litecomplete.runtime.speculative import LONG_MATCH, SpeculationMode, goes_on

if TYPE_CHECKING:
    from litecomplete.runtime.fast_model import FastModel

# Branches kept as drafts: a few keystrokes' worth of alternatives.
BRANCHES = 16


def look_ahead(
    model: FastModel,
    ids: list[int],
    alternatives: int,
    config: GenerationConfig,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Suggestions ready for the ``alternatives + 1`` likeliest tokens after ``ids``:
    each that no draft covers yet (the one just suggested usually is) gets its
    suggestion now, kept as a draft; how many were begun (calling again makes none).

    ``config`` is the suggestions' (their length, speculation); the branches are
    greedy whatever it samples. Nothing is made where drafts are not used (speculation
    off, a file without verify signatures) or the cache has no room for a branch.
    ``stop``, asked between model calls, ends the work when it returns True; a branch
    cut short is kept as far as it got (its tokens are the model's greedy ones).
    """
    require_at_least("alternatives", alternatives, 1)
    if not ids or len(ids) >= model.max_length:
        raise PromptError(f"look_ahead() takes 1 to {model.max_length - 1} tokens, got {len(ids)}")
    if config.speculation.mode is SpeculationMode.OFF or not model.verify_lengths:
        return 0
    length = min(config.max_new_tokens, model.max_length - len(ids) - 1)
    if length < 2:  # a one-token suggestion is one step: nothing to draft
        return 0
    sources = [*model.recent, *model.branches]
    candidates = [
        token
        for token in _likeliest(model.feed(ids), alternatives + 1)
        if token not in model.end_token_ids and not _covered(sources, [*ids, token])
    ]
    branch_config = replace(config, max_new_tokens=length, sampling=SamplingConfig(), stop=())
    stats = model.speculation_stats
    counted = replace(stats)  # a branch is not a suggestion: its calls are not counted
    begun = 0
    try:
        for token in candidates:
            if stop is not None and stop():
                break
            branch = [*ids, token]
            begun += 1
            model.branches.append(
                [*branch[-LONG_MATCH:], *_greedy(model, branch, branch_config, stop)]
            )
    finally:
        stats.verifies, stats.drafted, stats.accepted = (
            counted.verifies,
            counted.drafted,
            counted.accepted,
        )
    return begun


def _greedy(
    model: FastModel, branch: list[int], config: GenerationConfig, stop: Callable[[], bool] | None
) -> list[int]:
    """The greedy suggestion after ``branch``, up to where ``stop`` said to end."""
    _, pieces = model.stream_ids(branch, config)
    made: list[int] = []
    with closing(pieces):
        for piece in pieces:
            made += piece.token_ids
            if stop is not None and stop():
                break
    model.recent.pop()  # ``generate`` keeps the whole sequence; a branch keeps its tail
    return made


def _likeliest(logits: np.ndarray, count: int) -> list[int]:
    """The ``count`` tokens of highest logit, likeliest first."""
    top = np.argpartition(-logits, count - 1)[:count]
    return [int(t) for t in top[np.argsort(-logits[top])]]


def _covered(sources: Sequence[Sequence[int]], history: list[int]) -> bool:
    """Whether a draft source already goes on from ``history`` as a text seen before."""
    return any(goes_on(s, history) for s in sources)
