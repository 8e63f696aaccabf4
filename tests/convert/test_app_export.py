"""App-format conversion of the tiny GPT-2: contract, parity, quantization, prompt trimming."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from litecomplete.contract import STRING_TENSOR_HEADER_BYTES, ModelFormat
from litecomplete.convert import AppExportConfig, Sampler
from litecomplete.errors import ConfigError, PromptError
from litecomplete.inspect import check_contract, read_model_info
from litecomplete.inspect.contracts import runs_on_app_runtime
from litecomplete.quantize import QuantMode
from litecomplete.quantize.modes import APP_QUANT_MODES
from litecomplete.runtime import AppModel
from tests.conftest import TINY_CONTEXT_LENGTH, TINY_MAX_LENGTH

PROMPTS = [
    "I'm enjoying a",
    "The quick brown fox",
    "Once upon a time, in a land far away,",
    "def main():",
    "Zürich café ünïcödé — 東京",  # 18 tokens: multi-byte characters
]


@pytest.fixture(scope="module")
def loaded(app_models: dict[str, Path]) -> dict[str, AppModel]:
    return {mode: AppModel.load(path) for mode, path in app_models.items()}


@pytest.mark.parametrize("mode", [m.value for m in APP_QUANT_MODES])
def test_every_mode_converts_to_the_app_contract(app_models: dict[str, Path], mode: str) -> None:
    info = read_model_info(app_models[mode])
    assert check_contract(info) is ModelFormat.APP
    sig = info.signatures["serving_default"]
    assert [(t.name, t.dtype, t.shape) for t in sig.inputs.values()] == [("prompt", "STRING", ())]
    assert [(t.name, t.dtype) for t in sig.outputs.values()] == [("output_0", "STRING")]
    assert info.quantization == mode
    assert info.manifest["quantization"] == mode
    assert info.manifest["max_length"] == TINY_MAX_LENGTH
    assert info.manifest["max_output_bytes"] == 800
    # Every builtin op version exists in the seed app's TF Lite 2.12 (the converter's count).
    assert info.min_runtime_version is not None
    assert runs_on_app_runtime(info)


def test_quantized_files_are_smaller(app_models: dict[str, Path]) -> None:
    size = {mode: path.stat().st_size for mode, path in app_models.items()}
    assert size["float16"] < 0.6 * size["none"]
    assert size["dynamic"] < 0.4 * size["none"]
    # Full int8 quantizes the tied embedding once per use inside the generation loop's
    # body (lookup and output projection), so it stores it three times (README).
    assert size["int8"] < 0.8 * size["none"]


def test_int8_names_the_ops_left_in_float(tiny_lm: Any, tmp_path: Path) -> None:
    from litecomplete.convert.app_export import convert_app_model

    result = convert_app_model(
        tiny_lm,
        AppExportConfig(max_length=8, quant=QuantMode.INT8, calibration_samples=2),
        tmp_path / "int8.tflite",
    )
    assert result.info.quantized_activation_ops["FULLY_CONNECTED"] > 0
    assert "WHILE" in result.float_fallback_ops  # control flow has no integer kernel


@pytest.mark.parametrize("prompt", PROMPTS)
def test_fp32_greedy_equals_keras_generate(
    tiny_lm: Any, loaded: dict[str, AppModel], prompt: str
) -> None:
    tiny_lm.compile(sampler="greedy")
    expected = tiny_lm.generate(prompt, max_length=TINY_MAX_LENGTH)
    output = loaded["none"].generate(prompt).decode("utf-8")
    assert output == expected
    assert len(output) > len(prompt)


@pytest.mark.parametrize("mode", ["dynamic", "float16", "int8"])
def test_quantized_models_write_valid_utf8(loaded: dict[str, AppModel], mode: str) -> None:
    for prompt in PROMPTS:
        output = loaded[mode].generate(prompt)
        assert output.startswith(prompt.encode("utf-8"))
        completion = output[len(prompt.encode("utf-8")) :].decode("utf-8")  # strict
        assert completion


@pytest.mark.parametrize(
    "prompt", ["I'm enjoying a", "Zürich café", "東京 " * 4, "çok güzel " * 4, "x" * 51, "y" * 60]
)
def test_a_small_buffer_cuts_the_completion_at_a_character(
    convert_tiny: Any, loaded: dict[str, AppModel], prompt: str
) -> None:
    """The output holds the prompt and the longest run of whole characters that fits."""
    capped = AppModel.load(
        convert_tiny(
            "tiny-64-bytes",
            sampler=Sampler.GREEDY,
            context_length=TINY_CONTEXT_LENGTH,
            max_output_bytes=64,
        )
    )
    data = prompt.encode("utf-8")
    room = 64 - STRING_TENSOR_HEADER_BYTES - len(data)
    output = capped.generate(prompt)
    if room < 0:
        assert output == b""  # the app reads an empty output as "no suggestion"
        return
    assert output.startswith(data)
    completion = output[len(data) :].decode("utf-8")  # strict
    uncapped = loaded["none"].generate(prompt)[len(data) :].decode("utf-8")
    expected = ""
    for char in uncapped:
        if len((expected + char).encode("utf-8")) > room:
            break
        expected += char
    assert completion == expected
    assert len(output) + STRING_TENSOR_HEADER_BYTES <= 64


def test_top_k_of_one_is_greedy(convert_tiny: Any, loaded: dict[str, AppModel]) -> None:
    top1 = AppModel.load(
        convert_tiny(
            "tiny-top1", sampler=Sampler.TOP_K, top_k=1, context_length=TINY_CONTEXT_LENGTH
        )
    )
    for prompt in PROMPTS[:3]:
        assert top1.complete(prompt) == loaded["none"].complete(prompt)


def test_top_k_samples_differ_between_calls(convert_tiny: Any) -> None:
    model = AppModel.load(convert_tiny("tiny-top5", sampler=Sampler.TOP_K, top_k=5))
    completions = {model.complete("I'm enjoying a") for _ in range(4)}
    assert len(completions) > 1


def test_long_prompt_keeps_the_newest_tokens(loaded: dict[str, AppModel]) -> None:
    model = loaded["none"]
    newest = " word" * TINY_MAX_LENGTH  # one token per " word", more than the context keeps
    oldest = "An unrelated beginning that must be dropped entirely from the context."
    # Five copies are far more tokens than the context keeps, and still fit the output.
    assert model.complete(oldest * 5 + newest) == model.complete("A" + newest)
    assert model.complete(oldest * 5 + newest) != model.complete(oldest)


def test_empty_and_invalid_prompts(loaded: dict[str, AppModel]) -> None:
    model = loaded["none"]
    with pytest.raises(PromptError, match="empty"):
        model.complete("")
    with pytest.raises(PromptError, match="empty"):
        model.complete("   \n")
    with pytest.raises(PromptError, match=r"not valid UTF-8 \(byte 0xff at position 3\)"):
        model.complete(b"abc\xff\xfe")
    with pytest.raises(PromptError, match="not valid UTF-8"):
        model.complete("abc\udcff")  # how undecodable argv bytes arrive


def test_max_length_beyond_the_models_positions(tiny_lm: Any, tmp_path: Path) -> None:
    from litecomplete.convert.app_export import convert_app_model

    out = tmp_path / "too_long.tflite"
    with pytest.raises(ConfigError, match="exceeds the model's 1024 positions"):
        convert_app_model(tiny_lm, AppExportConfig(max_length=2048), out)
    assert not out.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_length": 1}, "max-length"),
        ({"max_length": 10, "context_length": 10}, "context-length"),
        ({"top_k": 0}, "top-k"),
        ({"temperature": 0.0}, "temperature"),
        ({"quant": QuantMode.INT4}, "app format cannot take --quant int4"),
        ({"quant": QuantMode.INT8W}, "app format cannot take --quant int8w"),
        ({"max_output_bytes": 13}, "max-output-bytes 13 cannot hold any completion"),
    ],
)
def test_invalid_export_config(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        AppExportConfig(**fields)


def test_unknown_modes_list_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="none, dynamic, float16, int8, int8w, int4"):
        QuantMode.parse("int3")
    with pytest.raises(ConfigError, match="greedy, top_k"):
        Sampler.parse("beam")
