"""Shared fixtures: one tiny GPT-2 and its app-format conversions, built once per session."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from hypothesis import settings  # noqa: E402

# Property tests draw the same examples on every run, so CI is repeatable;
# HYPOTHESIS_PROFILE=explore draws new ones (how the failures they guard were found).
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

import fcntl  # noqa: E402
from collections.abc import Callable, Iterable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _temporary_files_in_the_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The commands the tests start keep their temporary folders, and the log a refused
    command leaves for its user, in this run's folder rather than the system's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", str(tmp_path_factory.mktemp("tmpdir")))
        yield


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """A folder ``build`` fills once for the whole run.

    The fast tier's two processes (pytest-xdist) share the parent of their temporary
    folders: the first to ask builds there under a lock, the other waits for it and then
    reads the same files, so a shared fixture's conversions are not done twice. One
    process alone builds into a folder of its own.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    root = tmp_path_factory.getbasetemp().parent
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        built = folder / ".built"
        if not built.exists():  # a build that failed left no mark: this one starts over
            folder.mkdir(exist_ok=True)
            build(folder)
            built.touch()
    return folder


def converted_once(
    tmp_path_factory: pytest.TempPathFactory,
    stem: str,
    modes: Iterable[Any],
    convert: Callable[[Any, Path], None],
) -> dict[str, Path]:
    """``{mode.value: STEM-MODE.tflite}``, each file written by ``convert(mode, path)`` once
    for the run (``built_once``)."""
    names = {mode: f"{stem}-{mode.value}.tflite" for mode in modes}

    def build(folder: Path) -> None:
        for mode, name in names.items():
            convert(mode, folder / name)

    folder = built_once(tmp_path_factory, stem, build)
    return {mode.value: folder / name for mode, name in names.items()}


def keras_logits(causal_lm: Any, ids: list[int]) -> Any:
    """float32[len(ids), vocab]: a KerasHub causal LM's logits at every position of ``ids``."""
    import numpy as np

    x = {"token_ids": np.array([ids]), "padding_mask": np.ones((1, len(ids)), bool)}
    return np.asarray(causal_lm(x))[0]


# Short generations keep the fast tier fast; parity needs nothing longer.
TINY_MAX_LENGTH = 32
# Prompt tokens kept (start token included): every parity prompt fits, so the graph's
# newest-first trimming never applies to them and KerasHub's generate() is comparable.
TINY_CONTEXT_LENGTH = 24


@pytest.fixture(scope="session")
def tiny_lm() -> Any:
    from litecomplete.models import load_causal_lm

    return load_causal_lm("tiny", seed=0)


@pytest.fixture(scope="session")
def app_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("app_models")


def _convert(tiny_lm: Any, out: Path, **config: Any) -> Path:
    from litecomplete.convert import AppExportConfig
    from litecomplete.convert.app_export import convert_app_model

    convert_app_model(tiny_lm, AppExportConfig(max_length=TINY_MAX_LENGTH, **config), out)
    return out


@pytest.fixture(scope="session")
def app_models(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Greedy app-format models of ``tiny`` in every quantization mode the app format takes."""
    from litecomplete.convert import Sampler
    from litecomplete.quantize.modes import APP_QUANT_MODES

    def convert(mode: Any, path: Path) -> None:
        _convert(
            request.getfixturevalue("tiny_lm"),
            path,
            sampler=Sampler.GREEDY,
            context_length=TINY_CONTEXT_LENGTH,
            quant=mode,
            calibration_samples=4,
        )

    return converted_once(tmp_path_factory, "tiny", APP_QUANT_MODES, convert)


@pytest.fixture(scope="session")
def convert_tiny(tiny_lm: Any, app_model_dir: Path) -> Any:
    """Convert ``tiny`` with extra AppExportConfig fields: ``convert_tiny(name, **config)``."""

    def convert(name: str, **config: Any) -> Path:
        return _convert(tiny_lm, app_model_dir / f"{name}.tflite", **config)

    return convert


# The fast format on tiny: small buckets so short prompts cross bucket boundaries.
FAST_MAX_LENGTH = 64
FAST_BUCKETS = (4, 16)


@pytest.fixture(scope="session")
def fast_models(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Fast-format models of ``tiny`` in every quantization mode."""
    from litecomplete.convert.fast_config import FastExportConfig
    from litecomplete.convert.fast_export import convert_fast_model
    from litecomplete.quantize import QuantMode

    def convert(mode: QuantMode, path: Path) -> None:
        config = FastExportConfig(
            max_length=FAST_MAX_LENGTH, buckets=FAST_BUCKETS, quant=mode, calibration_samples=4
        )
        convert_fast_model(request.getfixturevalue("tiny_lm"), config, path)

    return converted_once(tmp_path_factory, "tiny-fast", QuantMode, convert)


# A tiny Llama (SmolLM2's tokenizer, random weights): 2 layers, width 64, 4 heads
# sharing 2 KV heads, tied embeddings. Written as GGUF, so every path starts where a
# user's does.
TINY_LLAMA_MAX_LENGTH = 32


def random_llama_weights(seed: int = 0) -> Any:
    """``DecoderWeights`` of the tiny Llama (its family's fake config); normal(0, 0.5)
    kernels give peaked logits."""
    from litecomplete.models import llama
    from litecomplete.models.fake import random_decoder_weights

    return random_decoder_weights(llama.fake_spec(), seed)


@pytest.fixture(scope="session")
def tiny_llama_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Llama as an F32 GGUF file, with SmolLM2's tokenizer metadata."""
    from litecomplete.models.embedded import smollm2_gguf_path
    from litecomplete.models.gguf.export import write_gguf
    from litecomplete.models.gguf.reader import read_gguf
    from litecomplete.models.llama.gguf_import import gguf_tokenizer

    tokenizer = gguf_tokenizer(read_gguf(smollm2_gguf_path()))
    path = tmp_path_factory.mktemp("tiny_llama") / "tiny-llama.gguf"
    write_gguf(random_llama_weights(), tokenizer, path)
    return path


@pytest.fixture(scope="session")
def tiny_llama(tiny_llama_gguf: Path) -> Any:
    """The tiny Llama imported into KerasHub (``Llama3CausalLM``)."""
    from litecomplete.models import load_causal_lm

    return load_causal_lm(str(tiny_llama_gguf), sequence_length=64)


def greedy_app_models(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    causal_lm_fixture: str,
    stem: str,
    max_length: int,
) -> dict[str, Path]:
    """Greedy app-format files of the causal LM that ``causal_lm_fixture`` gives, in every
    mode the app format takes, each keeping the newest ``max_length // 2`` prompt tokens."""
    from litecomplete.convert import AppExportConfig, Sampler
    from litecomplete.convert.app_export import convert_app_model
    from litecomplete.quantize.modes import APP_QUANT_MODES

    def convert(mode: Any, path: Path) -> None:
        config = AppExportConfig(
            max_length=max_length,
            context_length=max_length // 2,
            sampler=Sampler.GREEDY,
            quant=mode,
            calibration_samples=2,
        )
        convert_app_model(request.getfixturevalue(causal_lm_fixture), config, path)

    return converted_once(tmp_path_factory, stem, APP_QUANT_MODES, convert)


@pytest.fixture(scope="session")
def llama_app_models(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Greedy app-format models of the tiny Llama in every mode the app format takes."""
    return greedy_app_models(
        request, tmp_path_factory, "tiny_llama", "tiny-llama", TINY_LLAMA_MAX_LENGTH
    )


@pytest.fixture(scope="session")
def tiny_llama_fast_none(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The tiny Llama's GGUF converted straight to the fast format, float32."""
    name = "tiny-llama-fast-none.tflite"

    def build(folder: Path) -> None:
        from litecomplete.convert.fast_config import FastExportConfig
        from litecomplete.convert.fast_export import convert_fast_model, gguf_fast_source

        config = FastExportConfig(max_length=64, buckets=(4, 16))
        source = gguf_fast_source(request.getfixturevalue("tiny_llama_gguf"))
        convert_fast_model(source, config, folder / name)

    return built_once(tmp_path_factory, "tiny_llama_fast", build) / name


# A tiny Gemma 3 (``tests.gemma3_fixtures``: a 512-piece SentencePiece vocabulary trained
# on the bundled text, random weights) written as a Gemma 3 GGUF. Its app graph keeps
# the newest 16 prompt tokens of 32.
TINY_GEMMA3_MAX_LENGTH = 32


@pytest.fixture(scope="session")
def tiny_gemma3_gguf(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """The tiny Gemma 3's GGUF path and the ``DecoderWeights`` written to it."""
    from tests.gemma3_fixtures import write_tiny_gemma3_gguf

    path = tmp_path_factory.mktemp("tiny_gemma3") / "tiny-gemma3.gguf"
    return path, write_tiny_gemma3_gguf(path)


@pytest.fixture(scope="session")
def tiny_gemma3(tiny_gemma3_gguf: tuple[Path, Any]) -> Any:
    """The tiny Gemma 3 imported into KerasHub (``Gemma3CausalLM``)."""
    from litecomplete.models import load_causal_lm

    return load_causal_lm(str(tiny_gemma3_gguf[0]), sequence_length=64)


@pytest.fixture(scope="session")
def gemma3_app_models(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Greedy app-format models of the tiny Gemma 3 in every mode the app format takes."""
    return greedy_app_models(
        request, tmp_path_factory, "tiny_gemma3", "tiny-gemma3", TINY_GEMMA3_MAX_LENGTH
    )
