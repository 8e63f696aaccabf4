from __future__ import annotations

from pathlib import Path

import pytest

from litecomplete.errors import ModelFileError
from litecomplete.inspect import check_contract, read_model_info


@pytest.fixture(scope="module")
def non_app_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid TFLite file with a float signature instead of the app contract."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([4], tf.float32, name="x")])
    def double(x: tf.Tensor) -> tf.Tensor:
        return x * 2.0

    converter = tf.lite.TFLiteConverter.from_concrete_functions([double.get_concrete_function()])
    path = tmp_path_factory.mktemp("non_app") / "double.tflite"
    path.write_bytes(converter.convert())
    return path


def test_app_model_info(app_models: dict[str, Path]) -> None:
    info = read_model_info(app_models["dynamic"])
    assert info.op_set == "builtins + Flex"
    assert "FlexRegexSplitWithOffsets" in info.flex_ops  # the tokenizer runs in the graph
    assert info.builtin_ops["WHILE"] >= 1  # and so does the generation loop
    assert info.weight_bytes_by_dtype["INT8"] > info.weight_bytes_by_dtype["FLOAT32"]


def test_file_with_another_interface_fits_no_contract(non_app_model: Path) -> None:
    info = read_model_info(non_app_model)
    assert info.op_set == "builtins"
    assert check_contract(info) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a TFLite model"),
        (b"[project]\nname = 'x'\n", "not a TFLite model"),
        (b"\x00\x00\x00\x00TFL3" + b"\xff" * 64, "damaged TFLite file"),
    ],
)
def test_bad_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.tflite"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message):
        read_model_info(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="does not exist"):
        read_model_info(tmp_path / "absent.tflite")


def _with_min_runtime(source: Path, version: bytes, out: Path) -> Path:
    """A copy of ``source`` whose converter metadata names another minimum runtime."""
    import numpy as np

    from litecomplete.convert.flatbuffer_edit import read_model_object, write_model_object

    model = read_model_object(source.read_bytes())
    entry = next(m for m in model.metadata if m.name == b"min_runtime_version")
    model.buffers[entry.buffer].data = np.frombuffer(version.ljust(16, b"\0"), np.uint8)
    out.write_bytes(write_model_object(model))
    return out


def test_inspect_names_the_oldest_runtime_and_warns_past_the_apps(
    app_models: dict[str, Path], tmp_path: Path
) -> None:
    import subprocess
    import sys

    def inspect(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "litecomplete", "inspect", str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    fine = inspect(app_models["int8"])
    assert fine.returncode == 0, fine.stderr
    assert "oldest TFLite 2.11.0 (every builtin op version" in fine.stdout
    assert "warning" not in fine.stderr
    newer = _with_min_runtime(app_models["none"], b"2.14.0", tmp_path / "newer.tflite")
    assert read_model_info(newer).min_runtime_version == "2.14.0"
    warned = inspect(newer)
    assert warned.returncode == 0
    assert "needs TensorFlow Lite 2.14.0; the seed app ships 2.12.0" in warned.stderr
