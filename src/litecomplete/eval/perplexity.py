"""Perplexity over a text, and how far a model's next-token distributions are from a reference.

Windows of ``context`` tokens move by ``stride``; each window scores only the tokens
no earlier window scored, so every token after the first is scored once, with at
least ``context - stride`` tokens before it (all of them in the first window). The
model reads each window's unscored part like a prompt and returns the logits of the
scored part in a few calls (verify signatures, where the file has them), else one
token at a time. With ``ref``, both models run in lockstep:
KL(ref || model) and top-1 agreement at every scored position, and greedy
continuations compared at evenly spaced places in the text.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from litecomplete.errors import ConfigError, require_at_least
from litecomplete.runtime.generation import TokenModel

MIN_SCORED_TOKENS = 16
GREEDY_PROMPT_TOKENS = 64


class ScoringModel(TokenModel, Protocol):
    """What evaluation needs of a model (``FastModel`` has it).

    A model may also have ``logits_rows(ids, first)`` (``FastModel.logits_rows``): many
    positions' logits per call, which evaluation then uses.
    """

    max_length: int
    start_token_id: int | None

    def encode(self, text: str) -> list[int]: ...


@dataclass(frozen=True)
class EvalConfig:
    """How to score.

    Attributes:
        context: tokens a window holds (a start token counts); None: the model's
            max length.
        stride: tokens a window moves by (and scores); None: half the context.
        max_tokens: use only the text's first tokens, enough to score this many
            when every token is scored; None: all.
        min_context: score only tokens with this many tokens before them in their
            window (see ``windows``); None: every token once.
        greedy_samples: places in the text where greedy continuations are compared
            (with a reference only).
        greedy_tokens: tokens in each greedy continuation.
    """

    context: int | None = None
    stride: int | None = None
    max_tokens: int | None = None
    min_context: int | None = None
    greedy_samples: int = 8
    greedy_tokens: int = 16

    def __post_init__(self) -> None:
        for name in ("context", "stride", "max_tokens", "min_context"):
            value = getattr(self, name)
            if value is not None:
                require_at_least(f"--{name.replace('_', '-')}", value, 1)
        if self.context is not None and self.stride is not None and self.stride > self.context:
            raise ConfigError(f"--stride {self.stride} exceeds --context {self.context}")
        if self.greedy_samples < 0 or self.greedy_tokens < 1:
            raise ConfigError("greedy samples must be >= 0 and greedy tokens >= 1")


@dataclass(frozen=True)
class Comparison:
    """A model against a reference on the same scored tokens."""

    ref_perplexity: float
    ppl_ratio: float  # model perplexity / reference perplexity
    kld_mean: float  # KL(ref || model), nats per token
    kld_p99: float
    kld_max: float
    top1_agreement: float  # share of positions whose most likely token is the same
    greedy_identical: float  # share of greedy continuations equal token for token
    greedy_common_prefix: float  # mean tokens the continuations share from the start


@dataclass(frozen=True)
class EvalResult:
    tokens: int  # scored tokens
    perplexity: float
    nll_mean: float  # nats per token
    context: int
    stride: int
    seconds: float
    comparison: Comparison | None = None


def windows(
    n: int, span: int, stride: int, first_scored: int, min_context: int | None = None
) -> Iterator[tuple[int, int, int]]:
    """``(begin, first, end)``: window ``ids[begin:end]`` scores ``ids[first:end]``.

    ``span`` text tokens fit in a window; token ``first_scored`` is the first that can
    be scored (1 without a start token: the first token has nothing before it).
    Without ``min_context`` every token is scored once, except that without a start
    token a window that begins where the last one ended (``stride == span``) cannot
    score its first token. With ``min_context``, a window scores only
    tokens with at least ``min_context`` tokens before them in the window, and tokens
    no window gives that much are left out (llama.cpp's perplexity tool scores the
    second half of non-overlapping windows: ``stride = span``, ``min_context = span/2+1``).
    """
    begin, done = 0, first_scored
    while done < n and begin < n:
        end = min(begin + span, n)
        # A window's first token has nothing before it unless a start token leads.
        first = max(done, begin + max(min_context or 0, first_scored))
        if end > first:
            yield begin, first, end
            done = end
        begin += stride


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """float64 log-probabilities of float32[..., vocab] logits (over the last axis)."""
    x = logits.astype(np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return np.asarray(x - np.log(np.exp(x).sum(axis=-1, keepdims=True)))


def logits_rows(model: ScoringModel, ids: list[int], first: int) -> np.ndarray:
    """The logits after each of ``ids[first:]``, float32[len(ids) - first, vocab]:
    in a few calls where the model can, else one token at a time."""
    rows_of = getattr(model, "logits_rows", None)
    if rows_of is not None:
        return np.asarray(rows_of(ids, first))
    rows = [model.feed(ids[: first + 1])]
    rows += [model.step(token) for token in ids[first + 1 :]]
    return np.stack(rows)


def _greedy(model: ScoringModel, ids: list[int], n: int) -> list[int]:
    logits = model.feed(ids)
    out = []
    for _ in range(n):
        out.append(int(np.argmax(logits)))
        if len(out) < n:
            logits = model.step(out[-1])
    return out


@dataclass(frozen=True)
class _Plan:
    """The text's ids, the windows that score them, and what leads each window."""

    ids: list[int]
    start: list[int]  # the start token, when the model has one
    span: int  # text tokens per window
    stride: int
    context: int
    windows: list[tuple[int, int, int]]

    @property
    def total(self) -> int:
        return sum(end - first for _, first, end in self.windows)


def _plan(model: ScoringModel, text: str, config: EvalConfig, ref: ScoringModel | None) -> _Plan:
    """Tokenize ``text`` and plan its windows; refuses what cannot be scored."""
    start = [int(model.start_token_id)] if model.start_token_id is not None else []
    context = config.context or model.max_length
    if context > model.max_length:
        raise ConfigError(f"--context {context} exceeds the model's max length {model.max_length}")
    if ref is not None and context > ref.max_length:
        raise ConfigError(
            f"--context {context} exceeds the reference model's max length {ref.max_length}"
        )
    span = context - len(start)  # text tokens per window
    if span < 2:
        raise ConfigError(f"--context {context} leaves no room to score; give at least 3")
    stride = min(config.stride or max(1, span // 2), span)
    if config.min_context is not None and config.min_context >= span:
        raise ConfigError(
            f"--min-context {config.min_context} leaves nothing to score in windows of "
            f"{span} text tokens"
        )
    ids = model.encode(text)
    if ref is not None:
        ref_ids = ref.encode(text)
        ref_start = [int(ref.start_token_id)] if ref.start_token_id is not None else []
        if ref_ids != ids or ref_start != start:
            raise ConfigError(
                "the reference model uses another tokenizer: the text gives "
                f"{len(ref_ids)} tokens there and {len(ids)} here; compare models of the "
                "same tokenizer (for example two quantizations of one model)"
            )
    first_scored = 0 if start else 1
    if config.max_tokens is not None:
        ids = ids[: config.max_tokens + first_scored]
    plan = _Plan(
        ids,
        start,
        span,
        stride,
        context,
        list(windows(len(ids), span, stride, first_scored, config.min_context)),
    )
    if plan.total < MIN_SCORED_TOKENS:
        raise ConfigError(
            f"the text is too short to score: {max(plan.total, 0)} tokens, at least "
            f"{MIN_SCORED_TOKENS} needed; give a longer --text"
        )
    return plan


@dataclass
class _Scores:
    """Per scored token: the model's NLL; with a reference, its NLL, KLD and top-1."""

    nll: list[np.ndarray] = field(default_factory=list)
    ref_nll: list[np.ndarray] = field(default_factory=list)
    kld: list[np.ndarray] = field(default_factory=list)
    agree: list[np.ndarray] = field(default_factory=list)

    def add(self, rows: np.ndarray, targets: np.ndarray, ref_rows: np.ndarray | None) -> None:
        lp = log_softmax(rows)
        at = np.arange(len(targets))
        self.nll.append(-lp[at, targets])
        if ref_rows is not None:
            ref_lp = log_softmax(ref_rows)
            self.ref_nll.append(-ref_lp[at, targets])
            self.kld.append(np.sum(np.exp(ref_lp) * (ref_lp - lp), axis=-1))
            self.agree.append(rows.argmax(-1) == ref_rows.argmax(-1))


def _score(
    model: ScoringModel,
    plan: _Plan,
    ref: ScoringModel | None,
    on_progress: Callable[[int, int], None] | None,
) -> _Scores:
    scores, done = _Scores(), 0
    for begin, first, end in plan.windows:
        # The logits after the unscored prefix and after each scored token but the last.
        window = plan.start + plan.ids[begin : end - 1]
        row = len(plan.start) + first - begin - 1
        targets = np.asarray(plan.ids[first:end])
        ref_rows = logits_rows(ref, window, row) if ref is not None else None
        scores.add(logits_rows(model, window, row), targets, ref_rows)
        done += end - first
        if on_progress:
            on_progress(done, plan.total)
    return scores


def _compare(
    model: ScoringModel, ref: ScoringModel, plan: _Plan, scores: _Scores, config: EvalConfig
) -> Comparison:
    identical, common = [], []
    room = min(GREEDY_PROMPT_TOKENS, plan.span - config.greedy_tokens)
    for i in range(config.greedy_samples if room >= 1 else 0):
        at = (i + 1) * len(plan.ids) // (config.greedy_samples + 1)
        prompt = plan.start + plan.ids[max(0, at - room) : max(at, 1)]
        ours = _greedy(model, prompt, config.greedy_tokens)
        theirs = _greedy(ref, prompt, config.greedy_tokens)
        identical.append(ours == theirs)
        same = next(
            (k for k, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b), len(ours)
        )
        common.append(same)
    nll, ref_nll = np.concatenate(scores.nll), np.concatenate(scores.ref_nll)
    kld = np.concatenate(scores.kld)
    ref_ppl = math.exp(float(ref_nll.mean()))
    return Comparison(
        ref_perplexity=ref_ppl,
        ppl_ratio=math.exp(float(nll.mean())) / ref_ppl,
        kld_mean=float(kld.mean()),
        kld_p99=float(np.percentile(kld, 99)),
        kld_max=float(kld.max()),
        top1_agreement=float(np.concatenate(scores.agree).mean()),
        greedy_identical=float(np.mean(identical)) if identical else math.nan,
        greedy_common_prefix=float(np.mean(common)) if common else math.nan,
    )


def evaluate(
    model: ScoringModel,
    text: str,
    config: EvalConfig | None = None,
    ref: ScoringModel | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> EvalResult:
    """Perplexity of ``model`` on ``text``; with ``ref``, the comparison as well.

    ``on_progress(done, total)`` is called as scored tokens accumulate.
    """
    config = config or EvalConfig()
    started = time.perf_counter()
    plan = _plan(model, text, config, ref)
    scores = _score(model, plan, ref, on_progress)
    nll = np.concatenate(scores.nll)
    assert len(nll) == plan.total, "every planned token was scored"
    return EvalResult(
        tokens=plan.total,
        perplexity=math.exp(float(nll.mean())),
        nll_mean=float(nll.mean()),
        context=plan.context,
        stride=plan.stride,
        seconds=time.perf_counter() - started,
        comparison=_compare(model, ref, plan, scores, config) if ref is not None else None,
    )
