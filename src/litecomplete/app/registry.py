"""The models a server may use: the files of one directory, checked like ``inspect`` does.

Requests name a model by its id (the file name without ``.tflite``), never by a path;
an id that is not a file of the directory is unknown, whatever it contains.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

from litecomplete.contract import ModelFormat
from litecomplete.errors import LitecompleteError, ModelFileError, ModelNotFoundError
from litecomplete.inspect.contracts import check_contract
from litecomplete.inspect.model_info import read_model_info
from litecomplete.runtime.app_model import AppModel
from litecomplete.runtime.fast_model import FastModel

DEFAULT_MODEL_ID = "default"
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class ModelEntry:
    id: str
    path: Path
    format: ModelFormat | None  # None: the file fits no contract (see ``problem``)
    size_bytes: int
    max_length: int | None  # fast format: KV-cache positions
    problem: str | None = None  # why the file cannot be used


_checked: dict[tuple[str, Path, int, int], ModelEntry] = {}
_checked_guard = threading.Lock()


def _entry(model_id: str, path: Path) -> ModelEntry:
    """``path`` checked once per version of the file (its size and modification time)."""
    stat = path.stat()
    key = (model_id, path, stat.st_size, stat.st_mtime_ns)
    with _checked_guard:
        found = _checked.get(key)
    if found is None:
        found = _check(model_id, path)
        with _checked_guard:
            for old in [k for k in _checked if k[:2] == key[:2]]:  # earlier versions
                del _checked[old]
            _checked[key] = found
    return found


def _check(model_id: str, path: Path) -> ModelEntry:
    try:
        info = read_model_info(path, ops=False)
        fmt = check_contract(info)
    except LitecompleteError as e:
        return ModelEntry(model_id, path, None, path.stat().st_size, None, str(e))
    if fmt is None:
        return ModelEntry(
            model_id, path, None, info.size_bytes, None, "fits neither the app nor the fast format"
        )
    max_length = info.manifest.get("max_length") if fmt is ModelFormat.FAST else None
    return ModelEntry(model_id, path, fmt, info.size_bytes, max_length)


class ModelRegistry:
    """Model files by id, loaded on first use and kept; one lock per loaded model.

    The interpreters are not thread-safe, so a model serves one request at a time
    (``lock(id)``); requests for the same model queue.
    """

    def __init__(
        self,
        models_dir: Path | None,
        default_path: Path | None = None,
        num_threads: int = 2,
    ) -> None:
        self.models_dir = models_dir
        self.default_path = default_path
        self.num_threads = num_threads
        self._loaded: dict[str, AppModel | FastModel] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def entries(self) -> list[ModelEntry]:
        """Every model file, usable or not, the default first."""
        found = []
        if self.default_path is not None and self.default_path.is_file():
            found.append(_entry(DEFAULT_MODEL_ID, self.default_path))
        if self.models_dir is not None and self.models_dir.is_dir():
            for path in sorted(self.models_dir.glob("*.tflite")):
                if path.is_file() and _ID.fullmatch(path.stem) and path.stem != DEFAULT_MODEL_ID:
                    found.append(_entry(path.stem, path))
        return found

    def usable(self) -> list[ModelEntry]:
        return [e for e in self.entries() if e.format is not None]

    def entry(self, model_id: str) -> ModelEntry:
        """The usable model ``model_id``; ModelNotFoundError (naming it) if there is none."""
        if model_id == DEFAULT_MODEL_ID and self.default_path is not None:
            if self.default_path.is_file():
                entry = _entry(model_id, self.default_path)
                if entry.format is not None:
                    return entry
            raise ModelNotFoundError(f"the default model is not available ({self.default_path})")
        if not _ID.fullmatch(model_id) or self.models_dir is None:
            raise ModelNotFoundError(f"unknown model {model_id!r}")
        path = self.models_dir / f"{model_id}.tflite"
        if not path.is_file():
            raise ModelNotFoundError(f"unknown model {model_id!r}")
        entry = _entry(model_id, path)
        if entry.format is None:
            raise ModelNotFoundError(f"model {model_id!r} cannot be used: {entry.problem}")
        return entry

    def lock(self, model_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(model_id, threading.Lock())

    def load(self, model_id: str) -> AppModel | FastModel:
        """The loaded model ``model_id`` (call with ``lock(model_id)`` held)."""
        model = self._loaded.get(model_id)
        if model is not None:
            return model
        entry = self.entry(model_id)
        if entry.format is ModelFormat.APP:
            model = AppModel.load(entry.path, num_threads=self.num_threads)
        elif entry.format is ModelFormat.FAST:
            model = FastModel.load(entry.path, self.num_threads)
        else:
            raise ModelFileError(f"{entry.path} fits no known contract")
        self._loaded[model_id] = model
        return model

    def preload(self, model_id: str) -> None:
        """Load ``model_id`` and ready it for a first request that should not wait (a
        keystroke's ghost): a fast-format model builds the spelling index healing uses
        and runs a short prompt once (its prefill and a decode step; the first call of
        a graph costs more than later ones), its caches then left empty."""
        with self.lock(model_id):
            model = self.load(model_id)
            if isinstance(model, FastModel):
                _ = model.tokens.spelling  # built on first use
                logits = model.feed(model.prompt_ids("Hello", 1))
                model.step(int(logits.argmax()))
                model.reset()
