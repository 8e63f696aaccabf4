"""Conversions that run out of memory or disk space fail in one line and leave nothing."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

CONVERT = ["convert", "--model", "tiny", "--format", "fast", "--max-length", "16", "--buckets", "8"]


def convert(
    tmp_path: Path, limit: Callable[[], None] | None = None, out_dir: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    out_dir = out_dir or tmp_path / "out"
    scratch = tmp_path / "tmp"
    out_dir.mkdir(exist_ok=True)
    scratch.mkdir()
    out = out_dir / "model.tflite"
    result = subprocess.run(
        [sys.executable, "-m", "litecomplete", *CONVERT, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=limit,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    return result, out, scratch


def assert_failed_cleanly(
    result: subprocess.CompletedProcess[str], out: Path, scratch: Path, fragment: str = ""
) -> None:
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("litecomplete")]
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert len(lines) == 1 and "nothing was written" in lines[0], result.stderr[-3000:]
    assert fragment in lines[0], lines[0]
    assert list(out.parent.iterdir()) == []  # no model, no .part file
    assert list(scratch.iterdir()) == []  # no SavedModel, log or TensorFlow file


@pytest.mark.parametrize("cap_gib", [1.0, 1.6, 2.2])
def test_a_memory_cap_fails_cleanly(tmp_path: Path, cap_gib: float) -> None:
    """``ulimit -v``: TensorFlow fails to load, segfaults or raises MemoryError by the cap
    (here, 1.0, 1.6 and 2.2 GiB gave each of these); every way ends in one line."""

    def cap() -> None:
        size = int(cap_gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    result, out, scratch = convert(tmp_path, cap)
    if result.returncode == 0:  # enough on this machine: then the file is whole
        assert out.stat().st_size > 0 and list(scratch.iterdir()) == []
        return
    assert_failed_cleanly(result, out, scratch)


def test_a_file_size_limit_fails_cleanly(tmp_path: Path) -> None:
    """``ulimit -f``: the temporary SavedModel cannot be written."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4 * 2**20, 4 * 2**20))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a kill

    result, out, scratch = convert(tmp_path, limit)
    assert_failed_cleanly(result, out, scratch)


def test_a_full_disk_fails_cleanly(tmp_path: Path) -> None:
    """An output folder on an 8 MB file system: the 29 MB model does not fit."""
    small = tmp_path / "small"
    small.mkdir()
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(small)], capture_output=True
    )
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mount.stderr.decode().strip()}")
    try:
        result, out, scratch = convert(tmp_path, out_dir=small)
        assert_failed_cleanly(result, out, scratch, "No space left on device")
    finally:
        subprocess.run(["umount", str(small)], check=True)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def test_a_conversion_killed_by_the_oom_killer_leaves_nothing(tmp_path: Path) -> None:
    """SIGKILL runs no cleanup in the process it kills: the CLI's parent process does it."""
    out_dir, scratch = tmp_path / "out", tmp_path / "tmp"
    out_dir.mkdir()
    scratch.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "litecomplete", *CONVERT, "--out", str(out_dir / "m.tflite")],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    deadline = time.monotonic() + 300
    while not list(scratch.glob("*/litecomplete-fast-*")):  # the export has begun
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    (worker,) = _children(proc.pid)
    os.kill(worker, signal.SIGKILL)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGKILL, stderr
    assert "died of SIGKILL (most likely the system's out-of-memory killer)" in stderr
    assert list(out_dir.iterdir()) == [] and list(scratch.iterdir()) == []
