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
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # Linux reports KiB


def rss_bytes() -> int:
    """Resident set size of this process now, in bytes (0 where it cannot be read)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return 0
