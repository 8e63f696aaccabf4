"""Run a long, memory-hungry command (a conversion) in a child process and clean up after it.

Short of memory, TensorFlow does not always raise: under ``ulimit -v`` or the
kernel's out-of-memory killer the process may segfault, abort or be killed, and
then no ``finally`` runs: the temporary SavedModel, the converter's log and
TensorFlow's generated files stay in TMPDIR, and a ``.part`` file beside the
output. So the CLI runs such a command as a child with a temporary directory of
its own, and the parent, which holds no model, reports how the child ended in
one line and removes what it left (``run_supervised``). A step of a longer job
(one conversion of a report, one engine of a benchmark) runs the same way and
answers in JSON (``json_from_child``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from litecomplete.errors import LitecompleteError

WORKER_ENV = "LITECOMPLETE_WORKER"  # set in the child: run the command itself
REPORTED_FILE = ".reported"  # in the child's TMPDIR: it has reported its failure
KEEP_GLOB = "litecomplete-native-*.log"  # a failed conversion's log, for the user to read
# Exception classes that say memory ran out (NumPy's is a MemoryError), and words that
# say it in other errors' messages.
MEMORY_ERRORS = ("MemoryError", "ResourceExhaustedError")
MEMORY_WORDS = ("bad_alloc", "failed to map segment", "Cannot allocate memory")
# Commands that keep what they did when stopped (fine-tuning's checkpoint): for them a
# stop or a crash is not said to have written nothing.
KEEPS_PROGRESS = ("finetune",)


def is_worker() -> bool:
    return os.environ.get(WORKER_ENV) == "1"


def mark_reported() -> None:
    """In the child: record that it reported its own failure on stderr."""
    Path(tempfile.gettempdir(), REPORTED_FILE).touch()


def is_memory_error(error: BaseException) -> bool:
    """Whether ``error`` says memory ran out (Python's, NumPy's or TensorFlow's way)."""
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & set(MEMORY_ERRORS)) or any(word in str(error) for word in MEMORY_WORDS)


def nothing_written(command: str, writes_output: bool) -> str:
    """``"; nothing was written"`` when a stopped or failed ``command`` left nothing: it
    writes an output whole or not at all and keeps no progress (``KEEPS_PROGRESS``)."""
    return "; nothing was written" if writes_output and command not in KEEPS_PROGRESS else ""


def stopped_line(command: str, signum: int, writes_output: bool) -> str:
    """What the CLI says when SIGINT or SIGTERM stopped ``command``."""
    what = "terminated" if signum == signal.SIGTERM else "interrupted"
    return f"litecomplete {command}: {what}{nothing_written(command, writes_output)}"


def _die_with_parent() -> None:
    """In the child (Linux): receive SIGTERM if the parent dies, instead of running on."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _leftovers(out: Path | None, since: float) -> list[Path]:
    """``.part`` files and directories beside ``out`` that atomic writers started after
    ``since`` (``atomic_output``, ``atomic_directory``)."""
    if out is None or not out.parent.is_dir():
        return []
    found = []
    for path in out.parent.glob(f".{out.name}.*.part"):
        try:
            if path.stat().st_mtime >= since - 1:
                found.append(path)
        except FileNotFoundError:
            continue
    return found


def run_supervised(command: str, argv: Sequence[str], out: Path | None) -> int:
    """Run ``litecomplete <argv>`` as a child process; its exit code, or 128 + signal.

    SIGINT and SIGTERM sent to this process are passed on to the child, which stops
    and cleans up as it would alone. If the child dies of a signal it did not get
    from here (a crash, the out-of-memory killer), this reports it in one line.
    Afterwards the child's temporary directory is removed (but for the log of a
    failed conversion) and so is any ``.part`` file it left beside ``out``.
    """
    scratch = Path(tempfile.mkdtemp(prefix=f"litecomplete-{command}-"))
    env = {**os.environ, WORKER_ENV: "1", "TMPDIR": str(scratch)}
    started = time.time()
    forwarded: list[int] = []
    proc = subprocess.Popen(
        [sys.executable, "-m", "litecomplete", *argv],
        env=env,
        start_new_session=True,  # a terminal's Ctrl-C reaches the child once, from here
        preexec_fn=_die_with_parent,
    )

    def forward(signum: int, _: FrameType | None) -> None:
        forwarded.append(signum)
        proc.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = proc.wait()
    finally:
        for sent, handler in previous.items():
            signal.signal(sent, handler)
    reported = (scratch / REPORTED_FILE).exists()
    # A user error the child reported (exit code 2) may name the converter's log,
    # which stays; everything else goes.
    kept = list(scratch.glob(KEEP_GLOB)) if code == 2 and reported else []
    for path in [*_leftovers(out, started), *scratch.iterdir()]:
        if path not in kept:
            _remove(path)
    if not kept:
        scratch.rmdir()
    written = nothing_written(command, out is not None)
    if code > 0 and not reported:  # ended by native code, without a word
        print(
            f"litecomplete {command}: error: the {command} process ended with exit code "
            f"{code} and no message (most often for lack of memory){written}",
            file=sys.stderr,
        )
    if code >= 0:
        return code
    signum = -code
    if signum in forwarded:  # it died before it could report the signal itself
        print(stopped_line(command, signum, out is not None), file=sys.stderr)
    else:
        name = signal.Signals(signum).name
        cause = (
            "most likely the system's out-of-memory killer"
            if signum == signal.SIGKILL
            else "a crash in native code, most often for lack of memory"
        )
        print(
            f"litecomplete {command}: error: the {command} process died of {name} "
            f"({cause}){written}",
            file=sys.stderr,
        )
    return 128 + signum


def json_from_child(
    argv: Sequence[str], what: str, error: type[LitecompleteError], stdin: str | None = None
) -> Any:
    """Run ``python <argv>`` fed ``stdin``; the JSON it prints. ``error`` (naming
    ``what`` and the child's last line on stderr) if it fails."""
    proc = subprocess.run([sys.executable, *argv], input=stdin, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise error(f"{what} failed (exit {proc.returncode}): {tail}")
    return json.loads(proc.stdout)
