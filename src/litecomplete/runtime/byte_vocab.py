"""Characters a byte-level BPE vocabulary cannot spell.

Byte-level BPE (GPT-2, SmolLM2) writes every byte as one of 256 printable
characters, and most vocabularies hold all 256. Some do not: SmolLM2's lacks a
few control characters (U+0004, U+0006, ...) and the lead bytes 0xF1 and 0xF2
of the unassigned planes U+40000-U+BFFFF. The tokenizer silently drops such a
byte, which leaves the rest of its character behind as stray continuation
bytes. ``unspellable_characters`` finds those characters so that a runtime can
drop them whole instead.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any


@cache
def byte_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table (``bytes_to_unicode``)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def _lead_range(lead: int) -> tuple[int, int] | None:
    """Code points whose UTF-8 form starts with byte ``lead`` (None: no valid ones)."""
    if lead < 0x80:
        return lead, lead
    if 0xC2 <= lead <= 0xDF:
        low = (lead & 0x1F) << 6
        return low, low + 0x3F
    if 0xE0 <= lead <= 0xEF:
        low = max((lead & 0x0F) << 12, 0x800)
        return low, ((lead & 0x0F) << 12) + 0xFFF
    if 0xF0 <= lead <= 0xF4:
        low = max((lead & 0x07) << 18, 0x10000)
        return low, min(((lead & 0x07) << 18) + 0x3FFFF, 0x10FFFF)
    return None  # continuation bytes and bytes no UTF-8 text holds


def unspellable_characters(tokenizer: Any) -> re.Pattern[str] | None:
    """A pattern matching the characters ``tokenizer`` cannot spell; None if it spells all.

    ``tokenizer`` is a ``tokenizers.Tokenizer``; only byte-level vocabularies are
    checked (others have their own unknown-token handling). Characters are found by
    their missing first byte; a vocabulary missing a continuation byte (0x80-0xBF),
    which none seen so far does, is not covered.
    """
    if type(tokenizer.decoder).__name__ != "ByteLevel":
        return None
    # 256 lookups, not the whole vocabulary as a dict (49k strings for SmolLM2).
    missing = [b for b, char in byte_to_unicode().items() if tokenizer.token_to_id(char) is None]
    ranges = sorted(r for b in missing if (r := _lead_range(b)) is not None)
    if not ranges:
        return None
    parts = [
        re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
        for low, high in ranges
    ]
    return re.compile("[" + "".join(parts) + "]")
