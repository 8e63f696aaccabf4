"""Suggestions as the app makes them: context window, profanity filter, retries.

The prompt is checked first and refused if it contains a listed word (the seed app's
"Mind your language!"). Every suggestion is checked too, joined to the end of the
prompt: a word the user began may end in the suggestion (the ghost text completes
words as they are typed), and a word of the prompt may make a phrase with it. A
profane one is generated again, up to ``RETRIES`` times, then the choice ends empty
with finish reason ``content_filter`` (the seed app's "no suggestions"). A greedy
request's retries sample (temperature ``RETRY_TEMPERATURE``), since greedy decoding
would repeat itself.

Streaming sends each piece as it comes, except a last word that more letters could
make a listed one ("fu", "sh"; ``ProfanityFilter.may_grow_profane``), held back until
it is complete, and leading whitespace, held back until a word follows it. It checks
the whole suggestion so far before sending anything: a profane word found before
anything was sent starts a retry; found later, the stream ends there, with
``content_filter``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Protocol

from litecomplete.errors import ProfanePromptError
from litecomplete.runtime.app_model import AppModel
from litecomplete.runtime.context import newest_words
from litecomplete.runtime.generation import Completion, FinishReason, GenerationConfig, Piece
from litecomplete.safety import ProfanityFilter

RETRIES = 3
RETRY_TEMPERATURE = 0.8
RETRY_TOP_K = 40
PROFANE_PROMPT_MESSAGE = "Mind your language! The text contains words the profanity filter blocks."


class TextGenerator(Protocol):
    """What suggests text a piece at a time under a ``GenerationConfig``: a
    ``FastModel``, or a test's scripted stand-in. (An ``AppModel`` samples inside its
    graph and answers whole.)"""

    def complete(self, prompt: str, config: GenerationConfig) -> Completion: ...
    def stream(self, prompt: str, config: GenerationConfig) -> Iterator[Piece]: ...


@dataclass(frozen=True)
class SuggestRequest:
    prompt: str
    config: GenerationConfig
    n: int = 1
    context_words: int | None = None  # keep the prompt's newest words only


@dataclass(frozen=True)
class Suggestion:
    index: int
    text: str
    finish_reason: FinishReason
    tokens: int


@dataclass(frozen=True)
class Suggestions:
    choices: list[Suggestion]
    prompt_tokens: int  # tokens of the prompt the model saw (words, for an app model)


@dataclass(frozen=True)
class Delta:
    """A streamed piece of choice ``index``; ``finish_reason`` is set on its last one."""

    index: int
    text: str
    finish_reason: FinishReason | None = None


def _attempt_config(config: GenerationConfig, index: int, attempt: int) -> GenerationConfig:
    sampling = config.sampling.reseeded(index + 1000 * attempt)
    if attempt and sampling.greedy:  # a retry must be able to say something else
        sampling = replace(sampling, temperature=RETRY_TEMPERATURE, top_k=RETRY_TOP_K)
    return replace(config, sampling=sampling)


# How much of the prompt's end a suggestion is checked with: its last characters, from
# the start of a word (the whole prompt was checked already).
CHECKED_PROMPT_CHARS = 500


def prompt_end(prompt: str) -> str:
    """The end of ``prompt`` a suggestion is checked joined to."""
    if len(prompt) <= CHECKED_PROMPT_CHARS:
        return prompt
    end = prompt[-CHECKED_PROMPT_CHARS:]
    space = re.search(r"\s", end)
    return end[space.end() :] if space else end


# Text up to the end of the last complete word: what streaming may send of text whose
# last word is held back.
_WORD_END = re.compile(r".*[\s.,;:!?\"')\]}]", re.DOTALL)


class Suggester:
    """Runs ``SuggestRequest``s on one loaded model with one profanity filter."""

    def __init__(self, model: AppModel | TextGenerator, profanity: ProfanityFilter) -> None:
        self.model = model
        self.profanity = profanity

    def prompt_of(self, request: SuggestRequest) -> str:
        """The text the model sees; ProfanePromptError if the user's text is profane."""
        if self.profanity.is_profane(request.prompt):
            raise ProfanePromptError(PROFANE_PROMPT_MESSAGE)
        if request.context_words is None:
            return request.prompt
        return newest_words(request.prompt, request.context_words)

    def _generate(self, prompt: str, config: GenerationConfig) -> tuple[Suggestion, int]:
        """One unchecked suggestion (as choice 0) and the prompt tokens it was made from."""
        if not isinstance(self.model, AppModel):
            result = self.model.complete(prompt, config)
            choice = Suggestion(0, result.text, result.finish_reason, len(result.token_ids))
            return choice, result.prompt_tokens
        text = self.model.complete(prompt)  # the app graph samples on its own
        return Suggestion(0, text, FinishReason.STOP, len(text.split())), len(prompt.split())

    def _choice(self, prompt: str, config: GenerationConfig, index: int) -> tuple[Suggestion, int]:
        """Suggestion ``index``: the first clean one of 1 + RETRIES attempts, else empty."""
        prompt_tokens, end = 0, prompt_end(prompt)
        for attempt in range(1 + RETRIES):
            choice, prompt_tokens = self._generate(prompt, _attempt_config(config, index, attempt))
            if not self.profanity.is_profane(end + choice.text):
                return replace(choice, index=index), prompt_tokens
        return Suggestion(index, "", FinishReason.CONTENT_FILTER, 0), prompt_tokens

    def complete(self, request: SuggestRequest) -> Suggestions:
        """``request.n`` checked suggestions."""
        prompt = self.prompt_of(request)
        made = [self._choice(prompt, request.config, index) for index in range(request.n)]
        return Suggestions([choice for choice, _ in made], made[-1][1])

    def stream(self, request: SuggestRequest) -> Iterator[Delta]:
        """The choices of ``request`` piece by piece, one choice after another."""
        prompt = self.prompt_of(request)
        for index in range(request.n):
            yield from self._stream_choice(prompt, request.config, index)

    def _stream_choice(self, prompt: str, config: GenerationConfig, index: int) -> Iterator[Delta]:
        if isinstance(self.model, AppModel):
            choice, _ = self._choice(prompt, config, index)
            yield Delta(index, choice.text, choice.finish_reason)
            return
        end = prompt_end(prompt)
        for attempt in range(1 + RETRIES):
            sent = ""  # text already streamed
            text = ""  # text generated
            reason: FinishReason | None = None
            for piece in self.model.stream(prompt, _attempt_config(config, index, attempt)):
                text += piece.text
                if piece.finish_reason is not None:
                    reason = piece.finish_reason
                    ready = text
                elif self.profanity.may_grow_profane(end + text):
                    match = _WORD_END.match(text, len(sent))
                    ready = text[: match.end()] if match else sent
                else:  # its last word, finished or not, begins no listed one: out now
                    ready = text
                if len(ready) == len(sent) or (reason is None and not ready.strip()):
                    continue  # nothing new, or nothing to see yet: a retry stays possible
                if self.profanity.is_profane(end + ready):
                    if sent:  # part of it is out: end the stream at the clean part
                        yield Delta(index, "", FinishReason.CONTENT_FILTER)
                        return
                    break  # nothing sent yet: try again
                yield Delta(index, ready[len(sent) :])
                sent = ready
            else:
                yield Delta(index, "", reason or FinishReason.STOP)
                return
        yield Delta(index, "", FinishReason.CONTENT_FILTER)
