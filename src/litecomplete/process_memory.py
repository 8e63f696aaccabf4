"""Handing memory the process no longer needs back to the system.

Two kinds stay resident after a model is prepared: C-heap pages freed by the
runtime that glibc keeps mapped, and pages of the model file that the runtime read
once through its own read-only mapping (the flatbuffer it parsed, a page of every
weight it looked at). Neither is needed to run the model; both count in the
process's resident memory until released here. A conversion releases the first kind
between its stages (``convert.fast_export``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import cache
from pathlib import Path
from typing import Any

# madvise(2): the mapped pages are not needed; a read-only file mapping reads them
# from the page cache again if they are.
MADV_DONTNEED = 4


def release_freed_memory() -> None:
    """Give the C heap's freed pages back to the system (glibc's ``malloc_trim``).

    Preparing a model frees tens of MB (the verifier's interpreter, parse buffers) that
    glibc keeps mapped; trimmed, they leave the process's resident memory. A no-op
    where the C library has no ``malloc_trim``.
    """
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim(0)


def release_file_pages(path: Path) -> int:
    """Unmap the resident pages of every read-only mapping of ``path`` in this process.

    The runtime maps a model file and reads most of it once while preparing (SmolLM2:
    21 MiB of flatbuffer and weight headers, whose packed copies live in the weights
    cache); dropped, those pages stay in the page cache, and the few that later calls
    read (embedding rows, small constants) come back on demand. Writable mappings are
    left alone: dropping a private page would lose what was written to it. Returns
    the bytes of address space advised; 0 where ``/proc/self/maps`` or ``madvise``
    are missing.
    """
    madvise = _libc_function("madvise")
    if madvise is None:
        return 0
    target = os.path.realpath(path)
    advised = 0
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            lines = maps.readlines()
    except OSError:
        return 0
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) < 6 or "w" in fields[1] or fields[5].rstrip("\n") != target:
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        if madvise(start, end - start, MADV_DONTNEED) == 0:
            advised += end - start
    return advised


@cache
def _libc_function(name: str) -> Any:
    """A function of the C library, looked up once (finding libc runs ``ldconfig``)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = getattr(libc, name)
    except (OSError, AttributeError):
        return None
    if name == "madvise":
        function.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        function.restype = ctypes.c_int
    return function
