"""Real-size files more than one slow module reads, converted once per run.

``test.sh -m slow`` runs each module in its own process and names a folder for the
run in ``LITECOMPLETE_TEST_FILES``: a file one module converted is there for the next.
Without it (one module run by hand) each module converts into its own temporary folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from litecomplete.quantize import QuantMode

SHARED_FOLDER = "LITECOMPLETE_TEST_FILES"
# Without the decode signatures that read part of the cache (``contract``): they compute
# what ``decode`` does, no test here reads them, and two fewer signatures shorten each
# conversion (six files in the quality module).
SLOW_TIER_OPTIONS = ("--decode-spans", "none")


def smollm2_fast_file(quant: QuantMode, folder: Path, *options: str) -> Path:
    """The embedded SmolLM2 in the fast format as ``litecomplete convert --quant quant
    *options`` writes it (the CLI's defaults are ``FastExportConfig``'s), with
    ``SLOW_TIER_OPTIONS``.

    Each conversion runs in its own process: one peaks near 10.5 GB, and memory that
    TensorFlow took in a test process is not given back.
    """
    shared = os.environ.get(SHARED_FOLDER)
    root = Path(shared) if shared else folder
    name = "_".join(["smollm2", quant.value, *(o.lstrip("-") for o in options)])
    path = root / f"{name}.tflite"
    if not path.is_file():  # the CLI writes atomically: a file here is whole
        convert = ["convert", "--model", "smollm2", "--format", "fast", "--quant", quant.value]
        options = (*SLOW_TIER_OPTIONS, *options)
        subprocess.run(
            [sys.executable, "-m", "litecomplete", *convert, *options, "--out", str(path)],
            check=True,
        )
    return path
