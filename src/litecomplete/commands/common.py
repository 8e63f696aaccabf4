"""Output helpers shared by the commands."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def emit_json(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, indent=2, sort_keys=True, default=str))


def option_from(
    p: argparse.ArgumentParser,
    flag: str,
    source: str | dict[str, str],
    help: str,
    **kwargs: Any,
) -> argparse.Action:
    """An option whose default is not written here: ``source`` names where it lives
    (``"module:Class.field"`` of a dataclass, or ``"module:CONSTANT"``; a dict of them
    by label where it depends, e.g. on the format). The parsed value is None unless
    given (``given`` leaves it out, so the dataclass fills it in); ``--help`` shows
    the default, read from ``source`` only then."""
    action = p.add_argument(flag, default=None, help=help, **kwargs)
    action.default_source = source  # type: ignore[attr-defined]
    return action


def source_default(source: str) -> Any:
    """The value ``source`` (``"module:Class.field"`` or ``"module:NAME"``) names."""
    module_name, _, name = source.partition(":")
    owner: Any = importlib.import_module(module_name)
    *path, attribute = name.split(".")
    for part in path:
        owner = getattr(owner, part)
    if dataclasses.is_dataclass(owner):
        field = {f.name: f for f in dataclasses.fields(owner)}[attribute]
        if field.default_factory is not dataclasses.MISSING:
            return field.default_factory()
        return field.default
    return getattr(owner, attribute)


def threads(args: argparse.Namespace) -> int:
    """``--threads``, or the fast runtime's default."""
    from litecomplete.runtime.fast_model import DEFAULT_THREADS

    return int(args.threads) if args.threads is not None else DEFAULT_THREADS


def given(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """``{name: value}`` of the options the user gave (the rest keep their defaults)."""
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Adds ``(default …)`` to the help of ``option_from`` options."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = super()._get_help_string(action)
        source = getattr(action, "default_source", None)
        if source is None or text is None:
            return text
        if isinstance(source, dict):
            each = "; ".join(f"{label} {_shown(source_default(s))}" for label, s in source.items())
            return f"{text} (default: {each})"
        return f"{text} (default {_shown(source_default(source))})"


def _shown(value: Any) -> str:
    """A default as a user would type it: lengths comma-separated, ``none`` for empty."""
    if isinstance(value, tuple | list):
        return ",".join(map(str, value)) or "none"
    return str(value)


def comma_list(
    flag: str, text: str, kind: Callable[[str], T], what: str, or_none: bool = False
) -> tuple[T, ...]:
    """``text`` as comma-separated ``what`` (each read by ``kind``), or () for "none"
    where ``or_none``; ConfigError naming ``flag`` otherwise."""
    from litecomplete.errors import ConfigError

    if or_none and text.strip().lower() == "none":
        return ()
    try:
        return tuple(kind(t) for t in text.split(","))
    except ValueError:
        alternatives = " or none" if or_none else ""
        raise ConfigError(
            f"{flag} must be comma-separated {what}{alternatives}, got {text!r}"
        ) from None
