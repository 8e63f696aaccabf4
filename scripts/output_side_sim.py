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
from collections.abc import Callable

import numpy as np

from litecomplete.convert.fast_export import FastSource, gguf_fast_source
from litecomplete.eval.text import default_eval_text
from litecomplete.quantize import simulate
from litecomplete.quantize.calibration import DEFAULT_CALIBRATION_SAMPLES, calibration_passages
from litecomplete.quantize.modes import Precision
from litecomplete.quantize.outliers import CALIBRATION_TOKENS, OUTLIER_CHANNELS, outlier_channels

WINDOW = 256


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


def source_of(model: str) -> FastSource:
    if model == "gemma3":
        from litecomplete.models.packaged import GEMMA3_270M, packaged_gguf_path

        return gguf_fast_source(packaged_gguf_path(GEMMA3_270M))
    from litecomplete.models.embedded import smollm2_gguf_path

    return gguf_fast_source(smollm2_gguf_path())


def side_kld(source: FastSource, windows: list[list[int]], output: int, side: str) -> float:
    """The plan's KLD with ``output`` channels kept out of the output layer, their side
    ``side``: "float", "int8", or "float-layer" (the whole output layer float)."""
    weights = source.weights
    text = " ".join(calibration_passages(DEFAULT_CALIBRATION_SAMPLES))
    calibration = source.encode(text)[:CALIBRATION_TOKENS]
    channels = outlier_channels(weights, calibration, OUTLIER_CHANNELS, 1, output)
    sim = simulate.Simulator(weights, windows, {Precision.INT8: channels}, int8_positions=False)
    n = weights.spec.num_layers
    head = (n, simulate.OUTPUT)
    plan = {(i, p): Precision.INT8 for i in range(n) for p in simulate.UNIT_KERNELS}
    plan[head] = Precision.FLOAT if side == "float-layer" else Precision.INT8
    if side == "int8":
        plain: Callable[[simulate.Unit, Precision], simulate.UnitCodec] = sim.codec

        def codec(unit: simulate.Unit, precision: Precision) -> simulate.UnitCodec:
            found = plain(unit, precision)
            if unit != head or found.channels is None:
                return found
            return Int8Side(found.precision, found.channels)

        sim.codec = codec  # type: ignore[method-assign]
    return sim.kld(plan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("smollm2", "gemma3"), default="smollm2")
    parser.add_argument("--windows", type=int, default=4)
    args = parser.parse_args()
    source = source_of(args.model)
    ids = source.encode(default_eval_text())
    windows = [ids[b : b + WINDOW] for b in range(0, WINDOW * args.windows, WINDOW)]
    for output, side in [(48, "float"), (16, "float"), (48, "int8"), (16, "int8"), (0, "float")]:
        name = f"{output} {side}" if output else "none"
        print(f"{args.model} output side {name}: KLD {side_kld(source, windows, output, side):.4f}")
    kld = side_kld(source, windows, OUTLIER_CHANNELS, "float-layer")
    print(f"{args.model} float output layer: KLD {kld:.4f}")


if __name__ == "__main__":
    main()
