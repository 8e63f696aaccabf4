"""The OpenAI completions wire format, as litecomplete accepts and answers it.

Accepted beyond OpenAI's fields: ``top_k``, ``repetition_penalty``,
``context_words`` (keep the prompt's newest words, the seed app's slider),
``context_tokens`` (keep its newest tokens) and ``heal`` (the prompt may end inside a
word: the completion finishes it first; fast-format models). OpenAI fields with no meaning here
(``logprobs``, ``echo``, ``best_of`` > 1, ``suffix``) are refused when set, and
unknown fields are ignored as OpenAI's server does.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from litecomplete.runtime.context import MAX_CONTEXT_WORDS, MIN_CONTEXT_WORDS

MAX_N = 8
MAX_STOP = 4
MAX_TOKENS_CAP = 512  # per choice; a model's own cache may allow fewer


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(default="default", min_length=1, max_length=128)
    prompt: str | list[str]
    max_tokens: int = Field(default=16, ge=1, le=MAX_TOKENS_CAP)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    top_k: int = Field(default=0, ge=0, le=1000)
    repetition_penalty: float = Field(default=1.0, gt=0.0, le=10.0)
    n: int = Field(default=1, ge=1, le=MAX_N)
    stop: str | list[str] | None = None
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)
    stream: bool = False
    context_words: int | None = Field(default=None, ge=MIN_CONTEXT_WORDS, le=MAX_CONTEXT_WORDS)
    context_tokens: int | None = Field(default=None, ge=1, le=1 << 20)
    heal: bool = False
    # OpenAI fields litecomplete does not implement: refused unless left at their defaults.
    logprobs: int | None = None
    echo: bool = False
    best_of: int | None = None
    suffix: str | None = None
    user: str | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and len(value) != 1:
            raise ValueError("give one prompt (a string, or a list holding one string)")
        text = value if isinstance(value, str) else value[0]
        if not text.strip():
            raise ValueError("prompt is empty; give some text to complete")
        return value

    @field_validator("stop")
    @classmethod
    def _stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        stops = [value] if isinstance(value, str) else value or []
        if len(stops) > MAX_STOP:
            raise ValueError(f"at most {MAX_STOP} stop sequences")
        if any(not s for s in stops):
            raise ValueError("stop sequences must not be empty")
        return value

    def prompt_text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]

    def stop_list(self) -> tuple[str, ...]:
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())

    def unsupported(self) -> str | None:
        """The first OpenAI field set to something litecomplete does not do."""
        if self.logprobs is not None:
            return "logprobs"
        if self.echo:
            return "echo"
        if self.best_of not in (None, 1):
            return "best_of"
        if self.suffix:
            return "suffix"
        if self.presence_penalty or self.frequency_penalty:
            return "presence_penalty" if self.presence_penalty else "frequency_penalty"
        return None


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


def error_payload(
    message: str,
    kind: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    return {"error": ErrorBody(message=message, type=kind, param=param, code=code).model_dump()}
