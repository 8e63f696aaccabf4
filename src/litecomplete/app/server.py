"""The HTTP server: the web page, the OpenAI-compatible completions API, health and models.

Every error answers in OpenAI's shape (``{"error": {"message", "type", "param",
"code"}}``) with a 4xx status for anything the client caused; the server keeps
serving. Models run one request at a time each (``ModelRegistry.lock``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Generator
from importlib import resources
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from litecomplete.app.engine import (
    Delta,
    ProfanePromptError,
    Suggester,
    Suggestions,
    SuggestRequest,
)
from litecomplete.app.registry import ModelRegistry
from litecomplete.app.schema import CompletionRequest, error_payload
from litecomplete.errors import ConfigError, LitecompleteError, PromptError
from litecomplete.runtime.generation import GenerationConfig
from litecomplete.runtime.sampling import SamplingConfig
from litecomplete.safety import ProfanityFilter, default_filter

MAX_BODY_BYTES = 256 * 1024
WEB_FILES = {"app.js": "text/javascript", "style.css": "text/css"}


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._reject(send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            error_payload(f"request body exceeds {self.limit} bytes", code="body_too_large")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _error(
    status: int, message: str, param: str | None = None, code: str | None = None
) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse(error_payload(message, kind, param, code), status_code=status)


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, param: str | None = None, code: str | None = None
    ):
        super().__init__(message)
        self.response = _error(status, message, param, code)


def _choice_json(index: int, text: str, finish_reason: str | None) -> dict[str, Any]:
    """A choice as OpenAI's completions answer it (and each streamed chunk)."""
    return {"text": text, "index": index, "logprobs": None, "finish_reason": finish_reason}


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "invalid request", None
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ()) if part != "body"]
    if first.get("type") == "json_invalid":
        return "request body is not valid JSON (UTF-8)", None
    param = loc[0] if loc else None
    where = ".".join(loc)
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return (f"{where}: {message}" if where else message), param


def create_app(
    registry: ModelRegistry,
    profanity: ProfanityFilter | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    cors_origins: tuple[str, ...] = (),
) -> FastAPI:
    """The server's ASGI app over the models of ``registry``."""
    profanity = profanity or default_filter()
    app = FastAPI(title="litecomplete", docs_url=None, redoc_url=None, openapi_url=None)
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST"]
        )
    app.add_middleware(BodyLimit, limit=max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(exc)
        return _error(400, message, param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = str(exc.detail)
        if detail == "There was an error parsing the body":  # undecodable bytes
            detail = "request body is not valid JSON (UTF-8)"
        return _error(exc.status_code, detail)

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return exc.response

    # ------------------------------------------------------------ pages

    def web_file(name: str) -> str:
        return (resources.files("litecomplete.app") / "web" / name).read_text("utf-8")

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(web_file("index.html"))

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in WEB_FILES:  # a fixed set: no path reaches the file system
            raise ApiError(404, f"no static file {name!r}")
        return Response(web_file(name), media_type=WEB_FILES[name])

    # ------------------------------------------------------------ API

    # Plain functions: FastAPI runs them in a worker thread, away from the event loop,
    # since listing models checks each file (reading it whole the first time).
    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "models": [e.id for e in registry.usable()]}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
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
                for e in registry.usable()
            ],
        }

    def suggest_request(body: CompletionRequest, max_length: int | None) -> SuggestRequest:
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
            )
        except ConfigError as e:
            raise ApiError(400, str(e)) from None
        return SuggestRequest(body.prompt_text(), config, body.n, body.context_words)

    def run_locked(model_id: str, work: Callable[[Suggester], Any]) -> Any:
        with registry.lock(model_id):
            return work(Suggester(registry.load(model_id), profanity))

    def locked_stream(model_id: str, request: SuggestRequest) -> Generator[Delta, None, None]:
        with registry.lock(model_id):
            yield from Suggester(registry.load(model_id), profanity).stream(request)

    async def in_thread(call: Callable[[], Any]) -> Any:
        try:
            return await anyio.to_thread.run_sync(call)
        except ProfanePromptError as e:
            raise ApiError(400, str(e), "prompt", "profanity") from None
        except (PromptError, ConfigError) as e:
            raise ApiError(400, str(e), "prompt") from None
        except KeyError as e:
            raise ApiError(404, str(e.args[0]), "model", "model_not_found") from None
        except LitecompleteError as e:
            raise ApiError(
                503, f"model could not be loaded: {e}", "model", "model_unavailable"
            ) from None

    @app.post("/v1/completions", response_model=None)
    async def completions(body: CompletionRequest) -> JSONResponse | StreamingResponse:
        # A file's first check reads all of it: off the event loop (KeyError -> 404).
        entry = await in_thread(lambda: registry.entry(body.model))
        request = suggest_request(body, entry.max_length)
        completion_id = f"cmpl-{uuid.uuid4().hex}"
        created = int(time.time())

        def chunk(delta: Delta) -> str:
            payload = {
                "id": completion_id,
                "object": "text_completion",
                "created": created,
                "model": entry.id,
                "choices": [_choice_json(delta.index, delta.text, delta.finish_reason)],
            }
            return f"data: {json.dumps(payload)}\n\n"

        if body.stream:
            deltas = locked_stream(entry.id, request)
            first = await in_thread(lambda: next(deltas, None))

            async def events() -> AsyncIterator[str]:
                try:
                    delta = first
                    while delta is not None:
                        yield chunk(delta)
                        delta = await anyio.to_thread.run_sync(next, deltas, None)
                    yield "data: [DONE]\n\n"
                finally:  # a client gone mid-stream: free the model for the next one
                    with anyio.CancelScope(shield=True):
                        await anyio.to_thread.run_sync(deltas.close)

            return StreamingResponse(
                events(),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )

        made: Suggestions = await in_thread(
            lambda: run_locked(entry.id, lambda suggester: suggester.complete(request))
        )
        prompt_tokens = made.prompt_tokens
        completion_tokens = sum(c.tokens for c in made.choices)
        return JSONResponse(
            {
                "id": completion_id,
                "object": "text_completion",
                "created": created,
                "model": entry.id,
                "choices": [_choice_json(c.index, c.text, c.finish_reason) for c in made.choices],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    app.state.registry = registry
    return app
