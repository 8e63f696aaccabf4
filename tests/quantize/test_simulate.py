"""The NumPy simulation of the integer modes (``quantize.simulate``) against a GPT-2 file:
a learned position table, layer norms and biases, which the tiny Llama of
``test_auto_quant`` has none of."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import FAST_BUCKETS, FAST_MAX_LENGTH
from tests.reference import file_log_probs, mean_kld


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_the_simulation_computes_what_a_gpt2_file_does(
    tiny_lm: Any, fast_models: dict[str, Path], mode: str
) -> None:
    from litecomplete.convert.fast_config import FastExportConfig
    from litecomplete.convert.fast_export import calibrate, keras_fast_source
    from litecomplete.eval.numpy_forward import Forward
    from litecomplete.quantize import QuantMode
    from litecomplete.quantize.modes import INT8_POSITION_MODES, Precision
    from litecomplete.quantize.outliers import UNIT_KERNELS
    from litecomplete.quantize.simulate import OUTPUT, Simulator, log_softmax
    from litecomplete.runtime import FastModel

    source = keras_fast_source(tiny_lm)
    # The file's own calibration (conftest's ``fast_models``): its outlier channels and
    # its GPTQ-rounded weights, which the quantizer stores unchanged.
    config = FastExportConfig(
        max_length=FAST_MAX_LENGTH,
        buckets=FAST_BUCKETS,
        quant=QuantMode(mode),
        calibration_samples=4,
    )
    calibration = calibrate(source, config)
    assert calibration.weights is not None and calibration.outliers
    model = FastModel.load(fast_models[mode])
    text = "It was the best of times, it was the worst of times, it was the age of wisdom"
    ids = [model.start_token_id, *model.encode(text * 4)][:FAST_MAX_LENGTH]
    assert len(ids) == FAST_MAX_LENGTH  # every position table row the file holds
    # int4 files look positions up in int8 rows, int8 files in float ones.
    layers = Precision(mode)
    channels = {layers: calibration.outliers}
    int8_positions = QuantMode(mode) in INT8_POSITION_MODES
    sim = Simulator(calibration.weights, [ids], channels, int8_positions=int8_positions)
    n = source.weights.spec.num_layers
    sim.plan = {(i, p): layers for i in range(n) for p in UNIT_KERNELS}
    sim.plan[(n, OUTPUT)] = Precision.INT8
    simulated = log_softmax(sim.run(sim.windows[0]))
    float32 = log_softmax(Forward(source.weights, len(ids), np.float32, None).logits(ids))
    produced = file_log_probs(model, ids)

    # Measured, the simulation's distance from the file against float32's: int8 3.7e-7
    # against 1.8e-6 (the random tiny model's int8 logits sit near float32's; the
    # runtime's float32 file is 3e-8 from NumPy's), int4 2.1e-8 against 1.3e-4. With
    # the position table looked up the other way: int8 1.0x, int4 2.2e-6 (0.016x).
    bound = {"int8": 0.4, "int4": 0.002}[mode]
    assert mean_kld(produced, simulated) < bound * mean_kld(produced, float32)
