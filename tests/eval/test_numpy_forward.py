"""The float64 reference the slow parity tests measure against computes the Keras models."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from litecomplete.models.registry import decoder_weights
from tests.conftest import keras_logits
from tests.reference import reference_logits

IDS = [5, 17, 3, 250, 9, 9, 42, 7, 100, 1, 64, 33]


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_reference_computes_the_keras_model(family: str, tiny_lm: Any, tiny_llama: Any) -> None:
    causal_lm = tiny_lm if family == "gpt2" else tiny_llama
    expected = keras_logits(causal_lm, IDS)
    got = reference_logits(decoder_weights(causal_lm), IDS)
    assert got.shape == expected.shape
    # float32 rounding in Keras, relative to the largest logit (45 for the tiny Llama).
    assert np.abs(got - expected).max() <= 2e-6 * np.abs(expected).max()


def test_reference_is_causal(tiny_llama: Any) -> None:
    weights = decoder_weights(tiny_llama)
    full = reference_logits(weights, IDS)
    assert np.allclose(reference_logits(weights, IDS[:5]), full[:5], rtol=0, atol=1e-12)
