"""Native log lines: LiteRT's set-up chatter kept off stderr, everything else kept."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from litecomplete.native_output import quiet_litert, without_litert_chatter

# As LiteRT 2.3 writes them loading and freeing a fast-format model.
CHATTER = b"""INFO: [environment.cc:36] Creating LiteRT environment with options
INFO: [accelerator_registry.cc:54] RegisterAccelerator: ptr=0x55c4d4f46520, name=NpuAccelerator
WARNING: [npu_registry.cc:34] NPU accelerator could not be loaded and registered: kLiteRtSt...
WARNING: [compiler_plugin.cc:312] Failed to load plugin at: /x/libLiteRtCompilerPlugin_X.so
\xe2\x94\x94 Could not load shared library /x/libLiteRtCompilerPlugin_X.so: libopenvino.so
INFO: Created TensorFlow Lite XNNPACK delegate for CPU.
INFO: [accelerator_registry.cc:43] DestroyAccelerator: ptr=0x55c4d6756b70, name=CpuAccelerator
"""
KEPT = b"""ERROR: [compiled_model.cc:90] Failed to compile the model
\xe2\x94\x94 Not a valid flatbuffer
WARNING: [xnnpack.cc:7] the weights cache could not be written
Traceback (most recent call last):
INFO litecomplete.runtime: a line of our own log
"""


def test_only_litert_set_up_lines_are_dropped() -> None:
    middle = CHATTER.index(b"\nINFO: Created") + 1  # between two whole lines
    mixed = CHATTER[:middle] + KEPT + CHATTER[middle:]
    assert without_litert_chatter(mixed) == KEPT
    assert without_litert_chatter(CHATTER) == b""
    # A continuation line is dropped only under a dropped line.
    assert without_litert_chatter(KEPT) == KEPT


def test_a_quiet_block_passes_everything_else_on_and_restores_stderr(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with quiet_litert():
        os.write(2, CHATTER + b"ERROR: [compiled_model.cc:90] refused\n")
        assert capfd.readouterr().err == ""  # not yet: after the block
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "ERROR: [compiled_model.cc:90] refused\nafter\n"


def test_a_block_inside_another_leaves_the_restoring_to_the_outer_one(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with quiet_litert():
        with quiet_litert():  # as a model freed by the garbage collector does
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
    with quiet_litert():
        os.write(2, b"INFO: [environment.cc:36] chatter\n")
        assert capfd.readouterr().err == "INFO: [environment.cc:36] chatter\n"
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_overlapping_blocks_in_two_threads_restore_stderr_once(
    capfd: pytest.CaptureFixture[str],
) -> None:
    entered, first_left = threading.Event(), threading.Event()

    def second() -> None:
        with quiet_litert():
            entered.set()
            first_left.wait(10)
            os.write(2, CHATTER + b"second\n")

    thread = threading.Thread(target=second)
    with quiet_litert():
        thread.start()
        entered.wait(10)
        os.write(2, b"first\n")
    first_left.set()
    thread.join(10)
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "first\nsecond\nafter\n"


def test_loading_and_freeing_a_model_writes_nothing_to_stderr(
    fast_models: dict[str, Path],
) -> None:
    script = f"""
import gc, os
from litecomplete.runtime.fast_model import FastModel
model = FastModel.load({str(fast_models["int4"])!r})
model.complete("Once upon a time")
del model
gc.collect()
os.write(2, b"done\\n")
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    # LiteRT's buffer environment lives until exit and says so then: after "done".
    assert proc.stderr.split(b"done\n")[0] == b"", proc.stderr
