"""The OpenAI-compatible API over tiny models: answers, streaming, errors."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import httpx
import pytest

from litecomplete.safety.filter import ProfanityFilter, parse_word_list


def complete(client: Any, **body: Any) -> httpx.Response:
    return client.post("/v1/completions", json={"model": "tiny-fast", "prompt": "Hello", **body})


def sse_events(text: str) -> list[Any]:
    events = [line[len("data: ") :] for line in text.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


def test_health_and_models_list_only_usable_files(client: Any) -> None:
    assert client.get("/health").json() == {"status": "ok", "models": ["tiny-dynamic", "tiny-fast"]}
    data = client.get("/v1/models").json()["data"]
    assert [m["id"] for m in data] == ["tiny-dynamic", "tiny-fast"]
    assert {m["format"] for m in data} == {"fast"}
    assert all(m["max_length"] == 64 and m["object"] == "model" for m in data)


def test_plain_completion(client: Any) -> None:
    body = complete(client, max_tokens=5, temperature=0).json()
    assert body["object"] == "text_completion" and body["model"] == "tiny-fast"
    (choice,) = body["choices"]
    assert choice["finish_reason"] in ("length", "stop") and choice["index"] == 0
    assert body["usage"]["completion_tokens"] <= 5
    assert (
        body["usage"]["total_tokens"]
        == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )
    # Greedy is deterministic: the same request answers the same text.
    again = complete(client, max_tokens=5, temperature=0).json()
    assert again["choices"][0]["text"] == choice["text"]


def test_heal_finishes_the_word_the_prompt_ends_in(client: Any, models_dir: Any) -> None:
    from litecomplete.runtime import FastModel, GenerationConfig, SamplingConfig

    prompt = "I'm enjoying a quiet even"
    body = complete(client, prompt=prompt, max_tokens=6, temperature=0, heal=True).json()
    plain = complete(client, prompt=prompt, max_tokens=6, temperature=0).json()
    model = FastModel.load(models_dir / "tiny-fast.tflite", num_threads=1)
    greedy = SamplingConfig(temperature=0.0)
    for answer, heal in ((body, True), (plain, False)):
        config = GenerationConfig(max_new_tokens=6, sampling=greedy, heal=heal)
        model.reset()
        assert answer["choices"][0]["text"] == model.complete(prompt, config).text
    assert body["usage"]["prompt_tokens"] == plain["usage"]["prompt_tokens"] - 1


def test_a_preloaded_model_is_ready_and_answers_as_a_fresh_one(models_dir: Any) -> None:
    """``serve`` preloads its first model: the spelling index built, the graphs run once,
    and nothing of that left in the caches."""
    from litecomplete.app.registry import ModelRegistry
    from litecomplete.runtime import FastModel, GenerationConfig, SamplingConfig

    registry = ModelRegistry(models_dir, None, num_threads=1)
    registry.preload("tiny-fast")
    model = registry.load("tiny-fast")
    assert isinstance(model, FastModel)
    assert model.tokens._spelling is not None
    assert model.cached == [] and model.kept.rows() == [] and not model.recent
    fresh = FastModel.load(models_dir / "tiny-fast.tflite", num_threads=1)
    config = GenerationConfig(max_new_tokens=6, sampling=SamplingConfig(temperature=0.0))
    for prompt in ("Hello", "I'm enjoying a quiet even"):
        for heal in (False, True):
            asked = replace(config, heal=heal)
            assert model.complete(prompt, asked) == fresh.complete(prompt, asked), prompt
            model.reset()
            fresh.reset()


def test_n_choices_with_seed_are_reproducible(client: Any) -> None:
    first = complete(client, max_tokens=6, temperature=1.0, n=3, seed=7).json()
    second = complete(client, max_tokens=6, temperature=1.0, n=3, seed=7).json()
    assert [c["index"] for c in first["choices"]] == [0, 1, 2]
    assert [c["text"] for c in first["choices"]] == [c["text"] for c in second["choices"]]


def test_stop_string_ends_the_text_before_it(client: Any) -> None:
    free = complete(client, max_tokens=12, temperature=0).json()["choices"][0]["text"]
    stop = free.strip()[:2]
    assert stop, "the tiny model wrote nothing to stop at"
    stopped = complete(client, max_tokens=12, temperature=0, stop=[stop]).json()["choices"][0]
    assert stop not in stopped["text"]
    assert stopped["finish_reason"] == "stop"
    assert free.startswith(stopped["text"])


def test_stream_matches_the_plain_answer(client: Any) -> None:
    plain = complete(client, max_tokens=8, temperature=0).json()["choices"][0]
    with client.stream(
        "POST",
        "/v1/completions",
        json={
            "model": "tiny-fast",
            "prompt": "Hello",
            "max_tokens": 8,
            "temperature": 0,
            "stream": True,
        },
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response.read().decode())
    text = "".join(e["choices"][0]["text"] for e in events)
    assert text == plain["text"]
    assert events[-1]["choices"][0]["finish_reason"] == plain["finish_reason"]
    assert all(e["choices"][0]["finish_reason"] is None for e in events[:-1])


def test_profane_prompt_is_refused(client: Any) -> None:
    response = complete(client, prompt="what the f*ck")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "profanity" and "Mind your language" in error["message"]


def test_context_words_keep_the_newest_text(client: Any) -> None:
    # The refused word falls outside the window, but the whole text is still checked.
    assert complete(client, prompt="shit " + "word " * 30, context_words=5).status_code == 400
    long = complete(client, prompt="one two three " * 10, context_words=5, max_tokens=2).json()
    short = complete(
        client, prompt="two three one two three ", context_words=5, max_tokens=2
    ).json()
    assert long["usage"]["prompt_tokens"] == short["usage"]["prompt_tokens"]


@pytest.mark.parametrize(
    "body, status, param",
    [
        ({"prompt": ""}, 400, "prompt"),
        ({"prompt": "   "}, 400, "prompt"),
        ({"prompt": ["a", "b"]}, 400, "prompt"),
        ({"prompt": 5}, 400, "prompt"),
        ({}, 400, "prompt"),
        ({"prompt": "x", "n": 9}, 400, "n"),
        ({"prompt": "x", "max_tokens": 100000}, 400, "max_tokens"),
        ({"prompt": "x", "max_tokens": 64}, 400, "max_tokens"),  # the tiny model's whole cache
        ({"prompt": "x", "max_tokens": 0}, 400, "max_tokens"),
        ({"prompt": "x", "temperature": -0.5}, 400, "temperature"),
        ({"prompt": "x", "top_p": 0}, 400, "top_p"),
        ({"prompt": "x", "stop": ["a", "b", "c", "d", "e"]}, 400, "stop"),
        ({"prompt": "x", "stop": [""]}, 400, "stop"),
        ({"prompt": "x", "logprobs": 2}, 400, "logprobs"),
        ({"prompt": "x", "context_words": 0}, 400, "context_words"),
        ({"prompt": "x", "model": "nope"}, 404, "model"),
        ({"prompt": "x", "model": "../tiny-fast"}, 404, "model"),
        ({"prompt": "x", "model": "/etc/passwd"}, 404, "model"),
        ({"prompt": "x", "model": "broken"}, 404, "model"),
        ({"prompt": "x", "model": "notes"}, 404, "model"),
    ],
)
def test_bad_requests_get_clear_4xx(
    client: Any, body: dict[str, Any], status: int, param: str
) -> None:
    response = client.post("/v1/completions", json={"model": "tiny-fast", **body})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["message"]
    assert client.get("/health").status_code == 200


def test_malformed_bodies(client: Any) -> None:
    post = client.post
    headers = {"content-type": "application/json"}
    for content in (b"{bad", b"[1, 2", b"\xff\xfe{}", b'{"prompt": "\xff"}', b"null", b""):
        response = post("/v1/completions", content=content, headers=headers)
        assert response.status_code == 400, (content, response.text)
        assert response.json()["error"]["message"]
    huge = json.dumps({"prompt": "a" * 1_000_000}).encode()
    response = post("/v1/completions", content=huge, headers=headers)
    assert response.status_code == 413
    assert "exceeds" in response.json()["error"]["message"]
    assert post(
        "/v1/completions", content=b"{}", headers={**headers, "content-length": "x"}
    ).status_code in (400, 413)
    assert client.get("/health").status_code == 200


def test_unknown_route_and_static_files(client: Any) -> None:
    assert client.get("/nope").status_code == 404
    assert client.get("/static/../pyproject.toml").status_code == 404
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    page = client.get("/")
    assert "Tap to begin typing your story" in page.text


def test_profane_suggestions_are_retried_then_filtered(registry: Any) -> None:
    """A filter that blocks every suggestion: 1 + RETRIES attempts, then nothing."""
    from fastapi.testclient import TestClient

    from litecomplete.app.server import create_app
    from litecomplete.app.suggester import RETRIES

    checked: list[str] = []

    class BlockEverySuggestion(ProfanityFilter):
        def is_profane(self, text: str) -> bool:
            checked.append(text)
            return text != "Hello" and bool(text.strip())

    with TestClient(
        create_app(registry, profanity=BlockEverySuggestion([])), base_url="http://localhost"
    ) as c:
        choice = complete(c, max_tokens=6, temperature=0).json()["choices"][0]
        assert choice == {
            "text": "",
            "index": 0,
            "logprobs": None,
            "finish_reason": "content_filter",
        }
        suggestions = [t for t in checked if t != "Hello"]
        assert len(suggestions) == 1 + RETRIES
        assert len(set(suggestions)) > 1  # greedy's retries sample: not the same text again
        events = sse_events(
            c.post(
                "/v1/completions",
                json={"model": "tiny-fast", "prompt": "Hello", "max_tokens": 6, "stream": True},
            ).text
        )
        assert events[-1]["choices"][0]["finish_reason"] == "content_filter"
        assert "".join(e["choices"][0]["text"] for e in events).strip() == ""


def test_clean_suggestions_pass_the_filter_untouched(registry: Any) -> None:
    from fastapi.testclient import TestClient

    from litecomplete.app.server import create_app

    with TestClient(
        create_app(registry, profanity=ProfanityFilter(parse_word_list([]))),
        base_url="http://localhost",
    ) as c:
        free = complete(c, max_tokens=6, temperature=0).json()["choices"][0]
    with TestClient(create_app(registry), base_url="http://localhost") as c:
        assert complete(c, max_tokens=6, temperature=0).json()["choices"][0] == free


def test_app_format_models_are_served_too(app_models: dict[str, Any], tmp_path: Any) -> None:
    """The seed app's single-graph format: one answer per request, streamed as one piece."""
    import shutil

    from fastapi.testclient import TestClient

    from litecomplete.app.registry import ModelRegistry
    from litecomplete.app.server import create_app
    from litecomplete.runtime import AppModel

    shutil.copy(app_models["none"], tmp_path / "seed-app.tflite")
    expected = AppModel.load(app_models["none"]).complete("Hello")
    with TestClient(create_app(ModelRegistry(tmp_path, None)), base_url="http://localhost") as c:
        (model,) = c.get("/v1/models").json()["data"]
        assert model["id"] == "seed-app" and model["format"] == "app"
        assert model["max_length"] is None
        body = c.post("/v1/completions", json={"model": "seed-app", "prompt": "Hello"}).json()
        assert body["choices"][0]["text"] == expected
        events = sse_events(
            c.post(
                "/v1/completions", json={"model": "seed-app", "prompt": "Hello", "stream": True}
            ).text
        )
        assert "".join(e["choices"][0]["text"] for e in events) == expected
