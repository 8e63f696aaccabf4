"""Representative text for full-integer calibration.

The passages ship inside the package (``litecomplete/data/calibration.txt``,
public-domain Shakespeare); nothing is downloaded.
"""

from __future__ import annotations

from importlib import resources

# Passages of the calibration text a conversion calibrates on, unless told otherwise.
DEFAULT_CALIBRATION_SAMPLES = 16


def calibration_passages(limit: int | None = None) -> list[str]:
    """Passages of real English text, one per entry, in file order."""
    text = resources.files("litecomplete").joinpath("data/calibration.txt").read_text("utf-8")
    passages = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return passages if limit is None else passages[:limit]
