"""Where litecomplete keeps its data (the default model), and the digest that checks a
file it reads."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def data_dir() -> Path:
    """``$LITECOMPLETE_HOME``, else ``$XDG_DATA_HOME/litecomplete`` (``~/.local/share``)."""
    home = os.environ.get("LITECOMPLETE_HOME")
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "litecomplete"


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
