"""What a client may cost the server: body size and time, header time, host names.

The server runs on the user's machine and binds to loopback by default, so the
first clients to defend against are a web page in the user's own browser (DNS
rebinding: a foreign ``Host`` header) and clients that hold connections open
without finishing a request (each one is a file descriptor, and a few thousand
exhaust the process's limit).
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from litecomplete.app.schema import error_payload

MAX_BODY_BYTES = 256 * 1024
BODY_TIMEOUT_S = 10.0  # to receive a whole request body, once its headers are in
HEADER_TIMEOUT_S = 10.0  # to send a request's headers, from connecting or the last response
KEEP_ALIVE_S = 5.0  # an idle connection between requests
# Host names a loopback server answers to; anything else is refused.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


class _Refused(Exception):
    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


async def _send_error(send: Send, status: int, message: str, code: str) -> None:
    body = json.dumps(error_payload(message, code=code)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestLimits:
    """ASGI middleware: a known ``Host``, and a body of at most ``max_body_bytes``
    received within ``body_timeout_s`` (413 and 408 otherwise)."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int = MAX_BODY_BYTES,
        body_timeout_s: float = BODY_TIMEOUT_S,
        allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self.allowed_hosts = {h.lower() for h in allowed_hosts}

    def _host_allowed(self, headers: dict[bytes, bytes]) -> bool:
        if "*" in self.allowed_hosts:
            return True
        host = headers.get(b"host", b"").decode("latin-1").lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in self.allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if not self._host_allowed(headers):
            message = "this server answers to localhost only (Host header refused)"
            await _send_error(send, 400, message, "host_not_allowed")
            return
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await _send_error(send, 413, self._too_large(), "body_too_large")
            return
        received = 0
        body_done = False
        deadline = anyio.current_time() + self.body_timeout_s
        started = False
        refused: _Refused | None = None  # the app may catch it: its answer is replaced

        async def limited_receive() -> Message:
            nonlocal received, body_done, refused
            if body_done:  # later calls wait for a disconnect: no deadline
                return await receive()
            with anyio.move_on_after(deadline - anyio.current_time()) as waited:
                message = await receive()
            if waited.cancelled_caught:
                late = f"request body not received within {self.body_timeout_s:g} s"
                refused = _Refused(408, late, "body_timeout")
                raise refused
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > self.max_body_bytes:
                    refused = _Refused(413, self._too_large(), "body_too_large")
                    raise refused
            return message

        async def checked_send(message: Message) -> None:
            nonlocal started
            if refused is not None:  # FastAPI turns a failed body read into its own 400
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _send_error(send, refused.status, str(refused), refused.code)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, checked_send)
        except _Refused as e:
            if not started:
                await _send_error(send, e.status, str(e), e.code)

    def _too_large(self) -> str:
        return f"request body exceeds {self.max_body_bytes} bytes"


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, plus a deadline for each request's headers.

    uvicorn closes a connection that stays idle after a response (keep-alive), but
    not one that connects and says nothing, or trickles a header line now and then:
    such a connection would be held for ever. Here it is closed when its request's
    headers are not all in ``HEADER_TIMEOUT_S`` after it connected or after its last
    response.
    """

    header_timeout_s = HEADER_TIMEOUT_S

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_deadline)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._header_timer.cancel()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_deadline)

    def connection_lost(self, exc: Exception | None) -> None:
        self._header_timer.cancel()
        super().connection_lost(exc)

    def _header_deadline(self) -> None:
        waiting = self.cycle is None or self.cycle.response_complete
        if waiting and self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def server_config(
    app: ASGIApp, host: str, port: int, header_timeout_s: float = HEADER_TIMEOUT_S
) -> Any:
    """The ``uvicorn.Config`` the server runs with (these limits included)."""
    import uvicorn

    protocol = type("Protocol", (DeadlineH11Protocol,), {"header_timeout_s": header_timeout_s})
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,
        timeout_keep_alive=int(KEEP_ALIVE_S),
        log_level="warning",
    )


MAX_WAITING = 32  # requests that may wait for one model while it serves another
MODEL_THREADS = 64  # worker threads for model work, apart from the ones other routes use


class ModelQueue:
    """Counts the requests each model has in hand, and refuses more than it may queue.

    A model serves one request at a time; the others wait in worker threads of their
    own pool (``limiter``), so a flood of completions cannot starve ``/health`` or
    ``/v1/models``, and beyond ``max_waiting`` a request is refused (503) at once
    instead of queueing without end.
    """

    def __init__(self, max_waiting: int = MAX_WAITING, threads: int = MODEL_THREADS) -> None:
        import threading

        self.max_waiting = max_waiting
        self.threads = threads
        self._count: dict[str, int] = {}
        self._guard = threading.Lock()
        self._limiter: anyio.CapacityLimiter | None = None

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        """The thread pool's limiter (made in the event loop on first use)."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.threads)
        return self._limiter

    def enter(self, model_id: str) -> bool:
        """Count a request for ``model_id``; False (not counted) if its queue is full."""
        with self._guard:
            held = self._count.get(model_id, 0)
            if held > self.max_waiting:  # one running, max_waiting waiting
                return False
            self._count[model_id] = held + 1
            return True

    def leave(self, model_id: str) -> None:
        with self._guard:
            self._count[model_id] -= 1
