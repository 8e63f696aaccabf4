"""What a hostile or careless client may cost the server, and what it gets back."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from litecomplete.errors import ModelRunError
from tests.app.conftest import serving

HEADER_TIMEOUT_S = 1.0


@pytest.fixture()
def own_registry(fast_models: dict[str, Path], tmp_path: Path) -> Any:
    """A registry of its own (its model may be patched), serving tiny-fast."""
    from litecomplete.app.registry import ModelRegistry

    shutil.copy(fast_models["none"], tmp_path / "tiny-fast.tflite")
    return ModelRegistry(tmp_path, default_path=None, num_threads=1)


@pytest.fixture()
def limited_server(own_registry: Any) -> Iterator[str]:
    from litecomplete.app.server import create_app

    app = create_app(own_registry, body_timeout_s=1.0, max_waiting=1)
    with serving(app, header_timeout_s=HEADER_TIMEOUT_S) as url:
        yield url


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def _closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> bool:
    """Whether the server closes ``sock`` within ``seconds`` (sending ``trickle`` meanwhile)."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if trickle:
                sock.sendall(trickle)
            if sock.recv(1024) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:  # reset while sending
            return True
    return False


def test_a_silent_connection_is_closed(limited_server: str) -> None:
    with socket.create_connection(_address(limited_server)) as sock:
        assert _closed_within(sock, HEADER_TIMEOUT_S + 3)


def test_headers_trickled_a_line_at_a_time_are_cut_off(limited_server: str) -> None:
    with socket.create_connection(_address(limited_server)) as sock:
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: localhost\r\n")
        assert _closed_within(sock, HEADER_TIMEOUT_S + 3, trickle=b"X-Slow: 1\r\n")


def test_idle_connections_do_not_pile_up(limited_server: str) -> None:
    socks = [socket.create_connection(_address(limited_server)) for _ in range(200)]
    try:
        assert httpx.get(f"{limited_server}/health").status_code == 200
        time.sleep(HEADER_TIMEOUT_S + 1)
        assert all(_closed_within(s, 2) for s in socks)
    finally:
        for s in socks:
            s.close()


def test_a_body_sent_too_slowly_gets_408(limited_server: str) -> None:
    body = json.dumps({"model": "tiny-fast", "prompt": "Hello"}).encode()
    with socket.create_connection(_address(limited_server)) as sock:
        sock.sendall(
            b"POST /v1/completions HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        # A few bytes, a fifth of a second apart, then nothing: the body never completes.
        # (Bytes still arriving when the server closes would make it reset the connection.)
        for byte in body[:4]:
            sock.sendall(bytes([byte]))
            time.sleep(0.2)
        sock.settimeout(5)
        answer = b""
        while chunk := sock.recv(4096):  # the refusal closes the connection
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "body_timeout"


def test_a_streamed_body_over_the_limit_gets_413(client: Any) -> None:
    """No Content-Length to refuse up front: the limit holds while the body arrives."""

    def chunks() -> Iterator[bytes]:
        yield b'{"model": "tiny-fast", "prompt": "'
        for _ in range(300):
            yield b"a" * 1024
        yield b'"}'

    response = client.post(
        "/v1/completions", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "body_too_large"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.2", "[::2]"])
def test_a_foreign_host_name_is_refused(client: Any, host: str) -> None:
    """A page that rebinds its own name to 127.0.0.1 still sends its name as Host."""
    response = client.get("/v1/models", headers={"host": host})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "host_not_allowed"
    for ok in ("localhost:8000", "127.0.0.1", "[::1]:8000"):
        assert client.get("/health", headers={"host": ok}).status_code == 200


def test_cross_site_requests_get_no_cors_and_no_form_posts(client: Any) -> None:
    origin = {"origin": "http://evil.example"}
    preflight = client.options(
        "/v1/completions", headers={**origin, "access-control-request-method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in client.get("/v1/models", headers=origin).headers
    # A "simple" cross-site POST (no preflight) cannot be JSON: it is refused.
    body = json.dumps({"model": "tiny-fast", "prompt": "Hi", "max_tokens": 2})
    form = client.post(
        "/v1/completions", content=body, headers={**origin, "content-type": "text/plain"}
    )
    assert form.status_code == 400


def _slow_down(registry: Any, seconds: float) -> None:
    model = registry.load("tiny-fast")
    feed = model._feed

    def slow_feed(ids: list[int], *args: Any) -> Any:
        time.sleep(seconds)
        return feed(ids, *args)

    model._feed = slow_feed


def test_a_flood_is_refused_beyond_the_queue_and_health_stays_quick(
    own_registry: Any, limited_server: str
) -> None:
    _slow_down(own_registry, 0.5)
    statuses: list[int] = []

    def ask() -> None:
        body = {"model": "tiny-fast", "prompt": "Hello", "max_tokens": 2}
        statuses.append(
            httpx.post(f"{limited_server}/v1/completions", json=body, timeout=60).status_code
        )

    threads = [threading.Thread(target=ask) for _ in range(60)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    # Answered while completions queue (they had hung behind them: the timeout fails).
    assert httpx.get(f"{limited_server}/health", timeout=10).status_code == 200
    assert httpx.get(f"{limited_server}/v1/models", timeout=10).status_code == 200
    for t in threads:
        t.join()
    assert statuses.count(200) >= 2 and statuses.count(503) >= 30, sorted(statuses)
    assert set(statuses) == {200, 503}


def _fail_after(registry: Any, steps: int, error: Exception) -> None:
    model = registry.load("tiny-fast")
    run_decode = model._run_decode
    calls = 0

    def failing(token: int, pos: int) -> Any:
        nonlocal calls
        calls += 1
        if calls > steps:
            raise error
        return run_decode(token, pos)

    model._run_decode = failing


def test_a_model_failing_mid_stream_ends_it_with_an_error_event(own_registry: Any) -> None:
    from fastapi.testclient import TestClient

    from litecomplete.app.server import create_app

    _fail_after(own_registry, 2, ModelRunError("tiny-fast.tflite: signature 'decode' failed"))
    with TestClient(create_app(own_registry), base_url="http://localhost") as c:
        body = {"model": "tiny-fast", "prompt": "Hello", "max_tokens": 20, "temperature": 0}
        text = c.post("/v1/completions", json={**body, "stream": True}).text
        events = [json.loads(e[6:]) for e in text.split("\n\n") if e.startswith("data: {")]
        assert "error" in events[-1] and "[DONE]" not in text
        assert events[-1]["error"]["code"] == "model_error"
        assert all("choices" in e for e in events[:-1])
        plain = c.post("/v1/completions", json=body)
        assert plain.status_code == 500 and plain.json()["error"]["code"] == "model_error"
        assert c.get("/health").status_code == 200


def test_an_unexpected_error_is_a_json_500(own_registry: Any) -> None:
    from fastapi.testclient import TestClient

    from litecomplete.app.server import create_app

    _fail_after(own_registry, 0, RuntimeError("boom"))
    app = create_app(own_registry)
    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as c:
        response = c.post("/v1/completions", json={"model": "tiny-fast", "prompt": "Hello"})
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "internal_error"
        assert c.get("/health").status_code == 200


def test_serve_binds_to_loopback_without_cors_by_default() -> None:
    from litecomplete.cli import build_parser
    from litecomplete.commands.serve import allowed_hosts

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.cors_origin == []
    assert set(allowed_hosts(args)) == {"localhost", "127.0.0.1", "[::1]"}
    wide = build_parser().parse_args(["serve", "--host", "::", "--allow-host", "box.lan"])
    assert allowed_hosts(wide) == ("*",)
    named = build_parser().parse_args(["serve", "--host", "192.168.1.5", "--allow-host", "box"])
    assert {"192.168.1.5", "box", "localhost"} <= set(allowed_hosts(named))
