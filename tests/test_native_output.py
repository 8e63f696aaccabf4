"""Native log lines: LiteRT's and TensorFlow's set-up chatter kept off stderr, the rest kept."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading

import pytest

from litecomplete.native_output import quiet_native_setup, without_setup_chatter

# As LiteRT 2.3 writes them loading and freeing a fast-format model.
CHATTER = b"""INFO: [environment.cc:36] Creating LiteRT environment with options
INFO: [accelerator_registry.cc:54] RegisterAccelerator: ptr=0x55c4d4f46520, name=NpuAccelerator
WARNING: [npu_registry.cc:34] NPU accelerator could not be loaded and registered: kLiteRtSt...
WARNING: [compiler_plugin.cc:312] Failed to load plugin at: /x/libLiteRtCompilerPlugin_X.so
\xe2\x94\x94 Could not load shared library /x/libLiteRtCompilerPlugin_X.so: libopenvino.so
INFO: Created TensorFlow Lite XNNPACK delegate for CPU.
INFO: [accelerator_registry.cc:43] DestroyAccelerator: ptr=0x55c4d6756b70, name=CpuAccelerator
"""
# As TensorFlow 2.19 and its TF Lite write them loading and first running an app model.
TF_CHATTER = b"""2026-12-03 08:24:43.389044: E external/local_xla/xla/stream_executor/\
cuda/cuda_fft.cc:467] Unable to register cuFFT factory
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
E0000 00:00:1796286283.409202   18836 cuda_dnn.cc:8579] Unable to register cuDNN factory
E0000 00:00:1796286283.414440   18836 cuda_blas.cc:1407] Unable to register cuBLAS factory
W0000 00:00:1796286283.432629   18836 computation_placer.cc:177] computation placer already \
registered.
INFO: Created TensorFlow Lite delegate for select TF ops.
2026-12-03 08:24:45.563239: E external/local_xla/xla/stream_executor/cuda/cuda_platform.cc:51] \
failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)
INFO: TfLiteFlexDelegate delegate: 29 nodes delegated out of 285 nodes with 13 partitions.

INFO: Created TensorFlow Lite XNNPACK delegate for CPU.
"""
KEPT = b"""ERROR: [compiled_model.cc:90] Failed to compile the model
\xe2\x94\x94 Not a valid flatbuffer
WARNING: [xnnpack.cc:7] the weights cache could not be written
Traceback (most recent call last):
INFO litecomplete.runtime: a line of our own log
"""


def test_only_set_up_lines_are_dropped() -> None:
    middle = CHATTER.index(b"\nINFO: Created") + 1  # between two whole lines
    mixed = CHATTER[:middle] + KEPT + CHATTER[middle:]
    assert without_setup_chatter(mixed) == KEPT
    assert without_setup_chatter(CHATTER) == b""
    assert without_setup_chatter(TF_CHATTER) == b""
    assert without_setup_chatter(TF_CHATTER + KEPT) == KEPT
    # A continuation line is dropped only under a dropped line.
    assert without_setup_chatter(KEPT) == KEPT


def test_a_quiet_block_passes_everything_else_on_and_restores_stderr(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with quiet_native_setup():
        os.write(2, CHATTER + b"ERROR: [compiled_model.cc:90] refused\n")
        assert capfd.readouterr().err == ""  # not yet: after the block
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "ERROR: [compiled_model.cc:90] refused\nafter\n"


def test_a_block_inside_another_leaves_the_restoring_to_the_outer_one(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with quiet_native_setup():
        with quiet_native_setup():  # as a model freed by the garbage collector does
            os.write(2, CHATTER + b"inner\n")
        os.write(2, CHATTER + b"outer\n")
        assert capfd.readouterr().err == ""
    assert capfd.readouterr().err == "inner\nouter\n"


def test_without_room_for_a_temporary_file_lines_pass_straight_through(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_room() -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", no_room)
    with quiet_native_setup():
        os.write(2, b"INFO: [environment.cc:36] chatter\n")
        assert capfd.readouterr().err == "INFO: [environment.cc:36] chatter\n"
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_overlapping_blocks_in_two_threads_restore_stderr_once(
    capfd: pytest.CaptureFixture[str],
) -> None:
    entered, first_left = threading.Event(), threading.Event()

    def second() -> None:
        with quiet_native_setup():
            entered.set()
            first_left.wait(10)
            os.write(2, CHATTER + b"second\n")

    thread = threading.Thread(target=second)
    with quiet_native_setup():
        thread.start()
        entered.wait(10)
        os.write(2, b"first\n")
    first_left.set()
    thread.join(10)
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "first\nsecond\nafter\n"


def stderr_before_exit(lines: str) -> bytes:
    """What a Python process running ``lines`` writes to stderr before it exits (LiteRT's
    buffer environment lives until then and says so after the last Python code)."""
    script = f"import gc, os\n{lines}\ngc.collect()\nos.write(2, b'done\\n')\n"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count(b"done\n") == 1, proc.stderr
    return proc.stderr.split(b"done\n")[0]


# Load, run twice (the app format sets its delegates up at the first run) and free.
LOADERS = {
    "fast_models": "from litecomplete.runtime.fast_model import FastModel as Model",
    "app_models": "from litecomplete.runtime.app_model import AppModel as Model",
}


@pytest.mark.parametrize("models", LOADERS)
def test_a_model_loads_runs_and_goes_without_a_line_on_stderr(
    models: str, request: pytest.FixtureRequest
) -> None:
    path = request.getfixturevalue(models)["dynamic"]
    written = stderr_before_exit(
        f"{LOADERS[models]}\nmodel = Model.load({str(path)!r})\n"
        "model.complete('Once upon a time')\nmodel.complete('Once upon a time there')\n"
        "del model"
    )
    assert written == b"", written
