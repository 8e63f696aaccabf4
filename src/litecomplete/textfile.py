"""A user's text file read whole, as UTF-8, with the one-line errors every command gives."""

from __future__ import annotations

from pathlib import Path

from litecomplete.errors import ConfigError


def read_utf8(path: str | Path, flag: str, error: type[Exception] = ConfigError) -> str:
    """The text of ``path`` (given as ``flag``); ``error`` names a missing, unreadable or
    non-UTF-8 file, and the first byte that is not UTF-8."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise error(f"{flag} {path}: no such file") from None
    except OSError as e:
        raise error(f"cannot read {flag} {path}: {e.strerror or e}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(
            f"{flag} {path} is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
            "convert it first, e.g. iconv -t UTF-8"
        ) from None
