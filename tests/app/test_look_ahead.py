"""Look-ahead for live suggestions: answers for the likeliest next keys, made between them."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from litecomplete.app.look_ahead import (
    AnswerCache,
    LookAheadWorker,
    look_ahead,
    next_characters,
)
from litecomplete.app.suggester import Suggester, SuggestRequest
from litecomplete.runtime.generation import GenerationConfig
from litecomplete.runtime.sampling import SamplingConfig
from litecomplete.safety import default_filter

PROMPT = "The old house on the hill"
GHOST = {"model": "tiny-fast", "max_tokens": 6, "temperature": 0, "stop": ["\n"]}


def streamed(client: Any, prompt: str, **body: Any) -> str:
    with client.stream(
        "POST", "/v1/completions", json={**GHOST, "prompt": prompt, "stream": True, **body}
    ) as response:
        assert response.status_code == 200, response.read()
        lines = response.read().decode().split("\n\n")
    events = [json.loads(e[len("data: ") :]) for e in lines if e.startswith("data: {")]
    return "".join(e["choices"][0]["text"] for e in events)


def plain(client: Any, prompt: str) -> str:
    response = client.post("/v1/completions", json={**GHOST, "prompt": prompt})
    assert response.status_code == 200, response.text
    return str(response.json()["choices"][0]["text"])


def counters(client: Any) -> tuple[int, int]:
    ahead = client.get("/health").json()["look_ahead"]
    return ahead["made"], ahead["used"]


def test_the_likeliest_next_keys_are_answered_ahead_and_alike(client: Any, app: Any) -> None:
    server = app.state.server
    made, used = counters(client)
    answer = streamed(client, PROMPT, look_ahead=3)
    assert server.ahead.idle(timeout=120)
    assert counters(client)[0] == made + 3  # three keys, none of them the answer's first
    with server.registry.lock("tiny-fast"):
        model = server.registry.load("tiny-fast")
        config = GenerationConfig(max_new_tokens=6, sampling=SamplingConfig(), stop=("\n",))
        keys = next_characters(model, PROMPT, config, 3, answer[:1])
    assert len(keys) == 3 and answer[:1] not in keys
    # The next key's request is answered from look-ahead, as the model answers it anew.
    ahead = streamed(client, PROMPT + keys[0], look_ahead=3)
    assert counters(client)[1] == used + 1
    assert ahead == plain(client, PROMPT + keys[0])
    # Text no answer was made for (look-ahead adds one character) runs the model.
    assert server.ahead.idle(timeout=120)
    other = PROMPT + keys[0] + " zebra"
    before = counters(client)[1]
    assert streamed(client, other) == plain(client, other)
    assert counters(client)[1] == before


def test_a_request_without_look_ahead_makes_none(client: Any, app: Any) -> None:
    made = counters(client)[0]
    streamed(client, "A request of its own")
    assert app.state.server.ahead.idle(timeout=120)
    assert counters(client)[0] == made


@pytest.fixture(scope="module")
def suggester(fast_models: dict[str, Path]) -> Suggester:
    from litecomplete.runtime.fast_model import FastModel

    return Suggester(FastModel.load(fast_models["none"], num_threads=1), default_filter())


def request(prompt: str = PROMPT) -> SuggestRequest:
    config = GenerationConfig(max_new_tokens=6, sampling=SamplingConfig(), stop=("\n",))
    return SuggestRequest(prompt, config, look_ahead=3)


def test_look_ahead_gives_way_between_model_calls(suggester: Suggester) -> None:
    cache = AnswerCache()
    calls = []

    def stop_on_the_third_check() -> bool:
        calls.append(1)
        return len(calls) >= 3

    made = look_ahead(suggester, "m", request(), "", cache, stop_on_the_third_check)
    assert made == 0 and len(calls) == 3  # stopped inside the first answer: nothing kept
    assert look_ahead(suggester, "m", request(), "", cache, lambda: False) == 3
    # Made once: asked again, it has nothing left to make.
    assert look_ahead(suggester, "m", request(), "", cache, lambda: False) == 0


@pytest.mark.parametrize("busy", [False, True])
def test_the_worker_looks_ahead_unless_a_request_is_in_hand(
    suggester: Suggester, busy: bool
) -> None:
    import threading
    import time

    lock = threading.Lock()
    cache = AnswerCache()
    worker = LookAheadWorker(lambda _: suggester, lambda _: lock, lambda: busy, cache)
    worker.schedule("m", request("Worker"), "", time.monotonic())
    assert worker.idle(timeout=120)
    assert worker.made == (0 if busy else 3)
    assert not lock.locked()


def test_look_ahead_starts_nothing_past_its_deadline(suggester: Suggester) -> None:
    cache = AnswerCache()
    assert look_ahead(suggester, "m", request("Past"), "", cache, lambda: False, deadline=0.0) == 0
    assert look_ahead(suggester, "m", request("Past"), "", cache, lambda: False, math.inf) == 3


def test_only_a_greedy_single_answer_looks_ahead(suggester: Suggester) -> None:
    from dataclasses import replace

    sampled = replace(request(), config=replace(request().config, sampling=SamplingConfig(0.8)))
    two = replace(request(), n=2)
    for refused in (sampled, two):
        assert look_ahead(suggester, "m", refused, "", AnswerCache(), lambda: False) == 0


def test_the_cache_keeps_the_newest_answers() -> None:
    from litecomplete.app.suggester import Delta

    cache = AnswerCache(size=2)
    for word in ("one", "two", "three"):
        cache.put("m", request(word), (Delta(0, word),))
    assert cache.get("m", request("one")) is None
    assert cache.get("m", request("three")) == (Delta(0, "three"),)
    assert cache.get("other", request("three")) is None
    assert cache.used == 1


@pytest.mark.parametrize(
    "body",
    [
        {"look_ahead": 3},  # not streamed
        {"look_ahead": 3, "stream": True, "temperature": 0.7},
        {"look_ahead": 3, "stream": True, "n": 2},
        {"look_ahead": 9, "stream": True},
        {"look_ahead": -1, "stream": True},
    ],
)
def test_look_ahead_is_refused_where_it_cannot_apply(client: Any, body: dict[str, Any]) -> None:
    response = client.post("/v1/completions", json={**GHOST, "prompt": "x", **body})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "look_ahead"
