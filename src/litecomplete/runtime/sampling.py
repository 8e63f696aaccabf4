"""Choosing the next token from logits: greedy, temperature, top-k, top-p, repetition penalty."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from litecomplete.errors import ConfigError, ModelRunError


@dataclass(frozen=True)
class SamplingConfig:
    """How the next token is chosen.

    Attributes:
        temperature: 0 picks the most likely token (greedy); above 0 divides the
            logits before sampling.
        top_k: sample among the k most likely tokens (0: no limit).
        top_p: sample among the smallest set of tokens whose probability adds
            up to at least top_p (1: no limit).
        repetition_penalty: > 1 makes tokens already in the prompt or the
            completion less likely (CTRL-style: positive logits divided,
            negative ones multiplied).
        seed: seed of the sampler's random generator; None draws one.
    """

    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if not np.isfinite(self.temperature) or self.temperature < 0:
            raise ConfigError(f"temperature must be 0 or more, got {self.temperature}")
        if self.top_k < 0:
            raise ConfigError(f"top_k must be 0 (off) or more, got {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p}")
        if not np.isfinite(self.repetition_penalty) or self.repetition_penalty <= 0:
            raise ConfigError(
                f"repetition_penalty must be greater than 0, got {self.repetition_penalty}"
            )

    @property
    def greedy(self) -> bool:
        return self.temperature == 0 or self.top_k == 1

    def reseeded(self, offset: int) -> SamplingConfig:
        """The same sampler for another alternative: seed + ``offset`` (unseeded stays so)."""
        return self if self.seed is None else dataclasses.replace(self, seed=self.seed + offset)


FLOAT_MAX = float(np.finfo(np.float64).max) / 4  # room to subtract two of them


class TokenSampler:
    """Draws tokens for one generation; holds its random generator."""

    def __init__(self, config: SamplingConfig) -> None:
        self.config = config
        self._rng = np.random.default_rng(config.seed)

    def __call__(self, logits: np.ndarray, history: Sequence[int] = ()) -> int:
        """logits: float32[vocab] -> token id.

        Raises:
            ModelRunError: the logits hold NaN (a damaged model), so no token is likelier.
        """
        cfg = self.config
        if np.isnan(logits).any():
            raise ModelRunError("the model's logits contain NaN; the model file may be damaged")
        x = logits
        if cfg.repetition_penalty != 1.0 and len(history):
            # float64 and clipped: an extreme penalty then gives large finite values,
            # never inf (whose differences below would be NaN).
            x = np.clip(logits.astype(np.float64), -FLOAT_MAX, FLOAT_MAX)
            seen = np.unique(np.asarray(history, dtype=np.int64))
            values = x[seen]
            with np.errstate(over="ignore", under="ignore"):
                penalized = np.where(
                    values > 0, values / cfg.repetition_penalty, values * cfg.repetition_penalty
                )
            x[seen] = np.clip(penalized, -FLOAT_MAX, FLOAT_MAX)
        if cfg.greedy:
            return int(np.argmax(x))
        # Largest logit at 0 before dividing: exp() cannot overflow, and a tiny
        # temperature sends the others to -inf (probability 0), not to NaN.
        x = np.clip(np.asarray(x, dtype=np.float64), -FLOAT_MAX, FLOAT_MAX)
        with np.errstate(over="ignore"):
            scaled = (x - x.max()) / cfg.temperature
        if cfg.top_k and cfg.top_k < scaled.size:
            candidates = np.argpartition(-scaled, cfg.top_k - 1)[: cfg.top_k]
        else:
            candidates = np.arange(scaled.size)
        if cfg.top_p < 1.0:
            # Most likely first, so the top-p cut keeps a prefix (a full sort of the
            # vocabulary is the slow part, so only when top_p needs it).
            candidates = candidates[np.argsort(-scaled[candidates], kind="stable")]
        probs = np.exp(scaled[candidates])  # the largest is exp(0) = 1: the sum is >= 1
        probs /= probs.sum()
        if cfg.top_p < 1.0:
            keep = int(np.searchsorted(np.cumsum(probs), cfg.top_p) + 1)
            candidates, probs = candidates[:keep], probs[:keep] / probs[:keep].sum()
        return int(candidates[self._rng.choice(len(candidates), p=probs)])
