"""The fast format's integer matmuls simulated in NumPy, for ``auto`` to weigh choices.

Each matmul ("unit": a layer's qkv, out, gate_up or down projection, or the output
layer) is computed at a ``Precision`` the way XNNPACK computes the converted file:

- activations quantized per row to int8 with a zero point (XNNPACK's ``qd8``), over
  the channels the main matmul reads; a unit split by outlier channel
  (``quantize.outliers``) gives the outlier channels their own rows (``int4``) or
  leaves them float (``int8``);
- weights symmetric int8 per output channel (``int8``, and the outlier channels of
  ``int4``), or int4 in blocks of 32 input channels per output channel with a
  bfloat16 scale each (``int4``: ai-edge-quantizer's ``max / 7``), of kernels GPTQ has
  rounded to that grid where a ``quantize.gptq.GptqRounding`` is given (as the file's are);
- the token embedding looked up in int8 rows (``fast_graph.int8_rows``), as every
  integer mode does (a tied table's rows as GPTQ rounded the int8 output layer), and
  a learned position table in int8 rows too where the file has them
  (``modes.INT8_POSITION_MODES``).

An RMS norm's scale stays in the activations a matmul reads: the graph multiplies by
it before the norm's ``rsqrt``, so the converter folds nothing into the weights
(``fast_layers.norm``).

``Simulator.kld`` is a plan's mean KL divergence from the float32 model over windows of
calibration text; ``Simulator.kld_with`` changes one unit and reruns only from its
layer on, from the inputs a baseline pass kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from litecomplete.eval.numpy_forward import Forward
from litecomplete.quantize.modes import Precision
from litecomplete.quantize.outliers import INT4_BLOCK, UNIT_KERNELS, Outliers

if TYPE_CHECKING:
    from litecomplete.models.spec import DecoderWeights, LayerWeights
    from litecomplete.quantize.gptq import GptqRounding

# (layer, projection): the projections of ``eval.numpy_forward``; the output layer is
# (num_layers, "output").
Unit = tuple[int, str]
OUTPUT = "output"


def qd8_rows(x: np.ndarray) -> np.ndarray:
    """x (T, n) quantized per row to int8 with a zero point, and back (``qd8``)."""
    low = np.minimum(x.min(axis=1, keepdims=True), 0)
    high = np.maximum(x.max(axis=1, keepdims=True), 0)
    scale = np.where(high > low, (high - low) / 255, 1).astype(np.float32)
    zero = np.round(-128 - low / scale)
    q = np.clip(np.round(x / scale) + zero, -128, 127)
    return ((q - zero) * scale).astype(np.float32)


def int8_columns(w: np.ndarray) -> np.ndarray:
    """w (in, out) as symmetric int8 per output channel, and back."""
    peak = np.abs(w).max(axis=0, keepdims=True)
    scale = np.where(peak > 0, peak / 127, 1).astype(np.float32)
    return (np.clip(np.round(w / scale), -127, 127) * scale).astype(np.float32)


def to_bfloat16(x: np.ndarray) -> np.ndarray:
    """float32 ``x`` rounded (to nearest even) to bfloat16, as float32."""
    bits = np.ascontiguousarray(x, np.float32).view(np.uint32)
    rounded = (bits + np.uint32(0x7FFF) + ((bits >> 16) & 1)) & np.uint32(0xFFFF0000)
    return rounded.view(np.float32)


def int4_blocks(w: np.ndarray, block: int = INT4_BLOCK) -> np.ndarray:
    """w (in, out), ``in`` a multiple of ``block``, as symmetric int4 in blocks of
    ``block`` input channels per output channel, and back. The file stores each
    block's scale as float16; XNNPACK computes with it as bfloat16 (measured: the
    simulation's distance from the file's logits falls 3.5-fold with the rounding)."""
    n_in, n_out = w.shape
    blocks = w.reshape(n_in // block, block, n_out)
    peak = np.abs(blocks).max(axis=1, keepdims=True)
    scale = to_bfloat16(np.where(peak > 0, peak / 7, 1).astype(np.float16).astype(np.float32))
    return (np.clip(np.round(blocks / scale), -8, 7) * scale).reshape(n_in, n_out)


def int8_table_rows(table: np.ndarray) -> np.ndarray:
    """A (rows, cols) table as int8 rows with a scale each (``int8_rows``), and back."""
    return int8_columns(table.T).T


@dataclass(frozen=True)
class UnitCodec:
    """One unit at one precision: what its matmul reads and with which weights.

    ``channels``: its outlier channels (``None``: not split).
    """

    precision: Precision
    channels: np.ndarray | None

    def inputs(self, x: np.ndarray) -> np.ndarray:
        if self.precision is Precision.FLOAT:
            return x
        if self.channels is None:
            return qd8_rows(x)
        out = x.copy()
        keep = np.ones(x.shape[1], bool)
        keep[self.channels] = False
        out[:, keep] = qd8_rows(x[:, keep])
        if self.precision is Precision.INT4:  # the int4 mode's side matmul is int8
            out[:, self.channels] = qd8_rows(x[:, self.channels])
        return out

    def kernel(self, w: np.ndarray) -> np.ndarray:
        """An (in, out) kernel as this precision stores it."""
        if self.precision is Precision.FLOAT:
            return w
        main = int4_blocks if self.precision is Precision.INT4 else int8_columns
        if self.channels is None:
            return main(w)
        keep = np.setdiff1d(np.arange(w.shape[0]), self.channels)
        out = np.empty_like(w)
        out[keep] = main(w[keep])
        side = w[self.channels]
        out[self.channels] = int8_columns(side) if self.precision is Precision.INT4 else side
        return out

    def table(self, table: np.ndarray) -> np.ndarray:
        """The output layer's (vocab, hidden) table: the main matmul's int8 rows span
        every column (the outlier channels reach it zeroed), the side keeps them."""
        if self.precision is Precision.FLOAT:
            return table
        out = int8_table_rows(table)
        if self.channels is not None:
            out[:, self.channels] = table[:, self.channels]
        return out


def unit_codec(unit: Unit, precision: Precision, outliers: Outliers) -> UnitCodec:
    """How ``unit`` is computed at ``precision``, its outlier channels as ``outliers`` has
    them (the graph splits those units)."""
    if precision is Precision.FLOAT:
        return UnitCodec(precision, None)
    return UnitCodec(precision, outliers.get(unit))


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class Window:
    """One window of calibration tokens: the float32 reference, and what a pass keeps."""

    def __init__(self, weights: DecoderWeights, ids: list[int]) -> None:
        self.ids = ids
        self.forward = Forward(weights, len(ids), np.float32, None)
        self.reference = log_softmax(self.forward.logits(ids))
        self.inputs: list[np.ndarray] = []  # each block's input, and the head's

    def kld(self, logits: np.ndarray) -> float:
        """Mean KL(float32 || simulated) over the window's positions, nats."""
        simulated = log_softmax(logits)
        p = np.exp(self.reference)
        kl = (p * (self.reference - simulated)).sum(axis=-1)
        return float(kl[len(kl) // 2 :].mean())


class Simulator:
    """Plans (``{unit: precision}``) run over windows of calibration tokens;
    ``int8_positions``: a learned position table looked up in int8 rows, as the files
    of ``modes.INT8_POSITION_MODES`` do."""

    def __init__(
        self,
        weights: DecoderWeights,
        windows: list[list[int]],
        channels: Mapping[Precision, Outliers],
        rounding: GptqRounding | None = None,
        *,
        int8_positions: bool,
    ) -> None:
        self.weights = weights
        self.rounding = rounding
        self.channels = channels
        self.windows = [Window(weights, ids) for ids in windows]
        table = weights.output_kernel
        self.table = weights.token_embedding if table is None else table
        self.tables: dict[Precision, np.ndarray] = {}  # the output layer's, as stored
        self.embeddings: dict[Precision, np.ndarray] = {}  # by the output layer's
        positions = weights.position_embedding
        self.positions = None  # the weights' own
        if positions is not None and int8_positions:
            self.positions = int8_table_rows(positions)
        self.kernels: dict[tuple[Unit, Precision], dict[str, np.ndarray]] = {}
        self.plan: Mapping[Unit, Precision] = {}
        self.window_klds: list[float] = []  # each window's, of the last ``kld``

    def codec(self, unit: Unit, precision: Precision) -> UnitCodec:
        return unit_codec(unit, precision, self.channels.get(precision, {}))

    def layer(self, i: int) -> LayerWeights:
        """Layer ``i``'s weights as the current plan stores them."""
        layer = self.weights.layers[i]
        fields: dict[str, np.ndarray] = {}
        for projection in UNIT_KERNELS:
            precision = self.plan[(i, projection)]
            key = ((i, projection), precision)
            if key not in self.kernels:
                unit = (i, projection)
                codec = self.codec(unit, precision)
                self.kernels[key] = {
                    name: codec.kernel(self.graph_kernel(unit, name, codec, kernel))
                    for name in UNIT_KERNELS[projection]
                    if (kernel := getattr(layer, name)) is not None
                }
            fields |= self.kernels[key]
        return replace(layer, **fields)

    def graph_kernel(
        self, unit: Unit, name: str, codec: UnitCodec, kernel: np.ndarray
    ) -> np.ndarray:
        """A kernel as the graph holds it: an integer unit's as ``rounding`` rounds it."""
        if codec.precision is Precision.FLOAT or self.rounding is None:
            return kernel
        return self.rounding.kernel(unit, name, codec, kernel)

    def output(self, precision: Precision) -> tuple[np.ndarray, np.ndarray]:
        """The output layer's table at ``precision`` as the file computes with it, and
        the int8 rows the embedding is looked up in (a tied table's, as the graph
        holds it)."""
        if precision not in self.tables:
            unit = (len(self.weights.layers), OUTPUT)
            codec = self.codec(unit, precision)
            table = self.table
            if precision is not Precision.FLOAT and self.rounding is not None:
                table = self.rounding.table(unit, codec, table)
            self.tables[precision] = codec.table(table)
            tied = self.weights.output_kernel is None
            embedding = table if tied else self.weights.token_embedding
            self.embeddings[precision] = int8_table_rows(embedding)
        return self.tables[precision], self.embeddings[precision]

    def feed(self, layer: int, projection: str, x: np.ndarray) -> np.ndarray:
        return self.codec((layer, projection), self.plan[(layer, projection)]).inputs(x)

    def run(self, window: Window, start: int = 0, keep: bool = False) -> np.ndarray:
        """The window's logits under the current plan, from block ``start`` on (its
        input as the last kept pass left it); ``keep`` keeps this pass's inputs."""
        forward = window.forward
        forward.hook = self.feed
        num_layers = len(self.weights.layers)
        table, embedding = self.output(self.plan[(num_layers, OUTPUT)])
        if start == 0:
            x = forward.embed(window.ids, embedding, self.positions)
        else:
            x = window.inputs[start]
        if keep:
            window.inputs = []
        for i in range(start, num_layers):
            if keep:
                window.inputs.append(x)
            x = forward.block(i, self.layer(i), x)
        if keep:
            window.inputs.append(x)
        return forward.head(x, table)

    def kld(self, plan: Mapping[Unit, Precision], keep: bool = False) -> float:
        """The plan's mean KLD over every window (``keep``: a baseline for ``kld_with``)."""
        self.plan = plan
        self.window_klds = [w.kld(self.run(w, keep=keep)) for w in self.windows]
        return float(np.mean(self.window_klds))

    def kld_with(
        self, baseline: Mapping[Unit, Precision], unit: Unit, precision: Precision
    ) -> float:
        """The first window's KLD with ``unit`` at ``precision`` and the rest as in
        ``baseline``, the plan of the last ``kld(..., keep=True)``."""
        self.plan = {**baseline, unit: precision}
        window = self.windows[0]
        return window.kld(self.run(window, start=unit[0]))
