"""Print how far each projection's input strays from its row's scale, layer by layer.

For every layer of a fast-format source (default: the embedded SmolLM2), a float32
forward pass over the packaged evaluation text reports, per projection input, the
largest ratio of a row's largest |element| to the row's RMS, and the largest |element|
of the down projection's input. An int8 grid spans the largest element, so a ratio r
leaves the rest of the row about 7 - log2(r) bits.

    python scripts/activation_outliers.py [--tokens 128] [--gguf FILE]
"""

from __future__ import annotations

import argparse

import numpy as np

from litecomplete.convert.fast_export import gguf_fast_source
from litecomplete.eval.numpy_forward import forward_logits
from litecomplete.eval.text import default_eval_text
from litecomplete.models.embedded import smollm2_gguf_path

PROJECTIONS = ("qkv", "out", "gate_up", "down", "output")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--gguf", default=None, help="a Llama-family GGUF (default: SmolLM2)")
    args = parser.parse_args()
    source = gguf_fast_source(args.gguf or smollm2_gguf_path())
    ids = source.encode(default_eval_text())[: args.tokens]
    ratio: dict[tuple[int, str], float] = {}
    down_peak: dict[int, float] = {}

    def record(layer: int, projection: str, x: np.ndarray) -> None:
        rms = np.sqrt((x * x).mean(-1))
        ratio[layer, projection] = float((np.abs(x).max(-1) / rms).max())
        if projection == "down":
            down_peak[layer] = float(np.abs(x).max())

    forward_logits(source.weights, ids, np.float32, record)
    print(f"max over {len(ids)} tokens of max|x| / rms(x), per projection input")
    print("layer " + " ".join(f"{p:>8}" for p in PROJECTIONS) + "  max|down input|")
    for layer in range(len(source.weights.layers) + 1):
        cells = [ratio.get((layer, p)) for p in PROJECTIONS]
        text = " ".join(f"{c:8.1f}" if c is not None else " " * 8 for c in cells)
        print(f"{layer:5d} {text}  {down_peak.get(layer, float('nan')):10.1f}")


if __name__ == "__main__":
    main()
