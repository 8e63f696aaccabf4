"""The HTTP server: the web page, the OpenAI-compatible completions API, health and models.

Every error answers in OpenAI's shape (``{"error": {"message", "type", "param",
"code"}}``) with a 4xx status for anything the client caused; the server keeps
serving (``app.http_errors``). Models run one
request at a time each (``ModelRegistry.lock``). The routes are module functions;
what they share (``ServerState``) hangs on the app (``app.state.server``).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Generator
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from litecomplete.app.http_errors import ApiError, install_handlers
from litecomplete.app.limits import (
    BODY_TIMEOUT_S,
    LOOPBACK_HOSTS,
    MAX_BODY_BYTES,
    MAX_WAITING,
    ModelQueue,
    RequestLimits,
)
from litecomplete.app.registry import ModelRegistry
from litecomplete.app.schema import CompletionRequest, error_payload
from litecomplete.app.suggester import Delta, Suggester, Suggestions, SuggestRequest
from litecomplete.errors import ConfigError, LitecompleteError
from litecomplete.runtime.generation import FinishReason, GenerationConfig
from litecomplete.runtime.sampling import SamplingConfig
from litecomplete.runtime.speculative import Speculation
from litecomplete.safety import ProfanityFilter, default_filter

logger = logging.getLogger(__name__)

WEB_FILES = {"app.js": "text/javascript", "style.css": "text/css"}
# The page runs only its own files and talks only to this server; no other site may
# frame it (clickjacking) or have its files read as another type.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _choice_json(index: int, text: str, finish_reason: FinishReason | None) -> dict[str, Any]:
    """A choice as OpenAI's completions answer it (and each streamed chunk)."""
    reason = None if finish_reason is None else finish_reason.openai
    return {"text": text, "index": index, "logprobs": None, "finish_reason": reason}


@dataclass(frozen=True)
class ServerState:
    """What the routes share: the models, the filter, how to speculate, the wait queue."""

    registry: ModelRegistry
    profanity: ProfanityFilter
    speculation: Speculation
    queue: ModelQueue

    def run_locked(self, model_id: str, work: Callable[[Suggester], Any]) -> Any:
        """``work`` on model ``model_id`` alone; leaves the queue when done."""
        try:
            with self.registry.lock(model_id):
                return work(Suggester(self.registry.load(model_id), self.profanity))
        finally:
            self.queue.leave(model_id)

    def locked_stream(self, model_id: str, request: SuggestRequest) -> Generator[Delta, None, None]:
        """``request``'s deltas, model ``model_id`` held until the stream ends or closes."""
        try:  # runs to its end, or is closed when the client goes
            with self.registry.lock(model_id):
                model = self.registry.load(model_id)
                yield from Suggester(model, self.profanity).stream(request)
        finally:
            self.queue.leave(model_id)

    def enter_queue(self, model_id: str) -> None:
        if not self.queue.enter(model_id):
            raise ApiError(
                503,
                f"model {model_id!r} has {self.queue.max_waiting} requests waiting; try again "
                "later",
                "model",
                "server_busy",
            )

    async def in_thread(self, call: Callable[[], Any], model_work: bool = False) -> Any:
        """``call`` in a worker thread (a model's work under the queue's limiter)."""
        limiter = self.queue.limiter if model_work else None
        return await anyio.to_thread.run_sync(call, limiter=limiter)


def _server(request: Request) -> ServerState:
    state: ServerState = request.app.state.server
    return state


Server = Annotated[ServerState, Depends(_server)]
router = APIRouter()


# ------------------------------------------------------------ pages


def _web_file(name: str) -> str:
    return (resources.files("litecomplete.app") / "web" / name).read_text("utf-8")


@router.get("/", include_in_schema=False)
async def index() -> HTMLResponse:
    return HTMLResponse(_web_file("index.html"), headers=PAGE_HEADERS)


@router.get("/static/{name}", include_in_schema=False)
async def static(name: str) -> Response:
    if name not in WEB_FILES:  # a fixed set: no path reaches the file system
        raise ApiError(404, f"no static file {name!r}")
    return Response(_web_file(name), media_type=WEB_FILES[name], headers=PAGE_HEADERS)


# ------------------------------------------------------------ API


# Plain functions: FastAPI runs them in a worker thread, away from the event loop,
# since listing models checks each file (reading it whole the first time).
@router.get("/health")
def health(server: Server) -> dict[str, Any]:
    return {"status": "ok", "models": [e.id for e in server.registry.usable()]}


@router.get("/v1/models")
def models(server: Server) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {
                "id": e.id,
                "object": "model",
                "created": int(e.path.stat().st_mtime),
                "owned_by": "litecomplete",
                "format": e.format.value if e.format else None,
                "size_bytes": e.size_bytes,
                "max_length": e.max_length,
            }
            for e in server.registry.usable()
        ],
    }


def suggest_request(
    body: CompletionRequest, max_length: int | None, speculation: Speculation
) -> SuggestRequest:
    """The request's generation settings, checked against the model's cache."""
    field = body.unsupported()
    if field is not None:
        raise ApiError(400, f"{field} is not supported by this server", field, "unsupported")
    if max_length is not None and body.max_tokens >= max_length:
        raise ApiError(
            400,
            f"max_tokens {body.max_tokens} does not fit the model's {max_length}-token cache",
            "max_tokens",
        )
    try:
        config = GenerationConfig(
            max_new_tokens=body.max_tokens,
            sampling=SamplingConfig(
                temperature=body.temperature,
                top_k=body.top_k,
                top_p=body.top_p,
                repetition_penalty=body.repetition_penalty,
                seed=body.seed,
            ),
            stop=body.stop_list(),
            max_prompt_tokens=body.context_tokens,
            speculation=speculation,
            heal=body.heal,
        )
    except ConfigError as e:
        raise ApiError(400, str(e)) from None
    return SuggestRequest(body.prompt_text(), config, body.n, body.context_words)


@dataclass(frozen=True)
class _Answer:
    """The fields every answer to one completion request repeats."""

    id: str
    created: int
    model: str

    def head(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "text_completion",
            "created": self.created,
            "model": self.model,
        }

    def chunk(self, delta: Delta) -> str:
        choice = _choice_json(delta.index, delta.text, delta.finish_reason)
        return f"data: {json.dumps(self.head() | {'choices': [choice]})}\n\n"


def _stream_error(e: Exception) -> str:
    """An error after the status went out: one last event."""
    if isinstance(e, LitecompleteError):
        payload = error_payload(str(e), "server_error", "model", "model_error")
    else:
        logger.error("stream failed", exc_info=e)
        message = f"internal error ({type(e).__name__})"
        payload = error_payload(message, "server_error", code="internal_error")
    return f"data: {json.dumps(payload)}\n\n"


async def _streamed(
    server: ServerState, answer: _Answer, request: SuggestRequest
) -> StreamingResponse:
    deltas = server.locked_stream(answer.model, request)
    first = await server.in_thread(lambda: next(deltas, None), model_work=True)

    async def events() -> AsyncIterator[str]:
        try:
            delta = first
            while delta is not None:
                yield answer.chunk(delta)
                try:
                    delta = await anyio.to_thread.run_sync(
                        next, deltas, None, limiter=server.queue.limiter
                    )
                except Exception as e:  # the status is sent: the error is an event
                    yield _stream_error(e)
                    return
            yield "data: [DONE]\n\n"
        finally:  # a client gone mid-stream: free the model for the next one
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(deltas.close)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/v1/completions", response_model=None)
async def completions(body: CompletionRequest, server: Server) -> JSONResponse | StreamingResponse:
    # A file's first check reads all of it: off the event loop (unknown model: 404).
    entry = await server.in_thread(lambda: server.registry.entry(body.model))
    request = suggest_request(body, entry.max_length, server.speculation)
    answer = _Answer(f"cmpl-{uuid.uuid4().hex}", int(time.time()), entry.id)
    server.enter_queue(entry.id)  # left when the generation ends (run_locked, locked_stream)
    if body.stream:
        return await _streamed(server, answer, request)
    made: Suggestions = await server.in_thread(
        lambda: server.run_locked(entry.id, lambda suggester: suggester.complete(request)),
        model_work=True,
    )
    prompt_tokens = made.prompt_tokens
    completion_tokens = sum(c.tokens for c in made.choices)
    choices = [_choice_json(c.index, c.text, c.finish_reason) for c in made.choices]
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    return JSONResponse(answer.head() | {"choices": choices, "usage": usage})


def create_app(
    registry: ModelRegistry,
    profanity: ProfanityFilter | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    cors_origins: tuple[str, ...] = (),
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS,
    body_timeout_s: float = BODY_TIMEOUT_S,
    max_waiting: int = MAX_WAITING,
    speculation: Speculation | None = None,
) -> FastAPI:
    """The server's ASGI app over the models of ``registry``.

    ``speculation``: how fast-format models draft tokens (default ``auto``).

    ``allowed_hosts``: the ``Host`` names it answers to (``"*"``: any); the default,
    loopback names only, keeps web pages from reaching it through DNS rebinding.
    """
    app = FastAPI(title="litecomplete", docs_url=None, redoc_url=None, openapi_url=None)
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST"]
        )
    app.add_middleware(
        RequestLimits,
        max_body_bytes=max_body_bytes,
        body_timeout_s=body_timeout_s,
        allowed_hosts=allowed_hosts,
    )
    install_handlers(app)
    app.include_router(router)
    app.state.server = ServerState(
        registry,
        profanity or default_filter(),
        speculation or Speculation(),
        ModelQueue(max_waiting),
    )
    app.state.registry = registry
    return app
