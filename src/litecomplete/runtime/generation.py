"""Generation settings and results shared by runtimes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np

from litecomplete.errors import require_at_least
from litecomplete.runtime.sampling import SamplingConfig
from litecomplete.runtime.speculative import Speculation


class TokenModel(Protocol):
    """A model driven a token at a time: what evaluation and benchmarks call
    (``FastModel``, and llama.cpp behind ``bench.engines``)."""

    def feed(self, ids: list[int]) -> np.ndarray:
        """Make ``ids`` the model's sequence (reusing what it holds); logits after it."""
        ...

    def step(self, token: int) -> np.ndarray:
        """Append ``token``; logits float32[vocab] after it."""
        ...


class FinishReason(StrEnum):
    """Why a completion ended."""

    STOP = "stop"  # end token or a stop string
    LENGTH = "length"  # max_new_tokens reached
    CACHE_FULL = "cache_full"  # the KV cache has no room for another token
    CONTENT_FILTER = "content_filter"  # the profanity filter withheld the text (the app)

    @property
    def openai(self) -> str:
        """The reason as OpenAI's completions API names it: a full cache is ``length``."""
        return FinishReason.LENGTH.value if self is FinishReason.CACHE_FULL else self.value


@dataclass(frozen=True)
class GenerationConfig:
    """What to generate.

    Attributes:
        max_new_tokens: most tokens to generate.
        sampling: how each token is chosen.
        stop: strings that end the completion; the completion excludes them.
        stop_at_end_token: stop at the model's end token.
        max_prompt_tokens: keep at most this many of the prompt's newest tokens
            (None: as many as leave room for the completion).
        speculation: how a fast-format model drafts tokens to check many per call
            (``runtime.speculative``); the output is the same either way.
        heal: the prompt may end inside a word (a keystroke's text): its last word
            is fed as the completion's first tokens, chosen to spell it again, and
            left out of the text (``runtime.healing``; fast-format models).
    """

    max_new_tokens: int = 32
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    stop: tuple[str, ...] = ()
    stop_at_end_token: bool = True
    max_prompt_tokens: int | None = None
    speculation: Speculation = field(default_factory=Speculation)
    heal: bool = False

    def __post_init__(self) -> None:
        require_at_least("max_new_tokens", self.max_new_tokens, 1)
        if self.max_prompt_tokens is not None:
            require_at_least("max_prompt_tokens", self.max_prompt_tokens, 1)
        if not isinstance(self.stop, tuple):
            object.__setattr__(self, "stop", tuple(self.stop))


@dataclass(frozen=True)
class Piece:
    """One streamed piece of a completion."""

    text: str
    token_ids: tuple[int, ...]
    finish_reason: FinishReason | None = None  # set on the last piece


@dataclass(frozen=True)
class Completion:
    text: str
    token_ids: list[int]
    finish_reason: FinishReason
    prompt_tokens: int  # tokens of the prompt the model saw (after trimming)
    reused_tokens: int  # prompt tokens whose KV cache came from the previous call
