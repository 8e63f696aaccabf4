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
    flag = f"--calibration-text {path}"
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{flag}: no such file") from None
    except OSError as e:
        raise ConfigError(f"{flag} cannot be read: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{flag} is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})"
        ) from None
    passages = [line.strip() for line in text.splitlines() if line.strip()]
    if not passages:
        raise ConfigError(f"{flag} has no text")
    return passages
