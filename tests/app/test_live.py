"""Against a real loopback server: the official openai client, and clients that vanish."""

from __future__ import annotations

import socket
import time

import httpx
import pytest


@pytest.fixture()
def openai_client(live_server: str) -> object:
    openai = pytest.importorskip("openai")
    return openai.OpenAI(base_url=f"{live_server}/v1", api_key="unused", max_retries=0)


def test_openai_client_plain_stop_and_n(openai_client: object) -> None:
    client = openai_client
    plain = client.completions.create(
        model="tiny-fast", prompt="Hello", max_tokens=8, temperature=0
    )  # type: ignore[attr-defined]
    assert plain.object == "text_completion"
    text = plain.choices[0].text
    assert plain.usage.completion_tokens <= 8
    stop = text.strip()[:2]
    stopped = client.completions.create(  # type: ignore[attr-defined]
        model="tiny-fast", prompt="Hello", max_tokens=8, temperature=0, stop=[stop]
    )
    assert stop not in stopped.choices[0].text and stopped.choices[0].finish_reason == "stop"
    several = client.completions.create(  # type: ignore[attr-defined]
        model="tiny-fast", prompt="Hello", max_tokens=4, temperature=1.0, n=3, seed=1
    )
    assert sorted(c.index for c in several.choices) == [0, 1, 2]
    models = client.models.list()  # type: ignore[attr-defined]
    assert "tiny-fast" in [m.id for m in models.data]


def test_openai_client_streaming(openai_client: object) -> None:
    client = openai_client
    plain = client.completions.create(
        model="tiny-fast", prompt="Hello", max_tokens=8, temperature=0
    )  # type: ignore[attr-defined]
    chunks = list(
        client.completions.create(  # type: ignore[attr-defined]
            model="tiny-fast", prompt="Hello", max_tokens=8, temperature=0, stream=True
        )
    )
    assert "".join(c.choices[0].text for c in chunks) == plain.choices[0].text
    assert chunks[-1].choices[0].finish_reason == plain.choices[0].finish_reason


def test_openai_client_asks_for_healing_in_extra_body(openai_client: object) -> None:
    """A prompt cut inside a word: healed, streamed or not, the answers agree, and
    differ from the unhealed one (the field reached the server)."""
    client = openai_client
    prompt, fields = "I'm enjoying a quiet even", {"max_tokens": 6, "temperature": 0}
    healed = client.completions.create(  # type: ignore[attr-defined]
        model="tiny-fast", prompt=prompt, extra_body={"heal": True}, **fields
    )
    plain = client.completions.create(model="tiny-fast", prompt=prompt, **fields)  # type: ignore[attr-defined]
    chunks = client.completions.create(  # type: ignore[attr-defined]
        model="tiny-fast", prompt=prompt, extra_body={"heal": True}, stream=True, **fields
    )
    streamed = "".join(c.choices[0].text for c in chunks)
    assert streamed == healed.choices[0].text != plain.choices[0].text


def test_openai_client_errors(openai_client: object) -> None:
    import openai

    with pytest.raises(openai.NotFoundError):
        openai_client.completions.create(model="missing", prompt="Hello", max_tokens=4)  # type: ignore[attr-defined]
    with pytest.raises(openai.BadRequestError, match="Mind your language"):
        openai_client.completions.create(model="tiny-fast", prompt="oh sh1t", max_tokens=4)  # type: ignore[attr-defined]


def test_client_gone_mid_stream_frees_the_model(live_server: str) -> None:
    body = {
        "model": "tiny-fast",
        "prompt": "Hello",
        "max_tokens": 40,
        "temperature": 0,
        "stream": True,
    }
    for _ in range(3):
        with httpx.stream(
            "POST", f"{live_server}/v1/completions", json=body, timeout=30
        ) as response:
            for _line in response.iter_lines():
                break  # read one event, then hang up
    # A raw socket that sends half a request and closes.
    host, port = live_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as s:
        s.sendall(b'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"pro')
    start = time.monotonic()
    answer = httpx.post(
        f"{live_server}/v1/completions",
        json={"model": "tiny-fast", "prompt": "Hello", "max_tokens": 2},
        timeout=30,
    )
    assert answer.status_code == 200
    assert time.monotonic() - start < 20  # the model was not left locked
    assert httpx.get(f"{live_server}/health").json()["status"] == "ok"
