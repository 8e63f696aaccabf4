"""Process resource readings shared by convert, bench and the CLI."""

from __future__ import annotations

import resource
import sys


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far, in bytes.

    On Linux this is the address space's high-water mark (``VmHWM``), which starts
    afresh when a program is executed; ``getrusage``'s ``ru_maxrss`` would carry over
    the peak of the process that started it (a benchmark worker launched by a
    report that had loaded models showed that report's peak).
    """
    peak = _status_bytes("VmHWM")
    if peak is not None:
        return peak
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # Linux reports KiB


def rss_bytes() -> int:
    """Resident set size of this process now, in bytes (0 where it cannot be read)."""
    return _status_bytes("VmRSS") or 0


def _status_bytes(field: str) -> int | None:
    """A size from ``/proc/self/status`` (Linux), in bytes; None where there is none."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return None
