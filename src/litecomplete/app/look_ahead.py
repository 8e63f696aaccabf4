"""Look-ahead for live suggestions: the next keystroke's answers, made while the user types.

A streamed greedy request with ``look_ahead: N`` (the web page's ghost text sends it)
asks the server to spend the time until the next request on it. Once its answer is
out, the model answers the same request for the prompt followed by each of the N
likeliest next characters other than the answer's own first (a key that matches the
answer keeps it on the page without asking), one after another, and keeps those
answers (``AnswerCache``). A request that matches one is answered from it without
running the model. The likeliest characters are the first characters of the model's
likeliest next tokens.

The work gives way to requests: it stops between two model calls as soon as any
request is in hand, so it delays one by a model call at most. An answer is kept only
when it was made whole, and only for a greedy request, whose answer depends on the
prompt and the settings alone (the model's cached prefix changes how much is
computed, not what).
"""

from __future__ import annotations

import logging
import math
import statistics
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from litecomplete.app.suggester import Delta, Suggester, SuggestRequest
from litecomplete.errors import LitecompleteError
from litecomplete.runtime.generation import Completion, GenerationConfig, Piece

if TYPE_CHECKING:
    from litecomplete.runtime.fast_model import FastModel

logger = logging.getLogger(__name__)

MAX_LOOK_AHEAD = 8  # characters a request may ask for
KEPT_ANSWERS = 64  # answers kept over all models, the oldest dropped first
PACE_GAPS = 8  # gaps between a model's requests that give the user's pace
PAUSE_S = 2.0  # a longer gap is a pause, not the pace of typing
# Tokens scanned, likeliest first, for distinct first characters.
SCANNED_TOKENS = 64


class AnswerCache:
    """Whole streamed answers by model and request (``look_ahead`` aside), newest kept."""

    def __init__(self, size: int = KEPT_ANSWERS) -> None:
        self.size = size
        self.used = 0  # answers given from here so far
        self._answers: OrderedDict[tuple[str, SuggestRequest], tuple[Delta, ...]] = OrderedDict()
        self._guard = threading.Lock()

    @staticmethod
    def key(model_id: str, request: SuggestRequest) -> tuple[str, SuggestRequest]:
        return model_id, replace(request, look_ahead=0)

    def get(self, model_id: str, request: SuggestRequest) -> tuple[Delta, ...] | None:
        key = self.key(model_id, request)
        with self._guard:
            answer = self._answers.get(key)
            if answer is not None:
                self._answers.move_to_end(key)
                self.used += 1
            return answer

    def put(self, model_id: str, request: SuggestRequest, answer: tuple[Delta, ...]) -> None:
        key = self.key(model_id, request)
        with self._guard:
            self._answers[key] = answer
            self._answers.move_to_end(key)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)

    def __contains__(self, item: tuple[str, SuggestRequest]) -> bool:
        with self._guard:
            return self.key(*item) in self._answers


def kept(request: SuggestRequest) -> bool:
    """Whether ``request``'s answer may be kept: one greedy choice."""
    return request.n == 1 and request.config.sampling.greedy


class _Stopped(Exception):
    """A request came for the model: look-ahead gives way."""


class _GivingWay:
    """A model's ``stream`` that stops after any piece once ``stop()`` says so."""

    def __init__(self, model: FastModel, stop: Callable[[], bool]) -> None:
        self.model = model
        self.stop = stop

    def stream(self, prompt: str, config: GenerationConfig) -> Iterator[Piece]:
        pieces = self.model.stream(prompt, config)
        try:
            for piece in pieces:
                if self.stop():
                    raise _Stopped
                yield piece
        finally:  # the generation ends here, its cache and drafts as after any stop
            close = getattr(pieces, "close", None)
            if close is not None:
                close()

    def complete(self, prompt: str, config: GenerationConfig) -> Completion:
        return self.model.complete(prompt, config)


def next_characters(
    model: FastModel, prompt: str, config: GenerationConfig, count: int, exclude: str = ""
) -> list[str]:
    """The ``count`` likeliest characters to follow ``prompt`` (as ``config`` feeds it),
    other than ``exclude``: the first characters of the likeliest next tokens, in
    order, printable ones only."""
    ids = model.prompt_ids(prompt, config.max_new_tokens, config.max_prompt_tokens)
    logits = model.feed(ids)
    top = np.argpartition(-logits, SCANNED_TOKENS)[:SCANNED_TOKENS]
    found: list[str] = []
    for token in top[np.argsort(-logits[top])]:
        if int(token) in model.end_token_ids:
            continue
        first = model.decode_text([int(token)])[:1]
        if first and first.isprintable() and first != exclude and first not in found:
            found.append(first)
            if len(found) == count:
                break
    return found


def look_ahead(
    suggester: Suggester,
    model_id: str,
    request: SuggestRequest,
    answer: str,
    cache: AnswerCache,
    stop: Callable[[], bool],
    deadline: float = math.inf,
) -> int:
    """The answers to ``request`` with each of its ``look_ahead`` likeliest next
    characters (not ``answer``'s first), kept in ``cache``; how many were made.

    Call with the model held; returns early, keeping what was whole, once ``stop()``,
    and starts no answer that would end after ``deadline`` (``time.monotonic``) if it
    took as long as the one before.
    """
    from litecomplete.runtime.fast_model import FastModel

    model = suggester.model
    if not isinstance(model, FastModel) or not kept(request) or stop():
        return 0
    try:
        prompt = suggester.prompt_of(request)
        characters = next_characters(model, prompt, request.config, request.look_ahead, answer[:1])
    except LitecompleteError:  # a prompt the model refuses: nothing to look ahead from
        return 0
    giving_way = Suggester(_GivingWay(model, stop), suggester.profanity)
    made, took = 0, 0.0
    for character in characters:
        following = replace(request, prompt=request.prompt + character, look_ahead=0)
        if (model_id, following) in cache:
            continue
        began = time.monotonic()
        if stop() or began + took > deadline:
            break
        try:
            deltas = tuple(giving_way.stream(following))
            took = time.monotonic() - began
        except _Stopped:
            break
        except LitecompleteError:
            continue  # a prompt the filter refuses: its request will say so itself
        cache.put(model_id, following, deltas)
        made += 1
    return made


class LookAheadWorker:
    """Runs the newest request's look-ahead in a thread of its own, the model held.

    ``schedule`` replaces a job not started yet; a running one stops at its next
    check once a newer one is scheduled or ``busy()`` (a request in hand, for any
    model: they share the cores).
    The user's pace sets its deadline: the next request is expected as long after
    this one came as the middle of the last gaps between requests (``PACE_GAPS``,
    pauses of over ``PAUSE_S`` left out).
    """

    def __init__(
        self,
        suggester_for: Callable[[str], Suggester],
        lock_for: Callable[[str], threading.Lock],
        busy: Callable[[], bool],
        cache: AnswerCache,
    ) -> None:
        self.suggester_for = suggester_for  # call with the model's lock held
        self.lock_for = lock_for
        self.busy = busy
        self.cache = cache
        self.made = 0  # answers made ahead over the worker's life
        self._job: tuple[str, SuggestRequest, str, float] | None = None
        self._came: dict[str, float] = {}  # when each model's last request came
        self._gaps: dict[str, deque[float]] = {}
        self._scheduled = 0  # jobs scheduled so far: a running job is stale once it grows
        self._running = False
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def schedule(self, model_id: str, request: SuggestRequest, answer: str, came: float) -> None:
        """Look ahead from ``request`` (which came at ``came``, ``time.monotonic``, and
        was answered ``answer``) once the model is free."""
        with self._wake:
            gaps = self._gaps.setdefault(model_id, deque(maxlen=PACE_GAPS))
            gap = came - self._came.get(model_id, -math.inf)
            if 0 < gap <= PAUSE_S:
                gaps.append(gap)
            self._came[model_id] = came
            deadline = came + statistics.median(gaps) if gaps else math.inf
            self._job = (model_id, request, answer, deadline)
            self._scheduled += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="litecomplete-look-ahead", daemon=True
                )
                self._thread.start()
            self._wake.notify_all()

    def idle(self, timeout: float) -> bool:
        """Wait until no job is waiting or running; False on ``timeout``."""
        with self._wake:
            return self._wake.wait_for(lambda: self._job is None and not self._running, timeout)

    def _serve(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._job is not None)
                assert self._job is not None
                job, self._job = self._job, None
                number, self._running = self._scheduled, True
            try:
                self._run(*job, number)
            except Exception:  # an extra: its failure is logged, no request's
                logger.exception("look-ahead failed")
            finally:
                with self._wake:
                    self._running = False
                    self._wake.notify_all()

    def _run(
        self, model_id: str, request: SuggestRequest, answer: str, deadline: float, number: int
    ) -> None:
        def stop() -> bool:
            return self._scheduled != number or self.busy()

        with self.lock_for(model_id):
            suggester = self.suggester_for(model_id)
            made = look_ahead(suggester, model_id, request, answer, self.cache, stop, deadline)
            self.made += made
