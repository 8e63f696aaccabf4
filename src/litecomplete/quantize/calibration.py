"""Representative text for calibration: full-integer ranges (app format), outlier
channels and ``auto``'s choices (fast format).

The passages ship inside the package (``litecomplete/data/calibration.txt``,
public-domain Shakespeare); nothing is downloaded. ``--calibration-text`` gives a
user's own text instead: a UTF-8 file, a passage per non-empty line.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from litecomplete.errors import ConfigError
from litecomplete.textfile import read_utf8

# Passages of the calibration text a conversion calibrates on, unless told otherwise.
DEFAULT_CALIBRATION_SAMPLES = 16


def calibration_passages(limit: int | None = None, path: Path | None = None) -> list[str]:
    """Passages of real text, one per entry, in file order: the packaged text's, or
    ``path``'s (``read_calibration_text``)."""
    if path is not None:
        passages = read_calibration_text(path)
    else:
        text = resources.files("litecomplete").joinpath("data/calibration.txt").read_text("utf-8")
        passages = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return passages if limit is None else passages[:limit]


def read_calibration_text(path: Path) -> list[str]:
    """The non-empty lines of ``path``; ConfigError names a missing, unreadable, empty or
    non-UTF-8 file."""
    text = read_utf8(path, "--calibration-text")
    passages = [line.strip() for line in text.splitlines() if line.strip()]
    if not passages:
        raise ConfigError(f"--calibration-text {path} has no text")
    return passages
