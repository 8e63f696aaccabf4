"""The API over scripted generators: finish reasons, the profanity filter's retries and
cut streams, and the error table, checked on exactly known text (no model file)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from litecomplete.errors import ModelRunError
from litecomplete.runtime.generation import FinishReason, GenerationConfig, Piece
from litecomplete.safety.filter import ProfanityFilter, parse_word_list
from tests.app.fake import FakeRegistry, ScriptedGenerator
from tests.app.test_api import sse_events

BLOCKED = ProfanityFilter(parse_word_list(["darn"]))


def _client(models: dict[str, Any], max_length: int = 64) -> Any:
    from fastapi.testclient import TestClient

    from litecomplete.app.server import create_app

    app = create_app(FakeRegistry(models, max_length), profanity=BLOCKED)  # type: ignore[arg-type]
    return TestClient(app, base_url="http://localhost", raise_server_exceptions=False)


def _post(client: Any, model: str = "m", **body: Any) -> Any:
    return client.post("/v1/completions", json={"model": model, "prompt": "Say", **body})


@pytest.mark.parametrize(
    ("ends", "max_tokens", "reason"),
    [
        (FinishReason.STOP, 8, "stop"),
        (FinishReason.STOP, 2, "length"),
        (FinishReason.CACHE_FULL, 8, "length"),  # OpenAI has no cache_full
    ],
)
def test_finish_reasons_reach_the_api_in_openai_s_words(
    ends: FinishReason, max_tokens: int, reason: str
) -> None:
    with _client({"m": ScriptedGenerator(["one two three"], ends)}) as client:
        plain = _post(client, max_tokens=max_tokens).json()["choices"][0]
        events = sse_events(_post(client, max_tokens=max_tokens, stream=True).text)
    assert plain["finish_reason"] == reason
    assert plain["text"] == " ".join(["one", "two", "three"][:max_tokens]) + " "
    assert [e["choices"][0]["finish_reason"] for e in events][-1] == reason
    assert "".join(e["choices"][0]["text"] for e in events) == plain["text"]


def test_a_profane_suggestion_is_tried_again_and_the_clean_one_answers() -> None:
    generator = ScriptedGenerator(["you darn fool", "a kind word"])
    with _client({"m": generator}) as client:
        choice = _post(client, temperature=0).json()["choices"][0]
    assert choice["text"] == "a kind word " and choice["finish_reason"] == "stop"
    assert len(generator.prompts) == 2


def test_a_stream_that_turns_profane_ends_at_its_clean_part() -> None:
    generator = ScriptedGenerator(["you darn fool"])
    with _client({"m": generator}) as client:
        events = sse_events(_post(client, stream=True).text)
    assert "".join(e["choices"][0]["text"] for e in events) == "you "
    assert events[-1]["choices"][0]["finish_reason"] == "content_filter"
    assert len(generator.prompts) == 1  # part of it was out: no retry


@pytest.mark.parametrize("stream", [False, True])
def test_a_word_the_user_began_is_checked_with_its_ending(stream: bool) -> None:
    # "You da" is clean and so is "rn fool"; the text they make is not.
    generator = ScriptedGenerator(["rn fool", "ring deed"])
    with _client({"m": generator}) as client:
        answer = _post(client, prompt="You da", temperature=0, stream=stream)
    text = (
        "".join(e["choices"][0]["text"] for e in sse_events(answer.text))
        if stream
        else answer.json()["choices"][0]["text"]
    )
    assert text == "ring deed " and len(generator.prompts) == 2


def test_a_suggestion_is_read_with_the_words_before_it() -> None:
    from litecomplete.app.suggester import Suggester, SuggestRequest
    from litecomplete.safety import default_filter

    # Alone, " Dick sails" reads as the listed word; after "Moby", as the book.
    request = SuggestRequest("I read Moby ", GenerationConfig(max_new_tokens=4))
    choice = Suggester(ScriptedGenerator(["Dick sails on"]), default_filter()).complete(request)
    assert choice.choices[0].text == "Dick sails on "


def test_only_the_prompt_s_end_is_read_with_a_suggestion() -> None:
    from litecomplete.app.suggester import CHECKED_PROMPT_CHARS, prompt_end

    assert prompt_end("short text") == "short text"
    long = "word " * CHECKED_PROMPT_CHARS + "fin"
    end = prompt_end(long)
    assert long.endswith(end) and end.startswith("word") and len(end) < CHECKED_PROMPT_CHARS


class Pieces(ScriptedGenerator):
    """Answers each call with the next list of pieces (the last repeats); ``made``: the
    pieces made so far."""

    def __init__(self, scripts: list[list[str]]) -> None:
        super().__init__([""])
        self.pieces, self.made = scripts, 0

    def stream(self, prompt: str, config: GenerationConfig) -> Iterator[Piece]:
        self.prompts.append(prompt)
        script = self.pieces[min(len(self.prompts), len(self.pieces)) - 1]
        for i, text in enumerate(script):
            self.made += 1
            yield Piece(text, (i,), FinishReason.STOP if i == len(script) - 1 else None)


def test_a_stream_sends_a_word_before_its_end_unless_it_may_become_a_listed_one() -> None:
    from litecomplete.app.suggester import Suggester, SuggestRequest

    generator = Pieces([["da", "rn", " it", " all"], ["ti", "me", " to", " go"]])
    sent = []
    request = SuggestRequest("Say ", GenerationConfig(max_new_tokens=4))
    for delta in Suggester(generator, BLOCKED).stream(request):
        sent.append((delta.text, generator.made))
    # "da" could become "darn": held, then refused whole and tried again. "ti" could
    # not: sent as it came, before the word's end.
    assert sent[0] == ("ti", 4) and sent[1] == ("me", 5)
    assert "".join(text for text, _ in sent) == "time to go"
    assert len(generator.prompts) == 2


def test_a_lone_letter_that_begins_no_listed_word_is_sent_as_it_comes() -> None:
    from litecomplete.app.suggester import Suggester, SuggestRequest

    generator = Pieces([["I", " went", " home"]])
    request = SuggestRequest("Then ", GenerationConfig(max_new_tokens=3))
    first = next(iter(Suggester(generator, BLOCKED).stream(request)))
    assert first.text == "I" and generator.made == 1  # "darn" begins with no "i"
    generator = Pieces([["d", " went", " home"]])
    first = next(iter(Suggester(generator, BLOCKED).stream(request)))
    assert first.text == "d went" and generator.made == 2  # "d" may be spelling it out


def test_a_stream_s_leading_space_waits_for_its_word_so_a_retry_stays_possible() -> None:
    from litecomplete.app.suggester import Suggester, SuggestRequest

    generator = Pieces([[" ", "darn", " it"], [" ", "time", " to", " go"]])
    request = SuggestRequest("Say", GenerationConfig(max_new_tokens=4))
    deltas = list(Suggester(generator, BLOCKED).stream(request))
    # A space sent alone would have made the listed word a cut ("content_filter").
    assert "".join(d.text for d in deltas) == " time to go"
    assert deltas[0].text == " time" and deltas[-1].finish_reason is FinishReason.STOP
    assert len(generator.prompts) == 2


class Failing(ScriptedGenerator):
    """Fails after ``good`` pieces with ``error``."""

    def __init__(self, error: Exception, good: int = 0) -> None:
        super().__init__(["one two three"])
        self.error, self.good = error, good

    def stream(self, prompt: str, config: GenerationConfig) -> Iterator[Piece]:
        pieces = super().stream(prompt, config)
        for _ in range(self.good):
            yield next(pieces)
        raise self.error


@pytest.mark.parametrize(
    ("model", "status", "code"),
    [
        ("absent", 404, "model_not_found"),
        ("broken", 500, "model_error"),
        ("buggy", 500, "internal_error"),
    ],
)
def test_each_error_class_answers_with_its_status(model: str, status: int, code: str) -> None:
    models = {
        "broken": Failing(ModelRunError("NaN logits")),
        "buggy": Failing(RuntimeError("a bug")),
    }
    with _client(models) as client:
        response = _post(client, model=model)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_an_error_after_the_first_piece_is_the_stream_s_last_event() -> None:
    with _client({"m": Failing(ModelRunError("NaN logits"), good=2)}) as client:
        response = _post(client, stream=True)
    assert response.status_code == 200  # sent before the failure
    events = [e for e in response.text.split("\n\n") if e.startswith("data: ")]
    assert '"model_error"' in events[-1] and "NaN logits" in events[-1]
    assert "[DONE]" not in response.text
