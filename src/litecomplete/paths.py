"""Where litecomplete keeps its data (the default model)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """``$LITECOMPLETE_HOME``, else ``$XDG_DATA_HOME/litecomplete`` (``~/.local/share``)."""
    home = os.environ.get("LITECOMPLETE_HOME")
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "litecomplete"
