"""Packaged GGUF models (``--model gemma3``): joined from their parts atomically and
checked, installed only when asked for, the licence shown before first use."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from litecomplete.errors import GgufFileError
from litecomplete.models.packaged import (
    GEMMA3_270M,
    PackagedModel,
    assemble,
    packaged_gguf_path,
)


def _chunks(folder: Path, parts: list[bytes]) -> list[Path]:
    paths = []
    for i, data in enumerate(parts):
        path = folder / f"part{i}"
        path.write_bytes(data)
        paths.append(path)
    return paths


def test_assemble_joins_the_parts_and_checks_the_whole(tmp_path: Path) -> None:
    parts = [b"GGUF" + bytes(range(256)) * 9, b"tail" * 1000]
    target = tmp_path / "out" / "model.gguf"
    digest = hashlib.sha256(b"".join(parts)).hexdigest()
    assert assemble(_chunks(tmp_path, parts), target, digest) == target
    assert target.read_bytes() == b"".join(parts)


def test_a_damaged_part_leaves_nothing_behind(tmp_path: Path) -> None:
    parts = [b"GGUF" + b"x" * 5000, b"y" * 3000]
    digest = hashlib.sha256(b"".join(parts)).hexdigest()
    chunks = _chunks(tmp_path, [parts[0], parts[1][:-10]])  # a partial download
    target = tmp_path / "model.gguf"
    with pytest.raises(GgufFileError, match=r"model\.gguf: the parts join to SHA-256 .* expected"):
        assemble(chunks, target, digest)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".model")] == []


def test_a_missing_part_is_named_with_the_command_that_installs_it() -> None:
    model = dataclasses.replace(GEMMA3_270M, parts=("no-such-litecomplete-part1",))
    with pytest.raises(GgufFileError, match="no-such-litecomplete-part1 .* is not installed"):
        model.chunk_paths()


def _stand_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, package: str
) -> tuple[PackagedModel, bytes]:
    """A model like Gemma 3's whose parts are chunks on disk, in a fresh data folder."""
    monkeypatch.setenv("LITECOMPLETE_HOME", str(tmp_path / "home"))
    data = [b"GGUF" + b"a" * 100, b"b" * 50]
    chunks = _chunks(tmp_path, data)
    model = dataclasses.replace(
        GEMMA3_270M,
        package=package,
        parts=(package,),
        sha256=hashlib.sha256(b"".join(data)).hexdigest(),
    )
    monkeypatch.setattr(PackagedModel, "chunk_paths", lambda self: chunks)
    return model, b"".join(data)


def test_first_use_installs_the_pinned_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, data = _stand_in(tmp_path, monkeypatch, "no-such-litecomplete-package")
    installed: list[list[str]] = []
    said: list[str] = []
    path = packaged_gguf_path(model, install=installed.append, notify=said.append)
    assert path.read_bytes() == data
    assert installed == [["no-such-litecomplete-package==1.0.0"] * 2]
    assert "Gemma Terms of Use" in said[0]  # before the install
    assert "installing gemma3 from PyPI" in said[1]


def test_terms_shown_once_and_a_damaged_file_joined_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, data = _stand_in(tmp_path, monkeypatch, "pytest")  # installed: nothing to do

    def refuse(requirements: list[str]) -> None:
        raise AssertionError(f"installed {requirements}")

    said: list[str] = []
    path = packaged_gguf_path(model, install=refuse, notify=said.append)
    assert path.read_bytes() == data and len(said) == 1 and "Terms" in said[0]
    said.clear()
    assert packaged_gguf_path(model, install=refuse, notify=said.append) == path
    assert said == []
    path.write_bytes(b"GGUF damaged")
    assert packaged_gguf_path(model, install=refuse, notify=said.append).read_bytes() == data
    assert said == [f"{path} does not have the expected SHA-256; joining its parts again"]
