"""Real consumers of our files, run in their own environments."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED_APP_SCRIPT = Path(__file__).with_name("seed_app_runtime.py")
# TensorFlow 2.12.1 + tensorflow-text 2.12.1, made by scripts/install-tflite212.sh.
TFLITE212_PYTHON = Path(
    os.environ.get("LITECOMPLETE_TFLITE212_PYTHON", ROOT / ".venv-tflite212" / "bin" / "python")
)


def require_tflite212() -> Path:
    """The TF 2.12 environment's python; skip (fail in CI) when it is not installed."""
    if TFLITE212_PYTHON.exists():
        return TFLITE212_PYTHON
    message = (
        f"TensorFlow Lite 2.12 not installed at {TFLITE212_PYTHON}: "
        "run scripts/install-tflite212.sh"
    )
    if os.environ.get("LITECOMPLETE_REQUIRE_TFLITE212"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class AppRun:
    """One prompt run the seed app's way: output 0's text and its raw tensor size."""

    output: bytes
    raw_bytes: int


def run_like_seed_app(models: dict[str, Path], prompts: list[str]) -> dict[str, list[AppRun] | str]:
    """Every model on every prompt in TF Lite 2.12; per model its runs or its error."""
    python = require_tflite212()
    request = {"models": {k: str(v) for k, v in models.items()}, "prompts": prompts}
    done = subprocess.run(
        [str(python), str(SEED_APP_SCRIPT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise AssertionError(f"the TF Lite 2.12 runner exited {done.returncode}")
    reply = json.loads(done.stdout)
    assert reply["runtime"].startswith("2.12."), reply["runtime"]
    results: dict[str, list[AppRun] | str] = {}
    for name, result in reply["results"].items():
        if "error" in result:
            results[name] = result["error"]
        else:
            results[name] = [
                AppRun(base64.b64decode(run["output"]), run["raw_bytes"])
                for run in result["outputs"]
            ]
    return results
