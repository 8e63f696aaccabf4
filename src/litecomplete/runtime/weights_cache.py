"""XNNPACK's packed weights kept in a file, one per model, in the data directory.

XNNPACK repacks every weight into the layout its kernels read. Given a file, it packs
once: the next load maps that file and leaves the model's own weights untouched, and
processes running the same model share its pages. Mapped from a file, the packed
weights also run faster here than from XNNPACK's in-memory cache (DEVELOPERS.md).

A cache is trusted only when it matches: its name carries the identity of the model
file (path, size, CRC-32 of the content), of the runtime and of the CPU, and the CRC-32
of the cache itself, checked on every load. A damaged cache is deleted and built again;
a model that changed gets a new cache and its old one goes. Files are complete or
absent: XNNPACK builds under a temporary name, renamed when the packing is done.
"""

from __future__ import annotations

import hashlib
import os
import platform
import secrets
import time
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from litecomplete.paths import data_dir

SUFFIX = ".xnnpack_cache"
PARTIAL_SUFFIX = ".part"
# The newest caches kept; older ones (models not run for a while) are deleted.
MAX_CACHES = 16
# A partial file this old belongs to no build still running.
STALE_PARTIAL_SECONDS = 24 * 3600
_CHUNK = 1 << 20


def default_directory() -> Path:
    return data_dir() / "weights-cache"


@dataclass(frozen=True)
class CacheSlot:
    """Where XNNPACK reads or writes one model's packed weights."""

    path: Path  # the file XNNPACK is given
    key: str  # model, runtime and CPU identity: the name's prefix
    built: bool  # False: ``path`` is a checked cache; True: XNNPACK writes it now

    def commit(self) -> Path | None:
        """Give a newly built cache its final name (with its CRC-32) and drop older
        ones; None if XNNPACK wrote no file (it then packed in memory)."""
        if not self.built:
            return self.path
        try:
            final = self.path.parent / f"{self.key}-{file_crc32(self.path):08x}{SUFFIX}"
            os.replace(self.path, final)
        except OSError:
            self.discard()
            return None
        _prune(self.path.parent, keep=final)
        return final

    def discard(self) -> None:
        if self.built:
            self.path.unlink(missing_ok=True)


def open_slot(model: Path, directory: Path | None = None) -> CacheSlot | None:
    """A checked cache of ``model``'s packed weights, or a new path to build one.

    None when the directory cannot be written: the weights are then packed in memory.
    """
    directory = directory or default_directory()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(directory, os.W_OK | os.X_OK):
        return None
    key = cache_key(model)
    for candidate in sorted(directory.glob(f"{key}-*{SUFFIX}")):
        if _intact(candidate):
            os.utime(candidate)  # recently used: pruned last
            return CacheSlot(candidate, key, built=False)
        candidate.unlink(missing_ok=True)  # damaged: never handed to XNNPACK
    partial = directory / f".{key}.{os.getpid()}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}"
    return CacheSlot(partial, key, built=True)


def cache_key(model: Path) -> str:
    """The model file (where it is, its size and content), the runtime and the CPU."""
    where = str(model.resolve())
    identity = "\n".join(
        [
            where,
            str(model.stat().st_size),
            f"{file_crc32(model):08x}",
            _runtime_version(),
            _cpu_features(),
        ]
    )
    place = hashlib.sha256(where.encode()).hexdigest()[:12]
    return f"{place}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"


def file_crc32(path: Path) -> int:
    crc = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


def _intact(path: Path) -> bool:
    """The file's CRC-32 is the one its name records."""
    recorded = path.name.removesuffix(SUFFIX).rsplit("-", 1)[-1]
    try:
        return f"{file_crc32(path):08x}" == recorded
    except OSError:
        return False


def _prune(directory: Path, keep: Path) -> None:
    """Drop the other caches of the same model file, abandoned partial files, and
    the least recently used caches beyond ``MAX_CACHES``."""
    place = keep.name.split("-", 1)[0]
    for path in directory.glob(f"{place}-*{SUFFIX}"):
        if path != keep:
            path.unlink(missing_ok=True)
    now = time.time()
    for path in directory.glob(f".*{PARTIAL_SUFFIX}"):
        if now - _mtime(path) > STALE_PARTIAL_SECONDS:
            path.unlink(missing_ok=True)
    used = {p: _mtime(p) for p in directory.glob(f"*{SUFFIX}")}
    newest_first = sorted(used, key=lambda p: used[p], reverse=True)
    for path in newest_first[MAX_CACHES:]:
        if path != keep:
            path.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # deleted meanwhile by another process
        return 0.0


@cache
def _runtime_version() -> str:
    import ai_edge_litert

    return "ai-edge-litert " + str(getattr(ai_edge_litert, "__version__", "unknown"))


@cache
def _cpu_features() -> str:
    """The CPU's instruction-set flags: packed layouts follow the kernels they pick."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine() + " " + platform.processor()
