"""Real-size conversions (GPT-2 124M shapes): minutes and several GB each."""

from __future__ import annotations

from pathlib import Path

import pytest

from litecomplete.convert import ExportConfig
from litecomplete.models import BUILTIN_CONFIGS, load_causal_lm
from litecomplete.quantize import QuantMode
from litecomplete.runtime import AppModel

pytestmark = pytest.mark.slow


def test_gpt2_124m_dynamic_is_about_a_quarter_of_fp32(tmp_path: Path) -> None:
    from litecomplete.convert.app_export import convert_app_model

    config = BUILTIN_CONFIGS["gpt2-124m"]
    fp32_bytes = 4 * config.parameter_count()
    result = convert_app_model(
        load_causal_lm("gpt2-124m"),
        ExportConfig(quant=QuantMode.DYNAMIC),
        tmp_path / "gpt2-124m-dynamic.tflite",
    )
    assert result.info.quantization == "dynamic"
    assert result.size_bytes <= 0.27 * fp32_bytes, (result.size_bytes, fp32_bytes)
    completion = AppModel.load(result.path).complete("I'm enjoying a")
    assert completion
