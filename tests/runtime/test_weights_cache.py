"""XNNPACK's packed weights in a cache file: reused when it matches, rebuilt when not."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from litecomplete.runtime import weights_cache
from litecomplete.runtime.compiled_graph import shares_packed_weights
from litecomplete.runtime.fast_model import FastModel

PROMPT_IDS = [464, 3139, 286, 4881, 318]  # "The capital of France is" in GPT-2's ids


def _logits(model: FastModel) -> np.ndarray:
    model.reset()
    first = model.feed(PROMPT_IDS)
    return np.stack([first, model.step(int(np.argmax(first)))])


def _caches(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{weights_cache.SUFFIX}"))


@pytest.fixture()
def dynamic_copy(fast_models: dict[str, Path], tmp_path: Path) -> Path:
    """The tiny dynamic-int8 model at a path of this test's own."""
    path = tmp_path / "model" / "tiny-dynamic.tflite"
    path.parent.mkdir()
    shutil.copy(fast_models["dynamic"], path)
    return path


def test_the_first_load_packs_into_a_file_the_next_maps(dynamic_copy: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cold = FastModel.load(dynamic_copy, 1, weights_cache_dir=cache_dir)
    assert cold.weights_cache_built
    assert cold.weights_cache is not None and cold.weights_cache.parent == cache_dir
    assert _caches(cache_dir) == [cold.weights_cache]
    assert not list(cache_dir.glob(f".*{weights_cache.PARTIAL_SUFFIX}"))  # renamed, not left
    warm = FastModel.load(dynamic_copy, 1, weights_cache_dir=cache_dir)
    assert not warm.weights_cache_built
    assert warm.weights_cache == cold.weights_cache
    np.testing.assert_array_equal(_logits(warm), _logits(cold))


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "emptied"])
def test_a_damaged_cache_is_rebuilt_not_used(
    dynamic_copy: Path, tmp_path: Path, damage: str
) -> None:
    cache_dir = tmp_path / "cache"
    reference = _logits(FastModel.load(dynamic_copy, 1, weights_cache_dir=tmp_path / "ref"))
    cache = FastModel.load(dynamic_copy, 1, weights_cache_dir=cache_dir).weights_cache
    assert cache is not None
    data = bytearray(cache.read_bytes())
    if damage == "flipped byte":
        data[len(data) // 2] ^= 0xFF  # inside the packed weights, past XNNPACK's header
    elif damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data = bytearray()
    cache.write_bytes(bytes(data))
    model = FastModel.load(dynamic_copy, 1, weights_cache_dir=cache_dir)
    assert model.weights_cache_built
    np.testing.assert_array_equal(_logits(model), reference)
    [rebuilt] = _caches(cache_dir)
    assert weights_cache._intact(rebuilt)


def test_a_changed_model_gets_a_new_cache_and_the_old_goes(
    fast_models: dict[str, Path], dynamic_copy: Path, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    old = FastModel.load(dynamic_copy, 1, weights_cache_dir=cache_dir).weights_cache
    # Another model written over the same path (a re-conversion, say).
    shutil.copy(fast_models["int4"], dynamic_copy)
    model = FastModel.load(dynamic_copy, 1, weights_cache_dir=cache_dir)
    assert model.weights_cache_built
    assert _caches(cache_dir) == [model.weights_cache] != [old]
    expected = _logits(FastModel.load(fast_models["int4"], 1, weights_cache_dir=tmp_path / "ref"))
    np.testing.assert_array_equal(_logits(model), expected)


def test_the_cache_directory_stays_bounded(dynamic_copy: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    stale = cache_dir / f".abandoned.1.deadbeef{weights_cache.PARTIAL_SUFFIX}"
    cache_dir.mkdir()
    stale.write_bytes(b"half a cache")
    an_old_day = time.time() - 2 * weights_cache.STALE_PARTIAL_SECONDS
    os.utime(stale, (an_old_day, an_old_day))
    for i in range(weights_cache.MAX_CACHES + 3):
        copy = tmp_path / f"copy-{i}.tflite"
        shutil.copy(dynamic_copy, copy)
        FastModel.load(copy, 1, weights_cache_dir=cache_dir)
    assert len(_caches(cache_dir)) == weights_cache.MAX_CACHES
    assert not stale.exists()


def test_an_unwritable_cache_place_packs_in_memory(dynamic_copy: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    model = FastModel.load(dynamic_copy, 1, weights_cache_dir=blocked / "cache")
    assert model.weights_cache is None
    reference = FastModel.load(dynamic_copy, 1, weights_cache_dir=tmp_path / "ref")
    np.testing.assert_array_equal(_logits(model), _logits(reference))


def test_int8_packs_once_and_an_older_static_int8_file_per_signature(
    fast_models: dict[str, Path], tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    model = FastModel.load(fast_models["int8"], 1, weights_cache_dir=cache_dir)
    assert model.weights_cache is not None and _caches(cache_dir) == [model.weights_cache]
    manifest = model.manifest
    assert shares_packed_weights(manifest)
    # As int8 files with static activation ranges were: no outlier_channels.
    static = replace(manifest, outlier_channels=None)
    assert not shares_packed_weights(static)
    assert shares_packed_weights(replace(static, quantization="dynamic"))
