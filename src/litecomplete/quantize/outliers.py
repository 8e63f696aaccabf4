"""The fast format's ``int8`` and ``int4``: each matmul's outlier input channels apart.

XNNPACK's fast int8 matmuls quantize a row of activations with one scale (``qd8``), and
a few input channels of SmolLM2's matmuls carry values 20-39 times the row's RMS: the
int8 grid spans them and the rest of the row keeps about three bits. Those channels
are few and the same from token to token, so calibration on real text finds them once
per matmul, and the graph (``fast_graph``) splits each matmul in two: the other
channels through int8 weights on activations quantized per row at run time, the
outlier channels through a small matmul (float in ``int8``, int8 in ``int4``), the two
sums added (LLM.int8()'s decomposition with the channels fixed ahead of time;
``quantize.weights`` quantizes each part). Measured on SmolLM2 in docs/reports/smollm2.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from litecomplete.errors import ConversionError
from litecomplete.quantize.modes import QuantMode

if TYPE_CHECKING:
    from litecomplete.eval.numpy_forward import Recorder
    from litecomplete.models.spec import DecoderSpec, DecoderWeights

log = logging.getLogger(__name__)

# Input channels per matmul kept in float. A NumPy simulation of SmolLM2 (256 tokens,
# per-row int8 activations, per-channel int8 weights; KLD from float): none 0.021,
# 8 channels 0.0074, 16 0.0071, 32 0.0049, 64 0.0036; weights alone (int8w) 0.0045.
# Converted and measured (whole packaged text, ctx 256, second halves; docs/reports/
# smollm2): 32 channels 0.0051, 48 0.0045, 64 0.0040 (llama.cpp Q8_0: 0.0046), decode
# at 1 thread 100, 102, 91 tok/s (Q8_0 80-84).
OUTLIER_CHANNELS = 48
# int4's blocks of 32 need the int4 matmul's input width (the channels not kept) to be
# a multiple of 32: SmolLM2 can keep 32 or 64. Simulated (SmolLM2, GPTQ's int4 blocks,
# GPTQ's int8 output layer; six 256-token windows of the evaluation text; KLD from
# float32, and the bytes each token reads besides the int4 blocks):
#   64 per layer matmul, 32 at the output layer (int8 side)  0.074   +12.1 MB
#   64, 16                                                   0.076   +11.3
#   64, none                                                 0.079   +10.6
#   32, 32                                                   0.090    +6.8
#   32, none                                                 0.094    +5.3
# int4 is the small, fast mode (``auto`` is the faithful one): 32 and none, 7 MB a token
# less than 64 and 32, as close to llama.cpp Q4_0's bytes as the int8 output layer
# allows, and still a third of Q4_0's KLD (docs/reports/smollm2).
INT4_OUTLIER_CHANNELS = 32
INT4_OUTPUT_CHANNELS = 0
# ``auto``'s int4 matmuls keep 64, as its plans were measured with: it puts a matmul in
# int4 only where that costs little, and 64 channels make more of them cheap.
AUTO_INT4_CHANNELS = 64
INT4_BLOCK = 32
# The modes that split their matmuls: (channels kept out, the multiple the channels
# left must make, channels the output layer keeps out).
SPLITS = {
    QuantMode.INT8: (OUTLIER_CHANNELS, 1, OUTLIER_CHANNELS),
    QuantMode.INT4: (INT4_OUTLIER_CHANNELS, INT4_BLOCK, INT4_OUTPUT_CHANNELS),
}
# ``int8``'s output layer where it outweighs the blocks (``DecoderSpec.output_cost`` > 1):
# each float channel there is a row of the vocabulary read in float32 per token (Gemma
# 3 270M: 1 MiB; 48 of them were 14 % of what its int8 decode reads). Simulated
# (``scripts/output_side_sim.py``: int8, four 256-token windows of the evaluation text,
# weights rounded to nearest; KLD from float32), the output layer's side as 48 float
# channels / 16 float / 48 int8 / none / a float output layer: Gemma 3 270M 0.0158 /
# 0.0159 / 0.0164 / 0.0174 / 0.0147; SmolLM2 (output cost 0.27) 0.0038 / 0.0044 /
# 0.0053 / 0.0088 / 0.0034, which keeps 48.
HEAVY_OUTPUT_CHANNELS = 16
# At most this share of a matmul's input channels (1/8) is kept out: narrow models
# (the test suite's, 64 wide) would otherwise compute mostly in float.
MAX_SHARE = 8
# Calibration: tokens of the packaged calibration text, fed in windows of this many.
CALIBRATION_TOKENS = 1024
CALIBRATION_WINDOW = 256
# The outlier channels' matmuls' names end so (``fast_graph``); ``int8`` leaves them
# float, ``int4`` makes them int8. The output layer's matmul is named so.
SIDE_SUFFIX = "_side"
OUTPUT_LAYER = "lm_head"
# Every layer's matmuls are named "layer_<i>_<which>_proj" (``fast_graph``).
PROJECTION_SUFFIX = "_proj"


# The kernels (``LayerWeights`` fields) each projection's input feeds, by the
# projections of ``eval.numpy_forward``; "<which>_kernel" is computed by the matmul
# "layer_<i>_<which>_proj".
UNIT_KERNELS = {
    "qkv": ("qkv_kernel",),
    "out": ("out_kernel",),
    "gate_up": ("gate_kernel", "up_kernel"),
    "down": ("down_kernel",),
}


def layer_prefix(i: int) -> str:
    """The name of layer ``i``'s matmuls begins so: "layer_<i>_qkv_proj"."""
    return f"layer_{i}_"


# (layer, projection) -> sorted int32 channel indices. Projections as
# ``eval.numpy_forward`` records them: "qkv", "out", "gate_up", "down", and the
# output layer as (num_layers, "output").
Outliers = dict[tuple[int, str], np.ndarray]


# (layer, projection) -> float32[in_features]: each input channel's largest magnitude.
Peaks = dict[tuple[int, str], np.ndarray]


def split_counts(mode: QuantMode, spec: DecoderSpec) -> tuple[int, int, int]:
    """How ``mode`` splits ``spec``'s matmuls (``SPLITS``): channels kept out of each
    layer's, the multiple the rest must make, and channels kept out of the output
    layer's (``HEAVY_OUTPUT_CHANNELS`` in ``int8`` where that layer outweighs the blocks)."""
    count, multiple, output = SPLITS[mode]
    if mode is QuantMode.INT8 and spec.output_cost > 1:
        output = min(output, HEAVY_OUTPUT_CHANNELS)
    return count, multiple, output


def outlier_channels(
    weights: DecoderWeights,
    ids: list[int],
    count: int = OUTLIER_CHANNELS,
    multiple: int = 1,
    output: int = OUTLIER_CHANNELS,
) -> Outliers:
    """The ``count`` input channels of each layer's matmuls and the ``output`` channels
    of the output layer (at most ``1 / MAX_SHARE`` of them) with the largest magnitudes
    over ``ids`` (``channel_peaks``). A layer's matmul is split only where the channels
    left are a multiple of ``multiple``."""
    peaks = channel_peaks(weights, ids)
    head = (weights.spec.num_layers, "output")
    chosen = choose_channels({k: p for k, p in peaks.items() if k != head}, count, multiple)
    return chosen | choose_channels({head: peaks[head]}, output)


def channel_peaks(weights: DecoderWeights, ids: list[int]) -> Peaks:
    """Each matmul input channel's largest magnitude over ``ids`` (a float32 forward
    pass in windows of ``CALIBRATION_WINDOW``).

    A window's first row is left out: the first token (the attention sink) has a row of
    its own, quantized with its own scale, and its extremes would pick its channels.
    """
    peaks: Peaks = {}

    def record(layer: int, projection: str, x: np.ndarray) -> None:
        peak = np.abs(x[1:]).max(axis=0)
        key = (layer, projection)
        peaks[key] = np.maximum(peaks[key], peak) if key in peaks else peak

    if len(ids) < 2:
        raise ConversionError("outlier calibration needs at least 2 tokens of text")
    calibration_passes(weights, ids, record, min_tokens=2)
    return peaks


def calibration_passes(
    weights: DecoderWeights, ids: list[int], record: Recorder, min_tokens: int = 1
) -> None:
    """Float32 forward passes over ``ids`` in windows of ``CALIBRATION_WINDOW`` (those of
    at least ``min_tokens``), ``record`` shown every matmul's input."""
    from litecomplete.eval.numpy_forward import forward_logits

    window = min(CALIBRATION_WINDOW, weights.spec.max_positions)
    for begin in range(0, len(ids), window):
        if len(ids[begin : begin + window]) >= min_tokens:
            forward_logits(weights, ids[begin : begin + window], np.float32, record)


def choose_channels(peaks: Peaks, count: int, multiple: int = 1) -> Outliers:
    """The ``count`` largest of each matmul's ``peaks`` (at most ``1 / MAX_SHARE`` of
    its channels), where the channels left are a multiple of ``multiple``."""
    chosen = {}
    for key, peak in peaks.items():
        n = min(count, len(peak) // MAX_SHARE)
        if n and (len(peak) - n) % multiple == 0:
            chosen[key] = np.sort(np.argsort(-peak, kind="stable")[:n]).astype(np.int32)
    log.info("outlier channels: %d per matmul input, %d inputs", count, len(chosen))
    return chosen
