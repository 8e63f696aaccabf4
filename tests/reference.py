"""The float64 evaluation the slow parity tests measure against.

Two float32 implementations of one model each carry rounding error; comparing them
measures the sum. Against this reference each is measured on its own.
"""

from __future__ import annotations

import numpy as np

from litecomplete.eval.numpy_forward import forward_logits
from litecomplete.models.spec import DecoderWeights


def reference_logits(weights: DecoderWeights, ids: list[int]) -> np.ndarray:
    """float64[len(ids), vocab]: logits at every position, computed in float64."""
    return forward_logits(weights, ids, np.float64)
