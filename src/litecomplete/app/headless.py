"""Driving the page in headless Chromium (the browser tests and scripts/ghost_latency.py).

Debian's ``chromium`` (``/usr/bin/chromium``) driven by playwright; playwright's own
browser download is not needed. Without the networking flags Chromium keeps trying
to reach Google's services, which a machine without internet refuses, slowly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def launch_chromium(playwright: Any, executable: Path = CHROMIUM) -> Any:
    """A headless Chromium browser from ``playwright.sync_api.sync_playwright()``."""
    return playwright.chromium.launch(executable_path=str(executable), args=list(CHROMIUM_ARGS))
