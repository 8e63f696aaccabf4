"""Keep TensorFlow's native (C++) log lines out of the user's terminal.

The TFLite converter writes pages of MLIR diagnostics to file descriptor 2.
``captured_native_stderr`` sends fd 2 to a log file while the work runs, and
hands back a stream on the real stderr for progress bars.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from litecomplete import interrupts


@contextmanager
def captured_native_stderr() -> Iterator[tuple[IO[str], str]]:
    """Yield (a stream on the real stderr, path of the log that fd 2 writes to).

    The log is kept when the block fails with an error, for the user to read, and
    deleted when it succeeds or is interrupted (also when native code turned the
    interrupt into another error: ``interrupts``).
    """
    sys.stderr.flush()
    saved = os.dup(2)
    log_fd, log_path = tempfile.mkstemp(prefix="litecomplete-native-", suffix=".log")
    real_stderr = os.fdopen(os.dup(saved), "w", buffering=1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    keep = False
    try:
        yield real_stderr, log_path
    except Exception:
        keep = not interrupts.seen()
        raise
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        real_stderr.close()
        if not keep:
            os.unlink(log_path)
