"""The verify length a draft is checked by follows what the model's calls cost here."""

from __future__ import annotations

from pathlib import Path

import pytest

from litecomplete.runtime import FastModel, GenerationConfig
from litecomplete.runtime.call_costs import STALE_AFTER, CallCosts, verify_length
from litecomplete.runtime.speculative import Speculation, SpeculationMode


def _costs(**seconds: float) -> CallCosts:
    costs = CallCosts()
    for length, value in seconds.items():
        for _ in range(3):
            costs.record(f"verify_{length.lstrip('v')}", value)
    return costs


def test_without_timings_the_shortest_length_holding_the_draft() -> None:
    costs = CallCosts()
    assert verify_length(7, 1, [4, 16], costs) == 16
    assert verify_length(3, 1, [4, 16], costs) == 4
    assert verify_length(2, 2, [4, 16], costs) == 4
    assert verify_length(3, 2, [4, 16], costs) == 16
    costs.record("verify_16", 1.0)
    costs.record("verify_16", 1.0)
    assert costs.cost("verify_16") is None, "two timings are not trusted yet"


def test_the_length_that_checks_the_whole_draft_soonest() -> None:
    # 16 rows for 3 times 4 rows' cost (an AMD EPYC at one thread): a 7-token draft
    # checks in two 4-row calls (4 tokens, then the 4th guess fed with 3 more)
    slow_rows = _costs(v4=1.0, v16=3.0)
    assert verify_length(7, 1, [4, 16], slow_rows) == 4
    assert verify_length(15, 1, [4, 16], slow_rows) == 16  # four 4-row calls: 4.0
    assert verify_length(11, 1, [4, 16], slow_rows) == 16  # three: 3.0, a tie: fewer calls
    assert verify_length(10, 1, [4, 16], _costs(v4=1.0, v16=3.1)) == 4
    # two tokens fed: a 4-row call checks 2 guesses, then 4 more a call
    assert verify_length(6, 2, [4, 16], _costs(v4=1.0, v16=2.5)) == 4
    assert verify_length(7, 2, [4, 16], _costs(v4=1.0, v16=2.5)) == 16
    # 16 rows for 1.5 times 4 rows' (an Intel Xeon with AMX): one call
    assert verify_length(7, 1, [4, 16], _costs(v4=1.0, v16=1.5)) == 16
    assert verify_length(3, 1, [4, 16], _costs(v4=1.0, v16=0.5)) == 4, "no longer than needed"
    assert verify_length(7, 1, [4, 8, 16], _costs(v4=1.0, v8=1.2, v16=3.0)) == 8


def test_an_untimed_or_stale_length_is_run_to_time_it() -> None:
    costs = _costs(v16=3.0)
    assert verify_length(7, 1, [4, 16], costs) == 4, "4 rows untimed: run them"
    costs = _costs(v4=1.0, v16=3.0)
    for _ in range(STALE_AFTER):
        costs.record("verify_4", 1.0)
    assert verify_length(7, 1, [4, 16], costs) == 4
    costs.record("verify_4", 1.0)
    assert costs.cost("verify_16") is None
    assert verify_length(7, 1, [4, 16], costs) == 16, "not run for long: timed again"
    costs.record("verify_16", 3.0)
    assert verify_length(7, 1, [4, 16], costs) == 4


def test_the_median_of_the_latest_timings() -> None:
    costs = _costs(v4=1.0)
    costs.record("verify_4", 50.0)  # one slow moment
    assert costs.cost("verify_4") == 1.0
    for _ in range(9):
        costs.record("verify_4", 2.0)
    assert costs.cost("verify_4") == 2.0, "the oldest timings are forgotten"


PROMPT = "I'm enjoying a"


class FixedCosts(CallCosts):
    """Costs given, whatever the calls take; None for a signature not given."""

    def __init__(self, seconds: dict[str, float]) -> None:
        super().__init__()
        self.seconds = seconds

    def cost(self, key: str) -> float | None:
        return self.seconds.get(key)


@pytest.fixture(scope="module")
def model(fast_models: dict[str, Path]) -> FastModel:
    return FastModel.load(fast_models["none"])


def _seen_again(model: FastModel, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[int]]:
    """A prompt completed, then completed again cold: after its first token the text is
    one seen before, drafted long. The signatures called the second time, and its tokens."""
    calls: list[str] = []
    run_rows = model._graphs.run_rows

    def spy(key: str, tokens: list[int], start: int):  # type: ignore[no-untyped-def]
        calls.append(key)
        return run_rows(key, tokens, start)

    config = GenerationConfig(max_new_tokens=12, speculation=Speculation())
    model.reset()
    first = model.complete(PROMPT, config)
    model.reset()
    monkeypatch.setattr(model._graphs, "run_rows", spy)
    second = model.complete(PROMPT, config)
    monkeypatch.undo()
    assert second.token_ids == first.token_ids
    return calls, second.token_ids


def test_the_model_checks_a_long_draft_by_its_own_costs(
    model: FastModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    off = GenerationConfig(max_new_tokens=12, speculation=Speculation(SpeculationMode.OFF))
    model.reset()
    plain = model.complete(PROMPT, off).token_ids
    timed = model._graphs.costs
    try:
        model._graphs.costs = FixedCosts({"verify_4": 1.0, "verify_16": 1.5})
        calls, tokens = _seen_again(model, monkeypatch)
        assert calls == ["verify_16"] and tokens == plain, "10 guesses, one 16-row call"
        model._graphs.costs = FixedCosts({"verify_4": 1.0, "verify_16": 4.0})
        calls, tokens = _seen_again(model, monkeypatch)
        assert calls == ["verify_4"] * 3 and tokens == plain, "three 4-row calls: 3.0 < 4.0"
    finally:
        model._graphs.costs = timed


def test_calls_are_timed_after_the_first(fast_models: dict[str, Path]) -> None:
    fresh = FastModel.load(fast_models["none"])
    off = GenerationConfig(max_new_tokens=10, speculation=Speculation(SpeculationMode.OFF))
    fresh.complete("I'm enjoying a", off)  # a prefill, then 9 decode steps
    costs = fresh._graphs.costs
    assert costs.calls == 8, "each signature's first call prepares it: not timed"
    cost = costs.cost("decode")
    assert cost is not None and 0 < cost < 1.0
