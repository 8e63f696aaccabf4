"""What the default model costs in memory: `litecomplete complete`, whole process, as a
user runs it, on the first run (weights packed into a new cache file) and the next
(the file mapped)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from litecomplete.default_model import ensure_default_model

pytestmark = pytest.mark.slow

# The bound of the memory issue: a model costs its file plus what Python, the runtime,
# the tokenizer and the KV caches need.
ALLOWANCE_BYTES = 150_000_000

RUN_CLI = """
import sys
from litecomplete.cli import main
from litecomplete.resources import peak_rss_bytes
try:
    status = main(sys.argv[1:])
finally:
    print(f"PEAK_RSS {peak_rss_bytes()}", file=sys.stderr)
sys.exit(status)
"""


def _complete(model: Path, home: Path) -> tuple[str, int]:
    """The completion and the process's peak RSS in bytes."""
    env = os.environ | {"LITECOMPLETE_HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-c", RUN_CLI, "complete", "--model", str(model)]
        + ["--max-new-tokens", "20", "The capital of France is"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    [peak] = [line.split()[1] for line in proc.stderr.splitlines() if line.startswith("PEAK_RSS")]
    return proc.stdout, int(peak)


def test_the_default_model_costs_its_file_and_150_mb(tmp_path: Path) -> None:
    model = tmp_path / "smollm2.tflite"
    shutil.copy(ensure_default_model(), model)
    home = tmp_path / "home"
    bound = model.stat().st_size + ALLOWANCE_BYTES
    first, first_peak = _complete(model, home)
    caches = list((home / "weights-cache").glob("*.xnnpack_cache"))
    assert len(caches) == 1, "the first run keeps the packed weights in one file"
    packed = caches[0].stat().st_ino
    second, second_peak = _complete(model, home)
    assert caches[0].stat().st_ino == packed, "the next run maps the file, not packs again"
    assert "Paris" in first and second == first
    mib = 2**20
    seen = (
        f"first run {first_peak / mib:.1f} MiB, next run {second_peak / mib:.1f} MiB, "
        f"bound {bound / mib:.1f} MiB (file {model.stat().st_size / mib:.1f}, packed weights "
        f"{caches[0].stat().st_size / mib:.1f}) on {_cpu_model()}"
    )
    assert first_peak <= bound and second_peak <= bound, seen


def _cpu_model() -> str:
    """The CPU's name (packing differs between instruction sets)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "an unknown CPU"
