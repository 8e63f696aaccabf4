"""The HTTP server: the web page, the OpenAI-compatible completions API, health and models.

Every error answers in OpenAI's shape (``{"error": {"message", "type", "param",
"code"}}``) with a 4xx status for anything the client caused; the server keeps
serving. Models run one request at a time each (``ModelRegistry.lock``).
"""

from __future__ import annotations

import json
import logging
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

from litecomplete.app.engine import (
    Delta,
    ProfanePromptError,
    Suggester,
    Suggestions,
    SuggestRequest,
)
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
from litecomplete.errors import ConfigError, LitecompleteError, ModelRunError, PromptError
from litecomplete.runtime.generation import GenerationConfig
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
    profanity = profanity or default_filter()
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

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Still a JSON error in OpenAI's shape; the traceback goes to the log.
        logger.error("request failed", exc_info=exc)
        return _error(500, f"internal error ({type(exc).__name__})", code="internal_error")

    # ------------------------------------------------------------ pages

    def web_file(name: str) -> str:
        return (resources.files("litecomplete.app") / "web" / name).read_text("utf-8")

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(web_file("index.html"), headers=PAGE_HEADERS)

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in WEB_FILES:  # a fixed set: no path reaches the file system
            raise ApiError(404, f"no static file {name!r}")
        return Response(web_file(name), media_type=WEB_FILES[name], headers=PAGE_HEADERS)

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
                speculation=speculation or Speculation(),
            )
        except ConfigError as e:
            raise ApiError(400, str(e)) from None
        return SuggestRequest(body.prompt_text(), config, body.n, body.context_words)

    queue = ModelQueue(max_waiting)

    def run_locked(model_id: str, work: Callable[[Suggester], Any]) -> Any:
        try:
            with registry.lock(model_id):
                return work(Suggester(registry.load(model_id), profanity))
        finally:
            queue.leave(model_id)

    def locked_stream(model_id: str, request: SuggestRequest) -> Generator[Delta, None, None]:
        try:  # runs to its end, or is closed when the client goes
            with registry.lock(model_id):
                yield from Suggester(registry.load(model_id), profanity).stream(request)
        finally:
            queue.leave(model_id)

    def enter_queue(model_id: str) -> None:
        if not queue.enter(model_id):
            raise ApiError(
                503,
                f"model {model_id!r} has {queue.max_waiting} requests waiting; try again later",
                "model",
                "server_busy",
            )

    async def in_thread(call: Callable[[], Any], model_work: bool = False) -> Any:
        limiter = queue.limiter if model_work else None
        try:
            return await anyio.to_thread.run_sync(call, limiter=limiter)
        except ProfanePromptError as e:
            raise ApiError(400, str(e), "prompt", "profanity") from None
        except (PromptError, ConfigError) as e:
            raise ApiError(400, str(e), "prompt") from None
        except KeyError as e:
            raise ApiError(404, str(e.args[0]), "model", "model_not_found") from None
        except ModelRunError as e:
            raise ApiError(500, str(e), "model", "model_error") from None
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

        def stream_error(e: Exception) -> str:
            if isinstance(e, LitecompleteError):
                payload = error_payload(str(e), "server_error", "model", "model_error")
            else:
                logger.error("stream failed", exc_info=e)
                message = f"internal error ({type(e).__name__})"
                payload = error_payload(message, "server_error", code="internal_error")
            return f"data: {json.dumps(payload)}\n\n"

        enter_queue(entry.id)  # left when the generation ends (run_locked, locked_stream)
        if body.stream:
            deltas = locked_stream(entry.id, request)
            first = await in_thread(lambda: next(deltas, None), model_work=True)

            async def events() -> AsyncIterator[str]:
                try:
                    delta = first
                    while delta is not None:
                        yield chunk(delta)
                        try:
                            delta = await anyio.to_thread.run_sync(
                                next, deltas, None, limiter=queue.limiter
                            )
                        except Exception as e:  # the status is sent: the error is an event
                            yield stream_error(e)
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

        made: Suggestions = await in_thread(
            lambda: run_locked(entry.id, lambda suggester: suggester.complete(request)),
            model_work=True,
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
