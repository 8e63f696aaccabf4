"""Conversion writes its output whole or not at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from litecomplete.atomic import atomic_write_bytes


def test_interrupted_write_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "model.tflite"
    out.write_bytes(b"old model")

    def interrupted(*_: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(out, b"new model" * 1000)
    assert out.read_bytes() == b"old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.tflite"]


def test_write_replaces_whole(tmp_path: Path) -> None:
    out = tmp_path / "model.tflite"
    out.write_bytes(b"old")
    atomic_write_bytes(out, b"new contents")
    assert out.read_bytes() == b"new contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.tflite"]


def test_new_file_gets_the_mode_open_would_give(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    atomic = tmp_path / "atomic"
    atomic_write_bytes(atomic, b"x")
    assert atomic.stat().st_mode == plain.stat().st_mode


def test_converter_failure_writes_nothing(
    tiny_lm: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from litecomplete.convert import AppExportConfig, app_export
    from litecomplete.errors import ConversionError

    def failing(*_: Any, **__: Any) -> bytes:
        raise ConversionError("the TFLite converter failed: simulated")

    monkeypatch.setattr(app_export, "app_tflite_bytes", failing)
    out = tmp_path / "model.tflite"
    with pytest.raises(ConversionError):
        app_export.convert_app_model(tiny_lm, AppExportConfig(max_length=8), out)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [
        (signal.SIGINT, 130, "interrupted"),
        # A service manager's stop: without a handler SIGTERM ended the process on the
        # spot, leaving the SavedModel, the converter log and TF's files in TMPDIR.
        (signal.SIGTERM, 143, "terminated"),
    ],
)
def test_ctrl_c_or_sigterm_during_convert_leaves_no_file(
    tmp_path: Path, signum: int, code: int, said: str
) -> None:
    out_dir, scratch = tmp_path / "out", tmp_path / "tmp"
    out_dir.mkdir()
    scratch.mkdir()
    out = out_dir / "model.tflite"
    out.write_bytes(b"previous")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "litecomplete",
            "convert",
            "--model",
            "tiny",
            "--max-length",
            "8",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background jobs inherit SIGINT ignored, and Python then installs
        # no KeyboardInterrupt handler; a user's terminal delivers it by default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    # Interrupt once the export to a temporary SavedModel has begun.
    deadline = time.monotonic() + 300
    # (under the conversion process's own temporary directory)
    while not list(scratch.glob("*/litecomplete-savedmodel-*")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "conversion never reached the export stage"
        time.sleep(0.05)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    assert f"{said}; nothing was written" in stderr
    assert "Traceback" not in stderr
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in out_dir.iterdir()) == ["model.tflite"]
    assert list(scratch.iterdir()) == []  # SavedModel and converter log removed too


def test_a_converter_exception_becomes_a_conversion_error() -> None:
    from litecomplete.convert.output import quantize_and_convert
    from litecomplete.errors import ConversionError
    from litecomplete.quantize import QuantMode

    class Broken:
        def convert(self) -> bytes:
            raise RuntimeError("op FooBar is neither a custom op nor a flex op")

    with pytest.raises(ConversionError, match="converter failed: op FooBar"):
        quantize_and_convert(Broken(), QuantMode.NONE, None)
