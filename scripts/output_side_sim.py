"""How ``int8``'s output layer could keep its outlier channels: simulated KLD per choice.

    python scripts/output_side_sim.py --model gemma3 --windows 4

Every layer's matmuls as ``int8`` computes them (48 float outlier channels, int8 the
rest on per-row int8 activations); the output layer's side varied: 48 or 16 channels
in float, the same in int8 (their own per-row activation scale and per-row weight
scale), none, or the whole output layer in float. KLD from float32 over windows of 256
tokens of the packaged evaluation text (``quantize.simulate``; weights rounded to
nearest, not by GPTQ: the choices are compared, not the file). The figures behind
``outliers.HEAVY_OUTPUT_CHANNELS``.
"""

from __future__ import annotations

import argparse

import numpy as np

from litecomplete.convert.fast_export import gguf_fast_source
from litecomplete.eval.text import default_eval_text
from litecomplete.models.embedded import gguf_model_path
from litecomplete.models.spec import DecoderWeights
from litecomplete.quantize import simulate
from litecomplete.quantize.calibration import DEFAULT_CALIBRATION_SAMPLES, calibration_passages
from litecomplete.quantize.modes import Precision
from litecomplete.quantize.outliers import (
    CALIBRATION_TOKENS,
    OUTLIER_CHANNELS,
    Peaks,
    channel_peaks,
    choose_channels,
)

WINDOW = 256
# (channels the output layer keeps out, how their side is computed)
CHOICES = [(48, "float"), (16, "float"), (48, "int8"), (16, "int8"), (0, "float")]


class Int8Side(simulate.UnitCodec):
    """The output layer's outlier channels through an int8 matmul of their own."""

    def inputs(self, x: np.ndarray) -> np.ndarray:
        out = super().inputs(x)
        assert self.channels is not None
        out[:, self.channels] = simulate.qd8_rows(x[:, self.channels])
        return out

    def table(self, table: np.ndarray) -> np.ndarray:
        out = simulate.int8_table_rows(table)
        out[:, self.channels] = simulate.int8_table_rows(table[:, self.channels])
        return out


class SideSimulator(simulate.Simulator):
    """int8 layers, each keeping ``OUTLIER_CHANNELS``; the output layer's side chosen
    per ``kld`` call. The calibration peaks and each window's float32 reference are
    computed once for every choice."""

    def __init__(self, weights: DecoderWeights, windows: list[list[int]], peaks: Peaks) -> None:
        super().__init__(weights, windows, {}, int8_positions=False)
        self.head = (weights.spec.num_layers, simulate.OUTPUT)
        self.peaks = peaks
        layers = {k: p for k, p in peaks.items() if k != self.head}
        self.layer_channels = choose_channels(layers, OUTLIER_CHANNELS)
        self.int8_side = False

    def codec(self, unit: simulate.Unit, precision: Precision) -> simulate.UnitCodec:
        found = super().codec(unit, precision)
        if unit != self.head or not self.int8_side or found.channels is None:
            return found
        return Int8Side(found.precision, found.channels)

    def side_kld(self, output: int, side: str) -> float:
        """KLD with ``output`` channels kept out of the output layer, their side
        ``side``: "float", "int8", or "float-layer" (the whole output layer float)."""
        head = choose_channels({self.head: self.peaks[self.head]}, output)
        self.channels = {Precision.INT8: self.layer_channels | head}
        self.int8_side = side == "int8"
        self.tables.clear()  # the output layer's, stored by the last choice
        n = self.weights.spec.num_layers
        plan = {(i, p): Precision.INT8 for i in range(n) for p in simulate.UNIT_KERNELS}
        plan[self.head] = Precision.FLOAT if side == "float-layer" else Precision.INT8
        return self.kld(plan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("smollm2", "gemma3"), default="smollm2")
    parser.add_argument("--windows", type=int, default=4)
    args = parser.parse_args()
    path = gguf_model_path(args.model)
    assert path is not None
    source = gguf_fast_source(path)
    text = " ".join(calibration_passages(DEFAULT_CALIBRATION_SAMPLES))
    peaks = channel_peaks(source.weights, source.encode(text)[:CALIBRATION_TOKENS])
    ids = source.encode(default_eval_text())
    windows = [ids[b : b + WINDOW] for b in range(0, WINDOW * args.windows, WINDOW)]
    sim = SideSimulator(source.weights, windows, peaks)
    for output, side in CHOICES:
        name = f"{output} {side}" if output else "none"
        print(f"{args.model} output side {name}: KLD {sim.side_kld(output, side):.4f}")
    kld = sim.side_kld(OUTLIER_CHANNELS, "float-layer")
    print(f"{args.model} float output layer: KLD {kld:.4f}")


if __name__ == "__main__":
    main()
