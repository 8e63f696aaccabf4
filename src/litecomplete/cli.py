"""Command line: a thin shell over the library. ``litecomplete --help`` lists the commands."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Sequence

from litecomplete import interrupts
from litecomplete.commands import COMMANDS
from litecomplete.errors import LitecompleteError


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
            formatter_class=argparse.RawDescriptionHelpFormatter,
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
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    watch = _InterruptWatch()
    with watch:
        try:
            return int(args.func(args))
        except LitecompleteError as e:
            if watch.seen:
                return _interrupted(args.command)
            print(f"litecomplete {args.command}: error: {e}", file=sys.stderr)
            return e.exit_code
        except KeyboardInterrupt:
            return _interrupted(args.command)
        except Exception:
            # Native code (TensorFlow's tracer, for one) can swallow the KeyboardInterrupt
            # that Ctrl-C raised and fail with an unrelated error instead.
            if watch.seen:
                return _interrupted(args.command)
            raise


class _InterruptWatch:
    """Records that SIGINT arrived while a command ran, then raises KeyboardInterrupt as usual."""

    def __init__(self) -> None:
        self.seen = False
        self._previous: object = None

    def _handle(self, signum: int, frame: object) -> None:
        self.seen = True
        interrupts.mark()
        raise KeyboardInterrupt

    def __enter__(self) -> _InterruptWatch:
        # Only replace Python's own handler, and only where signals can be set.
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *_: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]


def _interrupted(command: str) -> int:
    written = "; nothing was written" if command == "convert" else ""
    print(f"litecomplete {command}: interrupted{written}", file=sys.stderr)
    return 130


if __name__ == "__main__":
    sys.exit(main())
