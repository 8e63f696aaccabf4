"""Output helpers shared by the commands."""

from __future__ import annotations

import json
from typing import Any


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def emit_json(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, indent=2, sort_keys=True, default=str))
