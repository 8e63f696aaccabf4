"""HTTP errors in OpenAI's shape: one table from error class to status, and the app's
exception handlers (``install_handlers``).

Anything the client caused answers 4xx; an unexpected error answers 500 in the same
shape and is logged with its traceback.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from litecomplete.app.schema import error_payload
from litecomplete.errors import (
    ConfigError,
    LitecompleteError,
    ModelNotFoundError,
    ModelRunError,
    ProfanePromptError,
    PromptError,
)

logger = logging.getLogger(__name__)


def error_json(
    status: int, message: str, param: str | None = None, code: str | None = None
) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse(error_payload(message, kind, param, code), status_code=status)


class ApiError(Exception):
    """An answer decided in a route (a bad field, a full queue): raised, answered as is."""

    def __init__(
        self, status: int, message: str, param: str | None = None, code: str | None = None
    ):
        super().__init__(message)
        self.response = error_json(status, message, param, code)


class ErrorStatus(NamedTuple):
    """How an error class answers: HTTP status, OpenAI ``param`` and ``code``, and the
    message (``{}``: the error's own)."""

    status: int
    param: str | None
    code: str | None
    message: str = "{}"


# Errors raised while a request's model work runs, most specific first; anything else
# is an internal error (500, logged).
ERROR_STATUS: tuple[tuple[type[LitecompleteError], ErrorStatus], ...] = (
    (ProfanePromptError, ErrorStatus(400, "prompt", "profanity")),
    (PromptError, ErrorStatus(400, "prompt", None)),
    (ConfigError, ErrorStatus(400, "prompt", None)),
    (ModelNotFoundError, ErrorStatus(404, "model", "model_not_found")),
    (ModelRunError, ErrorStatus(500, "model", "model_error")),
    (
        LitecompleteError,
        ErrorStatus(503, "model", "model_unavailable", "model could not be loaded: {}"),
    ),
)


def error_response(error: LitecompleteError) -> JSONResponse:
    """``error`` as its ``ERROR_STATUS`` entry answers it."""
    for kind, answer in ERROR_STATUS:
        if isinstance(error, kind):
            message = answer.message.format(error)
            return error_json(answer.status, message, answer.param, answer.code)
    raise AssertionError("LitecompleteError closes the table")


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


async def _invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    message, param = _validation_message(exc)
    return error_json(400, message, param)


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = str(exc.detail)
    if detail == "There was an error parsing the body":  # undecodable bytes
        detail = "request body is not valid JSON (UTF-8)"
    return error_json(exc.status_code, detail)


async def _api(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return exc.response


async def _litecomplete(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LitecompleteError)
    return error_response(exc)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    # Still a JSON error in OpenAI's shape; the traceback goes to the log.
    logger.error("request failed", exc_info=exc)
    return error_json(500, f"internal error ({type(exc).__name__})", code="internal_error")


def install_handlers(app: FastAPI) -> None:
    """Every error ``app`` raises answers in OpenAI's shape."""
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(ApiError, _api)
    app.add_exception_handler(LitecompleteError, _litecomplete)
    app.add_exception_handler(Exception, _unexpected)
