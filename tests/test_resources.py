"""Peak memory readings belong to the process that reports them."""

from __future__ import annotations

import subprocess
import sys

from litecomplete.resources import peak_rss_bytes

CHILD = "from litecomplete.resources import peak_rss_bytes; print(peak_rss_bytes())"


def test_a_child_process_does_not_inherit_its_parents_peak() -> None:
    block = bytearray(600 * 2**20)
    block[::4096] = b"\x01" * len(range(0, len(block), 4096))  # touch every page
    parent = peak_rss_bytes()
    assert parent > 600 * 2**20
    child = int(
        subprocess.run(
            [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True
        ).stdout
    )
    assert 0 < child < 300 * 2**20 < parent
    del block
