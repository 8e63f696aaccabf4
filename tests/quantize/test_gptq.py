"""GPTQ's int4 blocks (``quantize.gptq``): closer outputs than rounding to nearest, and
steps ai-edge-quantizer itself stores unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from litecomplete.quantize.gptq import INT4_STEPS, gptq_int4, graph_kernel
from litecomplete.quantize.modes import Precision
from litecomplete.quantize.simulate import UnitCodec, int4_blocks


def activations(rows: int, width: int, seed: int) -> np.ndarray:
    """Rows like a transformer's matmul inputs: correlated channels, a few large ones."""
    rng = np.random.default_rng(seed)
    mixing = np.random.default_rng(0).normal(size=(width, width)) / np.sqrt(width)
    x = rng.normal(size=(rows, width)) @ (np.eye(width) + 0.7 * mixing)
    x[:, :4] *= 12  # outlier channels, as SmolLM2's
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    width, out = 128, 96
    kernel = np.random.default_rng(1).normal(size=(width, out)).astype(np.float32) * 0.05
    train = activations(512, width, seed=2)
    return kernel, train.T.astype(np.float64) @ train, activations(512, width, seed=3)


def test_outputs_on_unseen_rows_move_less_than_with_rounding_to_nearest(
    case: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    kernel, hessian, held_out = case
    exact = held_out @ kernel

    def error(q: np.ndarray) -> float:
        return float(((held_out @ q - exact) ** 2).mean())

    nearest, rounded = error(int4_blocks(kernel)), error(gptq_int4(kernel, hessian))
    assert rounded < 0.7 * nearest, (rounded, nearest)  # measured 0.58


def test_the_quantizer_stores_the_same_steps_and_scales(
    case: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """ai-edge-quantizer's own blockwise int4 (``peak / 7`` per block, its rounding) on
    the dequantized kernel gives back every GPTQ step exactly."""
    from ai_edge_quantizer import qtyping
    from ai_edge_quantizer.algorithms.uniform_quantize import uniform_quantize_tensor as uq

    kernel, hessian, _ = case
    rounded = gptq_int4(kernel, hessian)
    blocks = rounded.T.reshape(kernel.shape[1], -1, 32)  # (out, blocks, 32) as the FC's
    zero, scale = uq.tensor_zp_scale_from_min_max(
        blocks.min(axis=2), blocks.max(axis=2), 4, True, qtyping.QuantGranularity.BLOCKWISE_32
    )
    steps = np.clip(np.round(blocks / scale[..., np.newaxis]), -8, 7)
    assert (zero == 0).all()
    stored = steps * scale[..., np.newaxis]
    peaks = np.abs(steps).max(axis=2)
    assert (peaks == INT4_STEPS).mean() > 0.97  # the blocks whose scale comes back
    same = peaks == INT4_STEPS
    np.testing.assert_array_equal(stored[same], blocks[same])


def test_a_folded_norm_scale_is_taken_out_of_the_graphs_kernel(
    case: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """The converter multiplies the norm's scale back in: that product is on the grid."""
    kernel, hessian, _ = case
    fold = np.random.default_rng(4).uniform(0.2, 3.0, size=kernel.shape[0]).astype(np.float32)
    fold[5] = 0  # a channel the norm zeroes: its weights are never read
    stored = graph_kernel(UnitCodec(Precision.INT4, None, fold), kernel, hessian)
    folded = fold[:, np.newaxis] * stored
    np.testing.assert_allclose(int4_blocks(folded), folded, rtol=1e-5, atol=1e-7)
    assert not np.allclose(folded, int4_blocks(fold[:, np.newaxis] * kernel))


def test_a_split_units_outlier_rows_are_left_to_the_quantizer(
    case: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    kernel, hessian, _ = case
    channels = np.arange(32, dtype=np.int32)
    stored = graph_kernel(UnitCodec(Precision.INT4, channels), kernel, hessian)
    np.testing.assert_array_equal(stored[:32], kernel[:32])
    np.testing.assert_array_equal(int4_blocks(stored[32:]), stored[32:])


def test_mismatched_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        gptq_int4(np.zeros((48, 8), np.float32), np.eye(48))
