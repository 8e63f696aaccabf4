"""Closed sets of string choices (formats, quantization modes, samplers, GGUF types)."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from litecomplete.errors import ConfigError


class Choice(StrEnum):
    """A ``str`` enum whose ``parse`` rejects unknown values with the list of valid ones.

    Subclasses name what they choose in ``__choice__`` (used in the error message).
    """

    __choice__ = "value"

    @property
    def spelled(self) -> str:
        """How the value is written where it is asked for (a subclass may add to it)."""
        return str(self.value)

    @classmethod
    def parse(cls, value: str) -> Self:
        try:
            return cls(value.strip().lower().replace("-", "_"))
        except ValueError:
            valid = ", ".join(m.spelled for m in cls)
            raise ConfigError(
                f"unknown {cls.__choice__} {value!r}; choose one of: {valid}"
            ) from None
