"""Evaluation text: the packaged default, or a user's file, checked before any model runs.

The default (``litecomplete/data/eval.txt``) is prose from the Jargon File, public
domain and disjoint from the Shakespeare used for calibration.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from litecomplete.errors import ConfigError
from litecomplete.textfile import read_utf8

DEFAULT_TEXT_NAME = "jargon-file (packaged)"


def default_eval_text() -> str:
    """The packaged evaluation text, comment lines removed, one paragraph a line."""
    raw = resources.files("litecomplete").joinpath("data/eval.txt").read_text("utf-8")
    return "\n".join(line for line in raw.splitlines() if line and not line.startswith("#"))


def read_eval_text(path: str | Path | None) -> tuple[str, str]:
    """``(text, name)`` of ``path``, or of the packaged text when ``path`` is None."""
    if path is None:
        return default_eval_text(), DEFAULT_TEXT_NAME
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--text {path} does not exist or is not a file")
    text = read_utf8(path, "--text")
    if not text.strip():
        raise ConfigError(f"--text {path} is empty; give a file of ordinary text to score")
    return text, str(path)
