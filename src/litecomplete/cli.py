"""Command line: a thin shell over the library. ``litecomplete --help`` lists the commands."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from litecomplete import interrupts
from litecomplete.commands import COMMANDS
from litecomplete.commands.common import HelpFormatter
from litecomplete.errors import LitecompleteError
from litecomplete.native_output import quiet_native_teardown
from litecomplete.supervise import (
    is_memory_error,
    is_worker,
    mark_reported,
    nothing_written,
    run_supervised,
    stopped_line,
)

# Commands that convert or train: run in a child process, which the CLI cleans up after if
# it crashes or is killed (``supervise``).
SUPERVISED = ("convert", "import-gguf", "finetune")
# A full disk, a full quota, a file size limit: the write failed for lack of room.
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="litecomplete",
        description="On-device LLM autocomplete: convert, quantize, inspect, run and benchmark "
        "TFLite language models.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        p = sub.add_parser(
            command.NAME,
            help=command.HELP,
            description=f"{command.HELP}\n\nexample:\n  {command.EXAMPLE}",
            formatter_class=HelpFormatter,
        )
        command.add_arguments(p)
        p.set_defaults(func=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    # Keras warns that KerasHub's CausalLM has no build(); nothing a user can act on.
    warnings.filterwarnings("ignore", category=UserWarning, module="keras")
    args = build_parser().parse_args(argv)
    if args.command in SUPERVISED and not is_worker():
        out = Path(args.out) if getattr(args, "out", None) else None
        return run_supervised(args.command, list(sys.argv[1:] if argv is None else argv), out)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    watch = _InterruptWatch()
    with watch:
        code = _run(args, watch)
    if code and is_worker():
        mark_reported()  # the parent need not say that it failed
    return code


def console_main() -> NoReturn:
    """The ``litecomplete`` command: ``main``, then exit with its status.

    After Ctrl-C or SIGTERM the command has already cleaned up as it unwound; the
    process then ends at once instead of waiting for Python to finalise what
    TensorFlow built (a `serve` stopped while converting the default model took
    minutes to exit after saying it had stopped).
    """
    code = main()
    if interrupts.seen():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    quiet_native_teardown()
    sys.exit(code)


def _run(args: argparse.Namespace, watch: _InterruptWatch) -> int:
    """Run the command; errors as one line on stderr and an exit code."""
    try:
        return int(args.func(args))
    except LitecompleteError as e:
        if watch.seen:
            return _interrupted(args.command, watch.signal)
        print(f"litecomplete {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return _interrupted(args.command, watch.signal)
    except BrokenPipeError:
        # What reads the output went away (`litecomplete complete ... | head -1`): stop
        # quietly, as a pipeline's command killed by SIGPIPE does; Python would flush
        # stdout again at exit, so it now goes nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 128 + signal.SIGPIPE
    except Exception as e:
        # Native code (TensorFlow's tracer, for one) can swallow the KeyboardInterrupt
        # that Ctrl-C raised and fail with an unrelated error instead.
        if watch.seen:
            return _interrupted(args.command, watch.signal)
        written = _nothing_written(args.command)
        if isinstance(e, OSError) and e.errno in DISK_FULL:
            where = f" writing {e.filename}" if e.filename else ""
            print(
                f"litecomplete {args.command}: error: {e.strerror}{where}; free some space "
                f"(the output's folder, or TMPDIR for temporary files){written}",
                file=sys.stderr,
            )
            return 1
        if is_memory_error(e):
            print(
                f"litecomplete {args.command}: error: out of memory ({type(e).__name__}){written}",
                file=sys.stderr,
            )
            return 1
        if not is_worker() or args.verbose:
            if is_worker():
                mark_reported()  # the traceback says it
            raise
        # A conversion failing deep in TensorFlow (often for lack of memory): one line.
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
        print(
            f"litecomplete {args.command}: error: {type(e).__name__}: {first}{written} "
            "(litecomplete -v shows where)",
            file=sys.stderr,
        )
        return 1


class _InterruptWatch:
    """Turns SIGINT and SIGTERM into KeyboardInterrupt while a command runs, and records
    which arrived.

    Python's default SIGTERM ends the process on the spot: no ``finally`` runs, so a
    conversion's temporary files (a ``.part`` beside the output, a SavedModel in TMPDIR)
    would stay behind. As KeyboardInterrupt, SIGTERM unwinds like Ctrl-C and cleans up.
    """

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def seen(self) -> bool:
        return self.signal is not None

    def _handle(self, signum: int, frame: object) -> None:
        self.signal = signum
        interrupts.mark()
        raise KeyboardInterrupt

    def __enter__(self) -> _InterruptWatch:
        # Only where signals can be set, and only Python's own default handlers.
        if threading.current_thread() is not threading.main_thread():
            return self
        defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
        for signum, default in defaults.items():
            if signal.getsignal(signum) is default:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *_: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)  # type: ignore[arg-type]


def _interrupted(command: str, signum: int | None = signal.SIGINT) -> int:
    signum = int(signum or signal.SIGINT)
    print(stopped_line(command, signum, command in SUPERVISED), file=sys.stderr)
    return 128 + signum


def _nothing_written(command: str) -> str:
    return nothing_written(command, command in SUPERVISED)


if __name__ == "__main__":
    sys.exit(main())
