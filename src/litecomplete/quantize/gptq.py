"""int4 blocks and int8 channels rounded to what a matmul's real input needs (GPTQ), not
to nearest.

Rounding each weight to its nearest step ignores what the matmul reads. GPTQ (Frantar et
al., 2022) rounds a kernel's input channels one at a time and moves the error of each
into the channels not yet rounded, weighted by the input's second moments ``H = X^T X``
from calibration text, so that ``X @ W`` moves least. An int4 block's scale is the one
(of ``SCALE_STEPS`` below its peak) whose rounding loses least, weighted by ``H``'s
diagonal; an int8 channel's is ``peak / 127``, as the quantizer's. Measured on SmolLM2
(the simulation of ``quantize.simulate``, windows of the evaluation text, mean KLD from
float32): every projection int4, round to nearest 0.119; the weighted scale alone
0.096; GPTQ with it 0.075 from 1,024 calibration tokens (0.070 from 3,672); GPTQ with
``max / 7`` scales 0.090. The int8 mode (six 256-token windows): 0.0040 rounded to
nearest, 0.0034 with GPTQ on the projections, 0.0031 with the output layer (and the
tied embedding's rows) too; damping 0.01, 0.1, 1 gave 0.0037, 0.0032, 0.0032.

The file gets these rounded values through the quantizer itself: the graph is built from
the dequantized kernels, whose int4 blocks each have a step of exactly ``7`` times the
scale at their peak, so ai-edge-quantizer's ``peak / 7`` gives the same scale and the
same steps back (steps stay within [-7, 7] for that); an int8 channel keeps its original
peak, so ``peak / 127`` is its scale again. A block whose peak GPTQ moved below 6.5 steps
is requantized by the quantizer at its own scale: the simulation reproduces that too, as
it quantizes the same dequantized kernel the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from litecomplete.quantize.modes import Precision
from litecomplete.quantize.outliers import (
    INT4_BLOCK,
    UNIT_KERNELS,
    Outliers,
    calibration_passes,
)
from litecomplete.quantize.simulate import OUTPUT, Unit, UnitCodec, to_bfloat16, unit_codec

if TYPE_CHECKING:
    from litecomplete.models.spec import DecoderWeights

# Steps of the int4 grid used: -7..7 (a step of -8 would set the quantizer's scale).
INT4_STEPS = 7
# ai-edge-quantizer's per-channel int8: steps -127..127 of ``peak / 127``.
INT8_STEPS = 127
# Added to H's diagonal, times its mean: with 1,024 tokens of text H is near singular, and
# a light damping fits the text rather than the model (SmolLM2, simulated KLD as above:
# 0.01 0.21, 0.1 0.091, 1 0.077, 3 0.070, 10 0.073; from 3,672 tokens).
DAMPING = 3.0
# GPTQ fits on more of the calibration text than the outlier channels need: at least
# this many passages, at most this many tokens (SmolLM2 all int4, KLD on held-out text:
# 0.075 from 1,024 tokens, 0.070 from 3,672; the packaged text has 3,672 in 64 passages).
GPTQ_PASSAGES = 64
GPTQ_TOKENS = 4096
# Block scales tried: the peak's ``peak / 7`` times these.
SCALE_STEPS = np.linspace(0.6, 1.0, 21)


def steps(block: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``block`` rounded to the grid of ``scale``, dequantized."""
    return np.clip(np.round(block / scale), -INT4_STEPS, INT4_STEPS) * scale


def block_scales(block: np.ndarray, importance: np.ndarray) -> np.ndarray:
    """block (32, out) -> float32 (out,): per column, the scale of ``SCALE_STEPS`` whose
    rounding has the least squared error weighted by ``importance`` (32,); each a
    bfloat16, which the file's float16 and XNNPACK's bfloat16 both hold exactly."""
    peak = np.abs(block).max(axis=0)
    weight = importance[:, np.newaxis]
    best = np.ones_like(peak, dtype=np.float32)
    best_error = np.full(peak.shape, np.inf)
    for factor in SCALE_STEPS:
        scale = to_bfloat16(np.where(peak > 0, factor * peak / INT4_STEPS, 1))
        error = (weight * (block - steps(block, scale)) ** 2).sum(axis=0)
        better = error < best_error
        best = np.where(better, scale, best)
        best_error = np.where(better, error, best_error)
    return best


def _gptq(
    kernel: np.ndarray,
    hessian: np.ndarray,
    limit: int,
    scales: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """GPTQ's loop: ``kernel`` (in, out) rounded channel by channel to steps within
    ``limit`` of the scales ``scales(block, importance)`` gives each block of
    ``INT4_BLOCK`` input channels (with every earlier block's error in it), for inputs
    whose ``X^T X`` is ``hessian``. The dequantized kernel (float32) and its steps."""
    n_in = kernel.shape[0]
    if hessian.shape != (n_in, n_in):
        raise ValueError(f"kernel {kernel.shape} and hessian {hessian.shape} do not fit")
    h = hessian.astype(np.float64)
    w = kernel.astype(np.float64)
    dead = np.diag(h) == 0  # channels calibration never fed: nothing to keep
    h[dead, dead] = 1
    w[dead] = 0
    h[np.diag_indices(n_in)] += DAMPING * np.mean(np.diag(h))
    # The upper Cholesky factor of H^-1: row i holds how channel i's error spreads.
    upper = np.linalg.cholesky(np.linalg.inv(h)).T
    out = np.empty_like(w)
    q = np.empty_like(w)
    for b0 in range(0, n_in, INT4_BLOCK):
        b1 = min(b0 + INT4_BLOCK, n_in)
        block = w[b0:b1].copy()  # (32, out), with every earlier block's error in it
        scale = scales(block, np.diag(h)[b0:b1])
        errors = np.empty_like(block)
        u = upper[b0:b1, b0:b1]
        for i in range(b1 - b0):
            q[b0 + i] = np.clip(np.round(block[i] / scale), -limit, limit)
            out[b0 + i] = q[b0 + i] * scale
            errors[i] = (block[i] - out[b0 + i]) / u[i, i]
            block[i:] -= np.outer(u[i, i:], errors[i])
        w[b1:] -= upper[b0:b1, b1:].T @ errors
    out[dead] = kernel[dead]  # never read; kept as they were
    return out.astype(np.float32), q


def gptq_int4(kernel: np.ndarray, hessian: np.ndarray) -> np.ndarray:
    """kernel (in, out), ``in`` a multiple of 32, rounded to int4 blocks of 32 input
    channels by GPTQ for inputs whose ``X^T X`` is ``hessian`` (in, in); dequantized,
    float32."""
    if kernel.shape[0] % INT4_BLOCK:
        raise ValueError(f"kernel {kernel.shape} and hessian {hessian.shape} do not fit")
    return _gptq(kernel, hessian, INT4_STEPS, block_scales)[0]


def gptq_int8(
    kernel: np.ndarray, hessian: np.ndarray, peak: np.ndarray | None = None
) -> np.ndarray:
    """kernel (in, out) rounded by GPTQ to int8 steps of ``peak / 127`` per output
    channel (``peak``: each column's largest magnitude, by default the kernel's), for
    inputs whose ``X^T X`` is ``hessian``; dequantized, float32.

    The quantizer's per-channel int8 is ``peak / 127`` of what it is given: a column's
    original peak stays at 127 steps (where GPTQ moved it, it is put back), so the
    quantizer finds the same scale and the same steps."""
    if peak is None:
        peak = np.abs(kernel).max(axis=0)
    scale = np.where(peak > 0, peak / INT8_STEPS, 1).astype(np.float32).astype(np.float64)
    out, q = _gptq(kernel, hessian, INT8_STEPS, lambda *_: scale)
    top = np.argmax(np.abs(kernel), axis=0)
    columns = np.arange(kernel.shape[1])
    lost = (np.abs(q).max(axis=0) < INT8_STEPS) & (np.abs(kernel[top, columns]) == peak)
    out[top[lost], columns[lost]] = np.sign(kernel[top[lost], columns[lost]]) * peak[lost]
    return out


def input_hessians(weights: DecoderWeights, ids: list[int]) -> dict[Unit, np.ndarray]:
    """Each matmul's ``X^T X`` (float32, in x in) over a float32 pass on ``ids``: the
    projections' and the output layer's."""
    hessians: dict[Unit, np.ndarray] = {}

    def record(layer: int, projection: str, x: np.ndarray) -> None:
        x64 = x.astype(np.float64)
        moment = (x64.T @ x64).astype(np.float32)
        key = (layer, projection)
        hessians[key] = hessians[key] + moment if key in hessians else moment

    calibration_passes(weights, ids, record)
    return hessians


def _rounder(precision: Precision) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    if precision is Precision.INT4:
        return gptq_int4
    if precision is Precision.INT8:
        return gptq_int8
    raise ValueError(f"GPTQ rounds int4 and int8 matmuls, not {precision.value}")


def graph_kernel(codec: UnitCodec, kernel: np.ndarray, hessian: np.ndarray) -> np.ndarray:
    """The (in, out) kernel the graph holds so that the file's int4 blocks or int8
    channels of a unit ``codec`` computes (its input's ``X^T X`` ``hessian``) are GPTQ's:
    a split unit's main rows rounded (its outlier rows as they are: the quantizer makes
    them int8 or leaves them float)."""
    rounded_by = _rounder(codec.precision)
    if codec.channels is None:
        return rounded_by(kernel, hessian)
    keep = np.setdiff1d(np.arange(kernel.shape[0]), codec.channels)
    out = kernel.copy()
    out[keep] = rounded_by(kernel[keep], hessian[np.ix_(keep, keep)])
    return out


def graph_table(codec: UnitCodec, table: np.ndarray, hessian: np.ndarray) -> np.ndarray:
    """The output layer's (vocab, hidden) table as the graph holds it so that its int8
    rows are GPTQ's: each row's scale stays its peak's (the main matmul reads the whole
    table, the outlier columns zeroed: those keep their values, which a tied table's
    lookup reads)."""
    if codec.precision is not Precision.INT8:
        raise ValueError(f"the output layer is rounded as int8, not {codec.precision.value}")
    peak = np.abs(table).max(axis=1)
    keep = np.arange(table.shape[1])
    if codec.channels is not None:
        keep = np.setdiff1d(keep, codec.channels)
    out = table.astype(np.float32, copy=True)
    rounded = gptq_int8(table[:, keep].T, hessian[np.ix_(keep, keep)], peak)
    out[:, keep] = rounded.T
    return out


class GptqRounding:
    """The integer units' kernels as the graph holds them (``graph_kernel``,
    ``graph_table``), each computed once: the simulation of ``auto``'s plans and the
    file share them."""

    def __init__(self, hessians: Mapping[Unit, np.ndarray]) -> None:
        self.hessians = hessians
        self.kernels: dict[tuple[Unit, str, Precision], np.ndarray] = {}

    def kernel(self, unit: Unit, name: str, codec: UnitCodec, kernel: np.ndarray) -> np.ndarray:
        """A layer's kernel ``name`` of ``unit`` as ``graph_kernel`` rounds it."""
        key = (unit, name, codec.precision)
        if key not in self.kernels:
            self.kernels[key] = graph_kernel(codec, kernel, self.hessians[unit])
        return self.kernels[key]

    def table(self, unit: Unit, codec: UnitCodec, table: np.ndarray) -> np.ndarray:
        """The output layer's table as ``graph_table`` rounds it."""
        key = (unit, OUTPUT, codec.precision)
        if key not in self.kernels:
            self.kernels[key] = graph_table(codec, table, self.hessians[unit])
        return self.kernels[key]

    def weights(
        self,
        weights: DecoderWeights,
        precisions: Mapping[Unit, Precision],
        outliers: Outliers,
    ) -> DecoderWeights:
        """``weights`` with the kernels of the units ``precisions`` makes int4 or int8
        (split by ``outliers``) rounded: what the graph is built from. The output
        layer's table, where int8, is a tied model's embedding too."""
        layers = list(weights.layers)
        changes: dict[str, Any] = {}
        for unit, precision in sorted(precisions.items()):
            if precision is Precision.FLOAT:
                continue
            codec = unit_codec(unit, precision, outliers)
            if unit[1] == OUTPUT:
                field = "token_embedding" if weights.output_kernel is None else "output_kernel"
                changes[field] = self.table(unit, codec, getattr(weights, field))
                continue
            layer = layers[unit[0]]
            fields = {
                name: self.kernel(unit, name, codec, kernel)
                for name in UNIT_KERNELS[unit[1]]
                if (kernel := getattr(layer, name)) is not None
            }
            layers[unit[0]] = replace(layer, **fields)
        return replace(weights, layers=layers, **changes)
