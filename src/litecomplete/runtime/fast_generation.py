"""Sampling a fast-format model's completion, token by token or a verified draft at a time.

``generate`` runs after a prompt is fed (``FastModel.feed`` machinery, its
``Prepared``): it samples each token from the logits after exactly the tokens before
it, whether those logits came from a decode step or from a verify call over guessed
tokens (``runtime.speculative``), and turns tokens into text pieces.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from litecomplete.errors import ConfigError, ModelFileError
from litecomplete.runtime.generation import Completion, FinishReason, GenerationConfig, Piece
from litecomplete.runtime.healing import Respelling
from litecomplete.runtime.sampling import TokenSampler
from litecomplete.runtime.speculative import (
    AUTO_MIN_NGRAM,
    LOOKUP_MIN_NGRAM,
    Drafter,
    LookupDrafter,
    ModelDrafter,
    Speculation,
    SpeculationMode,
)
from litecomplete.runtime.stopping import StopMatcher
from litecomplete.runtime.streaming import TextDecoder

if TYPE_CHECKING:
    from litecomplete.runtime.fast_model import FastModel


@dataclass
class Prepared:
    """A prompt fed into the caches: its ids and the logits that follow it."""

    ids: list[int]
    logits: np.ndarray
    reused: int
    # Guessed tokens verified after the prompt in the same call, with the logits after
    # each (a short extension fed with drafts); valid until another token is fed.
    ahead: list[tuple[int, np.ndarray]] = field(default_factory=list)
    # Bytes the prompt's healed end spelled, which the completion spells again first.
    respell: bytes = b""


def generate(
    model: FastModel,
    prepared: Prepared,
    config: GenerationConfig,
    sampler: TokenSampler,
    drafter: Drafter | None = None,
) -> Generator[Piece, None, None]:
    """Sample after ``prepared`` on ``model``; yields text pieces, the last with a finish
    reason.

    With a ``drafter``, the logits of the next positions may come from one verify
    call over guessed tokens (``runtime.speculative``); every token is still sampled
    from the logits after exactly the tokens before it. A healed prompt
    (``prepared.respell``) has its first tokens chosen among those that spell the
    removed text again, and the pieces leave that text out (``runtime.healing``).
    """
    model.cached = list(prepared.ids)
    logits, pos = prepared.logits, len(prepared.ids)
    history = list(prepared.ids)
    decoder = TextDecoder(model.tokenizer, lambda: model.tokens.spelling.spelled)
    stops = StopMatcher(config.stop)
    generated = 0
    held: list[int] = []  # tokens not yet in a piece: their text is not complete yet
    # Guessed tokens already in the cache after ``pos``, each with the logits after it.
    ahead = list(prepared.ahead)
    respelling = Respelling(model.tokens.spelling, prepared.respell) if prepared.respell else None
    try:
        while True:
            if respelling is not None and respelling.spelling:
                token = sampler(respelling.mask(logits), history)
                respelling.accept(token)
            else:
                token = sampler(logits, history)
            if config.stop_at_end_token and token in model.end_token_ids:
                text = stops.feed(_shown(respelling, decoder.flush()))
                yield Piece(text + stops.flush(), tuple(held), FinishReason.STOP)
                return
            history.append(token)
            held.append(token)
            generated += 1
            text = stops.feed(_shown(respelling, decoder.push(token)))
            if stops.stopped:
                yield Piece(text, tuple(held), FinishReason.STOP)
                return
            if generated >= config.max_new_tokens or pos >= model.max_length:
                reason = (
                    FinishReason.LENGTH
                    if generated >= config.max_new_tokens
                    else FinishReason.CACHE_FULL
                )
                text += stops.feed(_shown(respelling, decoder.flush(cut=True)))
                yield Piece(text + stops.flush(), tuple(held), reason)
                return
            if text:
                yield Piece(text, tuple(held))
                held = []
            if ahead and ahead[0][0] == token:  # the guess was right: its row is ready
                logits = ahead.pop(0)[1]
                model.speculation_stats.accepted += 1
            elif (known := model.kept.get(history)) is not None:
                logits, ahead = known, []  # made before, and still in the slots
            else:
                remaining = config.max_new_tokens - generated
                logits, ahead = model.advance([token], pos, history, drafter, remaining)
            model.cached.append(token)
            model.kept.remember(history, logits)
            pos += 1
    finally:
        model.recent.append(history)


def _shown(respelling: Respelling | None, text: str) -> str:
    return text if respelling is None else respelling.visible(text)


def completion_of(pieces: list[Piece], prepared: Prepared) -> Completion:
    """The streamed ``pieces`` after ``prepared`` as one result."""
    return Completion(
        text="".join(p.text for p in pieces),
        token_ids=[t for p in pieces for t in p.token_ids],
        finish_reason=pieces[-1].finish_reason or FinishReason.STOP,
        prompt_tokens=len(prepared.ids),
        reused_tokens=prepared.reused,
    )


def drafter_for(model: FastModel, speculation: Speculation) -> Drafter | None:
    """What drafts for ``speculation`` on ``model``; None where nothing does (off, or a file
    without verify signatures).

    Raises:
        ConfigError: a draft model whose tokenizer or vocabulary is not this one's.
        ModelFileError: a draft file that is not a fast-format model.
    """
    mode = speculation.mode
    if mode is SpeculationMode.OFF or not model.verify_lengths:
        return None
    if mode is SpeculationMode.DRAFT:
        assert speculation.draft is not None  # Speculation checks it
        return ModelDrafter(_draft_model(model, speculation.draft))
    minimum = AUTO_MIN_NGRAM if mode is SpeculationMode.AUTO else LOOKUP_MIN_NGRAM
    return LookupDrafter([*model.recent, *model.branches], minimum)


def _draft_model(model: FastModel, path: Path) -> FastModel:
    """The draft model at ``path``, loaded once and checked against this model."""
    key = Path(path).resolve()
    if key not in model.draft_models:
        if not key.is_file():
            raise ConfigError(f"draft model {path} does not exist")
        try:
            draft = type(model).load(key, model.num_threads)
        except ModelFileError as e:
            raise ModelFileError(f"draft model: {e}") from None
        if draft.vocabulary_size != model.vocabulary_size:
            raise ConfigError(
                f"draft model {path} has a vocabulary of {draft.vocabulary_size} tokens, "
                f"{model.path.name} one of {model.vocabulary_size}: drafts must be this "
                "model's tokens"
            )
        if draft.tokenizer is not model.tokenizer:  # shared_tokenizer: same JSON, same object
            raise ConfigError(
                f"draft model {path} has another tokenizer than {model.path.name}: drafts "
                "must be this model's tokens"
            )
        model.draft_models[key] = draft
    return model.draft_models[key]
