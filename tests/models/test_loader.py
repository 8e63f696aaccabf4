from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from litecomplete.errors import (
    ModelSpecError,
    NetworkUnavailableError,
    PresetDirectoryError,
    UnsupportedArchitectureError,
)
from litecomplete.models import BUILTIN_CONFIGS, load_causal_lm, loader


def test_tiny_has_its_config_shapes_and_parameter_count(tiny_lm: Any) -> None:
    config = BUILTIN_CONFIGS["tiny"]
    backbone = tiny_lm.backbone
    assert backbone.num_layers == config.num_layers == 2
    assert backbone.hidden_dim == config.hidden_dim == 128
    assert backbone.count_params() == config.parameter_count()
    assert tiny_lm.preprocessor.sequence_length == 256


def test_gpt2_124m_parameter_count_is_gpt2_base() -> None:
    # OpenAI GPT-2 base: 124,439,808 weights with the embedding counted once.
    assert BUILTIN_CONFIGS["gpt2-124m"].parameter_count() == 124_439_808


def test_tiny_tokenizer_is_gpt2_bpe(tiny_lm: Any) -> None:
    tokenizer = tiny_lm.preprocessor.tokenizer
    ids = np.asarray(tokenizer("Hello world")).tolist()
    assert ids == [15496, 995]  # GPT-2's ids for "Hello", " world"


def test_local_preset_directory_round_trip(tiny_lm: Any, tmp_path: Path) -> None:
    preset = tmp_path / "tiny_preset"
    tiny_lm.save_to_preset(str(preset))
    loaded = load_causal_lm(str(preset), sequence_length=64)
    assert loaded.preprocessor.sequence_length == 64
    for ours, theirs in zip(tiny_lm.backbone.weights, loaded.backbone.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_missing_preset_directory(tmp_path: Path) -> None:
    with pytest.raises(PresetDirectoryError, match="does not exist"):
        load_causal_lm(str(tmp_path / "no_such_preset"))


def test_directory_without_config(tmp_path: Path) -> None:
    with pytest.raises(PresetDirectoryError, match="no config.json"):
        load_causal_lm(str(tmp_path))


def test_file_given_as_preset(tmp_path: Path) -> None:
    model = tmp_path / "model.tflite"
    model.write_bytes(b"x")
    with pytest.raises(PresetDirectoryError, match="is a file"):
        load_causal_lm(str(model))


def test_preset_of_another_architecture(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"registered_name": "keras_hub>BertBackbone"}))
    with pytest.raises(UnsupportedArchitectureError, match="BertBackbone"):
        load_causal_lm(str(tmp_path))


def test_unknown_name_lists_the_choices() -> None:
    with pytest.raises(ModelSpecError, match=r"tiny, gpt2-124m.*gpt2_base_en"):
        load_causal_lm("gpt2_enormous_xx")


def test_preset_name_without_network_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    # An unresolvable host stands in for a machine without network, wherever this runs.
    monkeypatch.setitem(loader.HUB_HOSTS, "kaggle", "hub.invalid")
    with pytest.raises(NetworkUnavailableError, match=r"gpt2_base_en.*cannot be reached"):
        load_causal_lm("gpt2_base_en")


@pytest.fixture(scope="module")
def tiny_preset(tiny_lm: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    preset = tmp_path_factory.mktemp("tiny_preset") / "preset"
    tiny_lm.save_to_preset(str(preset))
    return preset


def _backbone(preset: Path, key: str, value: Any) -> None:
    task = json.loads((preset / "task.json").read_text("utf-8"))
    task["config"]["backbone"]["config"][key] = value
    (preset / "task.json").write_text(json.dumps(task), "utf-8")


def _weights(preset: Path, edit: str) -> None:
    weights = preset / "model.weights.h5"
    data = weights.read_bytes()
    if edit == "missing":
        weights.unlink()
    elif edit == "directory":
        weights.unlink()
        weights.mkdir()
    elif edit == "empty":
        weights.write_bytes(b"")
    elif edit == "truncated":
        weights.write_bytes(data[: len(data) // 2])
    elif edit == "random":
        weights.write_bytes(np.random.default_rng(0).bytes(100_000))


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (lambda p: _weights(p, "missing"), "has no weights file"),  # named model.weights.json
        (lambda p: _weights(p, "directory"), "has no weights file"),  # was a multi-line error
        (lambda p: _weights(p, "empty"), "file is damaged or truncated"),
        (lambda p: _weights(p, "truncated"), "file is damaged or truncated"),
        (lambda p: _weights(p, "random"), "file is damaged or truncated"),
        (lambda p: _backbone(p, "num_layers", 10**9), "num_layers is 1000000000"),  # was a hang
        (lambda p: _backbone(p, "num_layers", "many"), "num_layers is 'many'"),
        (lambda p: _backbone(p, "hidden_dim", 96), "do not fit the sizes in its config"),
        (lambda p: (p / "task.json").write_text("[1]"), "holds no backbone config"),
    ],
)
def test_a_damaged_preset_directory(
    tiny_preset: Path, tmp_path: Path, damage: Any, fragment: str
) -> None:
    import shutil

    preset = tmp_path / "preset"
    shutil.copytree(tiny_preset, preset)
    damage(preset)
    with pytest.raises(PresetDirectoryError, match=fragment) as caught:
        load_causal_lm(str(preset))
    message = str(caught.value)
    assert str(preset) in message and "\n" not in message
