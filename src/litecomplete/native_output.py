"""Keep native (C++) log lines out of the user's terminal.

The TFLite converter writes pages of MLIR diagnostics to file descriptor 2.
``captured_native_stderr`` sends fd 2 to a log file while the work runs, and
hands back a stream on the real stderr for progress bars.

LiteRT logs every accelerator it registers and destroys, and warns of the optional
ones it did not find, each time a model is built (some thirty lines for a fast-format
model) or freed (a few); TensorFlow, imported for an app-format model, adds its own
about the GPU it does not have. ``quiet_native_setup`` keeps those lines, and only
those, off fd 2. One environment LiteRT makes for reading and writing buffers lives
until the process ends and says so then, after the last Python code has run: the
command line sends fd 2 to /dev/null once its command is done
(``quiet_native_teardown``).
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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


# What native libraries say as a model is set up and torn down, none of which a user
# of the CPU runtimes can act on: LiteRT's and TF Lite's INFO lines (accelerators and
# delegates made and destroyed), LiteRT's warnings of the optional accelerators it did
# not find (an NPU, a GPU, vendors' compiler plugins), and TensorFlow's, as it is
# imported for the app format, of the CUDA it has no GPU for. A line starting "└" or
# an empty one goes with the line before it.
SETUP_CHATTER = re.compile(
    rb"INFO: "
    rb"|WARNING: \[(npu_registry|gpu_registry|compiler_plugin)\.cc:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|.*\b(cuda_fft|cuda_dnn|cuda_blas|cuda_platform|computation_placer)\.cc:\d+\] "
)
CONTINUATION = "└".encode()

_quiet_lock = threading.RLock()  # a model freed by the garbage collector re-enters
_quiet_depth = 0
_quiet_saved: tuple[int, IO[bytes]] | None = None


def without_setup_chatter(text: bytes) -> bytes:
    """``text`` without set-up lines (``SETUP_CHATTER``) and their continuations;
    every other line kept, in order."""
    kept: list[bytes] = []
    dropping = False
    for line in text.splitlines(keepends=True):
        if SETUP_CHATTER.match(line):
            dropping = True
        elif not (dropping and (not line.strip() or line.lstrip().startswith(CONTINUATION))):
            dropping = False
            kept.append(line)
    return b"".join(kept)


@contextmanager
def quiet_native_setup() -> Iterator[None]:
    """While a runtime builds, first runs or frees a model, keep its chatter
    (``SETUP_CHATTER``) off file descriptor 2.

    fd 2 goes to a temporary file during the block; afterwards everything written
    there but ``SETUP_CHATTER`` goes on to the real fd 2, so an error (LiteRT's own,
    or another thread's) still shows, a moment late. Blocks may nest or overlap across
    threads: the first to enter redirects, the last to leave restores.
    """
    global _quiet_depth, _quiet_saved
    with _quiet_lock:
        # Counted first and uncounted last: a block entered meanwhile in this thread
        # (from a garbage-collected model's __del__) neither redirects nor restores.
        _quiet_depth += 1
        if _quiet_depth == 1:
            # Without room for a temporary file or a descriptor, the chatter shows and
            # nothing fails.
            with suppress(OSError):
                sys.stderr.flush()
                log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the last to leave
                try:
                    _quiet_saved = (os.dup(2), log)
                except OSError:
                    log.close()
                    raise
                os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        with _quiet_lock:
            try:
                if _quiet_depth == 1 and _quiet_saved is not None:
                    saved, kept_log = _quiet_saved
                    _quiet_saved = None
                    sys.stderr.flush()
                    os.dup2(saved, 2)
                    os.close(saved)
                    kept_log.seek(0)
                    kept = without_setup_chatter(kept_log.read())
                    kept_log.close()
                    while kept:
                        kept = kept[os.write(2, kept) :]
            finally:
                _quiet_depth -= 1


def quiet_native_teardown() -> None:
    """Send file descriptor 2 to /dev/null as the process ends, once what was written
    is out.

    For the command line, whose command has finished by then: what native libraries
    write as they are torn down (LiteRT's last accelerators) does not reach the user.
    Exit handlers registered before this one run after it, their stderr gone too.
    """

    def silence_stderr() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)

    atexit.register(silence_stderr)
