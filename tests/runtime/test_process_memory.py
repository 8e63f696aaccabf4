"""Model-file pages the runtime read once leave the process's resident memory."""

from __future__ import annotations

import mmap
import os
import sys
from pathlib import Path

import pytest

from litecomplete.process_memory import release_file_pages

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/smaps")

SIZE = 8 * 2**20


def _resident_bytes(path: Path) -> int:
    """Resident bytes of this process's mappings of ``path`` (``/proc/self/smaps``)."""
    target, total, current = os.path.realpath(path), 0, False
    with open("/proc/self/smaps", encoding="utf-8", errors="replace") as smaps:
        for line in smaps:
            fields = line.split()
            if fields and not fields[0].endswith(":"):
                current = len(fields) >= 6 and fields[5] == target
            elif current and fields[0] == "Rss:":
                total += int(fields[1]) * 1024
    return total


def _touch(view: mmap.mmap) -> int:
    return sum(view[i] for i in range(0, len(view), mmap.PAGESIZE))


def test_read_only_pages_are_dropped_and_read_again_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    data = os.urandom(SIZE)
    path.write_bytes(data)
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
        checksum = _touch(view)
        assert _resident_bytes(path) >= SIZE * 0.9
        assert release_file_pages(path) == SIZE
        assert _resident_bytes(path) < SIZE * 0.1
        assert _touch(view) == checksum and view[:] == data


def test_a_writable_mapping_keeps_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(bytes(SIZE))
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY) as view:
        view[:4] = b"kept"
        assert release_file_pages(path) == 0
        assert view[:4] == b"kept"


def test_a_file_not_mapped_releases_nothing(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"x")
    assert release_file_pages(path) == 0
