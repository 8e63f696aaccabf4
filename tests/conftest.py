"""Shared fixtures: one tiny GPT-2 and its app-format conversions, built once per session."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

# Short generations keep the fast tier fast; parity needs nothing longer.
TINY_MAX_LENGTH = 32
# Prompt tokens kept (start token included): every parity prompt fits, so the graph's
# newest-first trimming never applies to them and KerasHub's generate() is comparable.
TINY_CONTEXT_LENGTH = 24


@pytest.fixture(scope="session")
def tiny_lm() -> Any:
    from litecomplete.models import load_causal_lm

    return load_causal_lm("tiny", seed=0)


@pytest.fixture(scope="session")
def app_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("app_models")


def _convert(tiny_lm: Any, out: Path, **config: Any) -> Path:
    from litecomplete.convert import ExportConfig
    from litecomplete.convert.app_export import convert_app_model

    convert_app_model(tiny_lm, ExportConfig(max_length=TINY_MAX_LENGTH, **config), out)
    return out


@pytest.fixture(scope="session")
def app_models(tiny_lm: Any, app_model_dir: Path) -> dict[str, Path]:
    """Greedy app-format models of ``tiny`` in every quantization mode."""
    from litecomplete.convert import Sampler
    from litecomplete.quantize import QuantMode

    return {
        mode.value: _convert(
            tiny_lm,
            app_model_dir / f"tiny-{mode.value}.tflite",
            sampler=Sampler.GREEDY,
            context_length=TINY_CONTEXT_LENGTH,
            quant=mode,
            calibration_samples=4,
        )
        for mode in QuantMode
    }


@pytest.fixture(scope="session")
def convert_tiny(tiny_lm: Any, app_model_dir: Path) -> Any:
    """Convert ``tiny`` with extra ExportConfig fields: ``convert_tiny(name, **config)``."""

    def convert(name: str, **config: Any) -> Path:
        return _convert(tiny_lm, app_model_dir / f"{name}.tflite", **config)

    return convert


# The fast format on tiny: small buckets so short prompts cross bucket boundaries.
FAST_MAX_LENGTH = 64
FAST_BUCKETS = (4, 16)


@pytest.fixture(scope="session")
def fast_models(tiny_lm: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Fast-format models of ``tiny`` in every quantization mode."""
    from litecomplete.convert.fast_export import FastExportConfig, convert_fast_model
    from litecomplete.quantize import QuantMode

    out_dir = tmp_path_factory.mktemp("fast_models")
    paths = {}
    for mode in QuantMode:
        config = FastExportConfig(
            max_length=FAST_MAX_LENGTH, buckets=FAST_BUCKETS, quant=mode, calibration_samples=4
        )
        paths[mode.value] = out_dir / f"tiny-fast-{mode.value}.tflite"
        convert_fast_model(tiny_lm, config, paths[mode.value])
    return paths
