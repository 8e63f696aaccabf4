"""Whether Ctrl-C (SIGINT) or SIGTERM arrived during this command.

Native code (TensorFlow's tracer, for one) can swallow the KeyboardInterrupt that
the signal raised and fail with an unrelated error instead; the CLI records the signal
here so that such a failure is still treated as an interruption everywhere.
"""

from __future__ import annotations

_seen = False


def mark() -> None:
    """Record that SIGINT or SIGTERM arrived (called from the CLI's signal handler)."""
    global _seen
    _seen = True


def seen() -> bool:
    return _seen
