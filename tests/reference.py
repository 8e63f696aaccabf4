"""The float64 evaluation the slow parity tests measure against.

Two float32 implementations of one model each carry rounding error; comparing them
measures the sum. Against this reference each is measured on its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from litecomplete.eval.numpy_forward import forward_logits
from litecomplete.models.spec import DecoderWeights


def reference_logits(weights: DecoderWeights, ids: list[int]) -> np.ndarray:
    """float64[len(ids), vocab]: logits at every position, computed in float64."""
    return forward_logits(weights, ids, np.float64)


def file_log_probs(model: Any, ids: list[int]) -> np.ndarray:
    """float32[len(ids), vocab]: a fast-format file's next-token log-probabilities at
    every position, the first token fed alone and each next one by a decode step."""
    from litecomplete.quantize.simulate import log_softmax

    logits = [model._feed(ids[:1]).logits]
    for position, token in enumerate(ids[1:], start=1):
        logits.append(model._run_decode(token, position))
    return log_softmax(np.stack(logits))


def mean_kld(p: np.ndarray, q: np.ndarray) -> float:
    """Mean KL(p || q) over positions, of log-probabilities [positions, vocab]."""
    return float((np.exp(p) * (p - q)).sum(-1).mean())
