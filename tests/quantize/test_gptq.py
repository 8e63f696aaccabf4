"""GPTQ's int4 blocks and int8 channels (``quantize.gptq``): closer outputs than rounding
to nearest, and steps ai-edge-quantizer itself stores unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from litecomplete.quantize.gptq import (
    INT4_STEPS,
    INT8_STEPS,
    gptq_int4,
    gptq_int8,
    graph_kernel,
    graph_table,
)
from litecomplete.quantize.modes import Precision
from litecomplete.quantize.simulate import UnitCodec, int4_blocks, int8_columns


def activations(rows: int, width: int, seed: int) -> np.ndarray:
    """Rows like a transformer's matmul inputs: correlated channels, a few large ones."""
    rng = np.random.default_rng(seed)
    mixing = np.random.default_rng(0).normal(size=(width, width)) / np.sqrt(width)
    x = rng.normal(size=(rows, width)) @ (np.eye(width) + 0.7 * mixing)
    x[:, :4] *= 12  # outlier channels, as SmolLM2's
    return x.astype(np.float32)


def low_rank_rows(width: int, seed: int) -> np.ndarray:
    """512 rows of rank 24 plus noise, as a transformer's hidden states are."""
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(0).normal(size=(24, width))
    return (rng.normal(size=(512, 24)) @ basis + 0.3 * rng.normal(size=(512, width))).astype(
        np.float32
    )


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


def test_int8_outputs_on_unseen_rows_move_less_than_with_rounding_to_nearest() -> None:
    """int8's error is small; on inputs of low rank (``low_rank_rows``) where it lands is
    what GPTQ weighs."""
    kernel = np.random.default_rng(1).normal(size=(128, 96)).astype(np.float32) * 0.05
    train, held_out = low_rank_rows(128, seed=2), low_rank_rows(128, seed=3)
    exact = held_out @ kernel

    def error(q: np.ndarray) -> float:
        return float(((held_out @ q - exact) ** 2).mean())

    rounded = gptq_int8(kernel, train.T.astype(np.float64) @ train)
    nearest = int8_columns(kernel)
    assert error(rounded) < 0.6 * error(nearest), (error(rounded), error(nearest))  # 0.43


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


def test_the_quantizer_stores_the_same_int8_steps_and_scales(
    case: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """ai-edge-quantizer's per-channel int8 (``peak / 127``) on GPTQ's dequantized kernel
    finds each channel's original scale and gives back every step."""
    from ai_edge_quantizer import qtyping
    from ai_edge_quantizer.algorithms.uniform_quantize import uniform_quantize_tensor as uq

    kernel, hessian, _ = case
    rounded = gptq_int8(kernel, hessian)
    zero, scale = uq.tensor_zp_scale_from_min_max(
        rounded.min(axis=0), rounded.max(axis=0), 8, True, qtyping.QuantGranularity.CHANNELWISE
    )
    assert (zero == 0).all()
    np.testing.assert_allclose(scale, np.abs(kernel).max(axis=0) / INT8_STEPS, rtol=1e-6)
    steps = np.round(rounded / scale)
    assert np.abs(steps).max() <= INT8_STEPS
    np.testing.assert_allclose(steps * scale, rounded, rtol=1e-6, atol=0)
    assert not np.allclose(rounded, int8_columns(kernel))  # not merely rounded to nearest


def test_the_output_table_keeps_its_row_scales_and_outlier_columns(
    case: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """The output layer's (vocab, hidden) table: its int8 rows (the quantizer's, and the
    tied embedding's) keep each row's scale; the outlier columns the main matmul reads
    zeroed keep their values, whatever the row's peak."""
    kernel = case[0]
    train, held_out = low_rank_rows(128, seed=2), low_rank_rows(128, seed=3)
    hessian = train.T.astype(np.float64) @ train
    table = kernel.T.copy()  # (vocab 96, hidden 128)
    channels = np.array([0, 1, 2, 3], dtype=np.int32)
    table[7, 2] = 1.0  # a row whose peak is an outlier column's
    stored = graph_table(UnitCodec(Precision.INT8, channels), table, hessian)
    np.testing.assert_array_equal(stored[:, channels], table[:, channels])
    np.testing.assert_allclose(np.abs(stored).max(axis=1), np.abs(table).max(axis=1), rtol=1e-6)
    keep = np.arange(4, table.shape[1])  # the quantizer's rows give them back
    np.testing.assert_allclose(int8_columns(stored.T).T[:, keep], stored[:, keep], rtol=1e-6)
    rest = held_out.copy()
    rest[:, channels] = 0
    exact = rest @ table.T
    moved = ((rest @ stored.T - exact) ** 2).mean()
    nearest = ((rest @ int8_columns(table.T) - exact) ** 2).mean()
    assert moved < 0.6 * nearest, (moved, nearest)  # measured 0.43
