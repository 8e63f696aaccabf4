"""Look-ahead on a tiny fast-format model: branches made between keystrokes are drafts
that a typed token's suggestion checks in one call, and change nothing it returns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from litecomplete.errors import ConfigError, PromptError
from litecomplete.runtime import FastModel, GenerationConfig
from litecomplete.runtime.speculative import (
    LONG_MATCH,
    LookupDrafter,
    Speculation,
    SpeculationMode,
)
from tests.runtime.test_call_costs import FixedCosts

OFF = Speculation(SpeculationMode.OFF)
TEXT = "the quick brown fox jumps over the lazy dog while the cat sleeps on a warm mat"


@pytest.fixture(scope="module")
def model(fast_models: dict[str, Path]) -> FastModel:
    return FastModel.load(fast_models["none"])


def _top(model: FastModel, ids: list[int], count: int) -> list[int]:
    model.reset()
    logits = model.feed(ids)
    return [int(t) for t in np.argsort(-logits)[:count]]


def _suggest(model: FastModel, ids: list[int], config: GenerationConfig) -> tuple[list[int], int]:
    """A suggestion's tokens and the model calls it took after the typed token."""
    stats = model.speculation_stats
    before = stats.verifies
    tokens = model.complete_ids(ids, config).token_ids
    return tokens, stats.verifies - before


def _fresh(model: FastModel, ids: list[int], config: GenerationConfig) -> list[int]:
    """The user's suggestion after ``ids`` (its tokens), with no drafts but its own."""
    model.reset()
    model.recent.clear()
    model.branches.clear()
    return model.complete_ids(ids, config).token_ids


@pytest.mark.parametrize("start", [3, 20])  # a prompt shorter and longer than a long match
def test_a_typed_alternative_is_suggested_in_one_verify_call(
    model: FastModel, start: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tiny model's 16 rows may cost more than two 4-row calls (``call_costs``):
    # untimed, a draft goes in the shortest verify signature that holds it.
    monkeypatch.setattr(model._graphs, "costs", FixedCosts({}))
    ids = model.encode(TEXT)[:start]
    config = GenerationConfig(max_new_tokens=8, stop_at_end_token=False)
    plain = GenerationConfig(max_new_tokens=8, stop_at_end_token=False, speculation=OFF)
    suggested = _fresh(model, ids, config)
    assert model.look_ahead(ids, 3, config) == 3
    for token in _top(model, ids, 4):
        typed = [*ids, token]
        expected = model.complete_ids(typed, plain).token_ids
        model.complete_ids(ids, config)  # back where the user was
        got, verifies = _suggest(model, typed, config)
        assert got == expected  # drafts change nothing
        # One verify call for the whole suggestion, from its branch; none for the
        # suggested token, whose suggestion's logits are all kept from making it.
        assert verifies == (0 if token == suggested[0] else 1), (token, suggested[0])


def test_look_ahead_makes_only_what_no_draft_covers(model: FastModel) -> None:
    ids = model.encode(TEXT)[:20]
    config = GenerationConfig(max_new_tokens=8)
    _fresh(model, ids, config)
    assert model.look_ahead(ids, 2, config) == 2
    branches = list(model.branches)
    assert all(len(b) <= 16 + 8 for b in branches)  # a prompt's tail, not the prompt
    assert model.look_ahead(ids, 2, config) == 0  # asked again: all are covered
    assert model.look_ahead(ids, 3, config) == 1  # one more: the fourth likeliest
    assert list(model.branches)[:2] == branches


def test_look_ahead_does_not_count_as_speculation(model: FastModel) -> None:
    ids = model.encode(TEXT)[:12]
    stats = model.speculation_stats  # a caller may hold it (bench does)
    before = (stats.verifies, stats.drafted, stats.accepted)
    model.branches.clear()
    assert model.look_ahead(ids, 2, GenerationConfig(max_new_tokens=8)) > 0
    assert model.speculation_stats is stats
    assert (stats.verifies, stats.drafted, stats.accepted) == before
    model.reset()  # the branch's own logits are not kept: its drafts are checked
    model.complete_ids(
        [*ids, model.branches[-1][len(ids[-16:])]], GenerationConfig(max_new_tokens=8)
    )
    assert stats.verifies == before[0] + 1  # a suggestion's call is counted, where it was


def test_nothing_is_made_where_drafts_are_not_used(model: FastModel) -> None:
    ids = model.encode(TEXT)[:12]
    model.branches.clear()
    assert model.look_ahead(ids, 3, GenerationConfig(speculation=OFF)) == 0
    near_end = (ids * 100)[: model.max_length - 1]  # room for one token only
    assert model.look_ahead(near_end, 3, GenerationConfig(max_new_tokens=8)) == 0
    assert not model.branches


class CountedStop:
    """A ``stop`` that answers True from its ``after``-th question on."""

    def __init__(self, after: int) -> None:
        self.after, self.asked = after, 0

    def __call__(self) -> bool:
        self.asked += 1
        return self.asked > self.after


@pytest.mark.parametrize("after", [0, 1, 5, 100])
def test_look_ahead_stops_between_model_calls_and_keeps_what_it_made(
    model: FastModel, after: int
) -> None:
    ids = model.encode(TEXT)[:20]
    config = GenerationConfig(max_new_tokens=8, stop_at_end_token=False)
    plain = GenerationConfig(max_new_tokens=8, stop_at_end_token=False, speculation=OFF)
    _fresh(model, ids, config)
    stop = CountedStop(after)
    begun = model.look_ahead(ids, 3, config, stop=stop)
    assert stop.asked <= after + 2  # once it says stop, at most one more question
    assert len(model.branches) == begun
    tail = min(len(ids) + 1, LONG_MATCH)  # a branch: the prompt's tail, its token, its tokens
    lengths = [len(branch) - tail for branch in model.branches]
    if after == 0:
        assert begun == 0
    elif after == 1:  # the first branch's first piece, then stop
        assert begun == 1 and 1 <= lengths[0] < 8
    elif after == 100:
        assert begun == 3 and lengths == [8, 8, 8]  # as without stop
    for branch in list(model.branches):  # a branch cut short is still the model's
        typed = [*ids, branch[tail - 1]]
        expected = model.complete_ids(typed, plain).token_ids
        assert branch[tail:] == expected[: len(branch) - tail]
        model.complete_ids(ids, config)
        assert model.complete_ids(typed, config).token_ids == expected  # drafts change nothing


def test_a_key_typed_during_look_ahead_ends_it_at_the_next_model_call(model: FastModel) -> None:
    import threading

    ids = model.encode(TEXT)[:20]
    config = GenerationConfig(max_new_tokens=8, stop_at_end_token=False)
    _fresh(model, ids, config)
    typed = threading.Event()
    begun: list[int] = []

    def between_keys() -> None:
        begun.append(model.look_ahead(ids, 3, config, stop=typed.is_set))

    worker = threading.Thread(target=between_keys)
    worker.start()
    typed.set()  # the user typed: look-ahead ends at its next question
    worker.join(timeout=60)
    assert not worker.is_alive() and begun, "look-ahead returned"
    assert begun[0] <= 1 and len(model.branches) == begun[0]  # three without the key


def test_look_ahead_refuses_bad_input_by_name(model: FastModel) -> None:
    with pytest.raises(ConfigError, match="alternatives"):
        model.look_ahead([1, 2], 0)
    with pytest.raises(PromptError, match="look_ahead"):
        model.look_ahead([], 2)
    with pytest.raises(PromptError, match="look_ahead"):
        model.look_ahead([1] * model.max_length, 2)


def test_a_short_history_seen_whole_is_drafted_long() -> None:
    seen = [5, 6, 7, 8, 9, 10, 11]
    drafter = LookupDrafter([seen], 2)
    assert drafter.propose([5, 6, 7], short=1, long=4) == [8, 9, 10, 11]
    assert drafter.propose([4, 6, 7], short=1, long=4) == [8]  # a phrase of it: short
