"""The fast format's signatures on ai-edge-litert's ``CompiledModel``, caches bound in place.

One set of cache buffers serves every signature as input and as output: a call
writes its new keys and values into them (``litecomplete.contract``), so nothing
is copied between calls, and a prompt that extends the cached one is fed from
where the cache ends. XNNPACK's weights cache packs each weight once for all
signatures (without it every signature packed its own copy), into a file that the
next load maps instead of packing again (``weights_cache``).
"""

from __future__ import annotations

import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np

from litecomplete import contract as c
from litecomplete.errors import ModelFileError, ModelRunError
from litecomplete.native_output import quiet_native_setup
from litecomplete.process_memory import release_file_pages, release_freed_memory
from litecomplete.runtime.call_costs import CallCosts
from litecomplete.runtime.weights_cache import CacheSlot, open_slot

# XNNPACK's weights cache in memory: where no cache file can be written.
IN_MEMORY_WEIGHT_CACHE = ":memory"


def shares_packed_weights(manifest: c.FastManifest) -> bool:
    """Whether one packed copy of the weights can serve every signature.

    Not with static int8 activations (see ``CompiledGraphs``): ``int8`` files written
    before that mode kept outlier channels in float (no ``outlier_channels`` in the
    manifest) had them.
    """
    return manifest.quantization != "int8" or manifest.outlier_channels is not None


class CompiledGraphs:
    """Every signature of one fast-format file, sharing its KV-cache buffers."""

    def __init__(
        self,
        path: Path,
        signatures: list[str],
        num_threads: int,
        share_packed_weights: bool,
        weights_cache_dir: Path | None = None,
    ) -> None:
        """Compile ``path``; ModelFileError naming it if the runtime refuses it.

        ``share_packed_weights`` turns XNNPACK's weights cache on, kept as a file in
        ``weights_cache_dir`` (default: the data directory's ``weights-cache``). A
        model whose matmuls take static int8 activations (an ``int8`` file written
        before that mode kept outlier channels in float) must not share:
        XNNPACK folds the input's zero point into the packed weights, each signature
        has its own calibrated zero point, and a weight packed for one signature
        gives another wrong results (SmolLM2's perplexity ratio went to 39,000).
        """
        from ai_edge_litert.options import Options

        self.label = str(path)
        self.num_threads = num_threads
        _verify(path)
        options = Options.create()
        options.cpu_options.num_threads = num_threads
        slot: CacheSlot | None = None
        if share_packed_weights:
            slot = open_slot(path, weights_cache_dir)
            options.cpu_options.xnnpack_weight_cache_path = (
                str(slot.path) if slot else IN_MEMORY_WEIGHT_CACHE
            )
        try:
            self._compile(path, options, signatures)
        except ModelFileError:
            if slot:
                slot.discard()
            raise
        # XNNPACK has packed every signature's weights by now (the file is complete).
        self.weights_cache: Path | None = slot.commit() if slot else None
        self.weights_cache_built = bool(slot and slot.built)
        if slot and slot.built and self.weights_cache:
            # Packing leaves its scratch mapped until the model goes (26 MB for
            # SmolLM2): compiled again, the model maps the finished file only.
            options.cpu_options.xnnpack_weight_cache_path = str(self.weights_cache)
            self._free()
            self._compile(path, options, signatures)
        self._path = path
        self._release()
        self._prepared: set[str] = set()  # signatures that ran once
        self.costs = CallCosts()  # what each signature's calls took (``call_costs``)

    def __del__(self) -> None:
        with suppress(Exception):  # at interpreter exit, modules may be gone
            self._free()

    def _free(self) -> None:
        """Free LiteRT's model and buffers now, its chatter kept off stderr."""
        with quiet_native_setup():
            for name in ("_outputs", "_inputs", "_caches", "_model"):
                self.__dict__.pop(name, None)

    def _compile(self, path: Path, options: Any, signatures: list[str]) -> None:
        """The compiled model and its buffers, the caches bound for every signature."""
        with quiet_native_setup():
            self._compile_quietly(path, options, signatures)

    def _compile_quietly(self, path: Path, options: Any, signatures: list[str]) -> None:
        from ai_edge_litert.compiled_model import CompiledModel

        try:
            self._model = CompiledModel.from_file(str(path), options=options)
            decode = self._model.get_input_tensor_details(c.DECODE_SIGNATURE)
            self._caches = {
                name: self._zeroed(
                    self._model.create_input_buffer_by_name(c.DECODE_SIGNATURE, name), d
                )
                for name, d in decode.items()
                if name not in (c.TOKENS, c.INPUT_POS)
            }
            self._inputs: dict[str, dict[str, Any]] = {}
            self._outputs: dict[str, dict[str, Any]] = {}
            self._lengths: dict[str, int] = {}
            for key in signatures:
                inputs = self._model.get_input_tensor_details(key)
                self._lengths[key] = int(np.prod(inputs[c.TOKENS]["shape"]))
                self._inputs[key] = {
                    name: self._model.create_input_buffer_by_name(key, name)
                    for name in (c.TOKENS, c.INPUT_POS)
                } | self._caches
                self._outputs[key] = dict(self._caches)
                if c.LOGITS in self._model.get_output_tensor_details(key):  # fill: none
                    logits = self._model.create_output_buffer_by_name(key, c.LOGITS)
                    self._outputs[key][c.LOGITS] = logits
            logits = self._model.get_output_tensor_details(c.DECODE_SIGNATURE)[c.LOGITS]
        except (RuntimeError, ValueError, KeyError) as e:
            raise ModelFileError(f"{path} cannot be prepared: {one_line(e)}") from None
        self.vocabulary_size = int(np.prod(logits["shape"]))

    def _release(self) -> None:
        """Hand back what preparing left resident: freed heap, model-file pages read once."""
        release_freed_memory()
        release_file_pages(self._path)

    @staticmethod
    def _zeroed(buffer: Any, details: dict[str, Any]) -> Any:
        # Masked slots add a large negative score: they must hold finite values.
        buffer.write(np.zeros(details["shape"], details["dtype"]))
        return buffer

    def run(self, key: str, tokens: list[int], start: int) -> np.ndarray:
        """Feed ``tokens`` at positions ``start``, ``start + 1``, ... through signature
        ``key`` (padded to its length); logits float32[vocab] after the last one.

        Raises:
            ModelFileError: the signature's first run fails: the runtime prepares a
                graph then, and a damaged one cannot be prepared.
            ModelRunError: a signature that ran before fails.
        """
        return self._invoke(key, tokens, start, self.vocabulary_size)

    def run_rows(self, key: str, tokens: list[int], start: int) -> np.ndarray:
        """Like ``run`` through a signature that returns every row's logits (``verify_<T>``):
        float32[len(tokens), vocab], row i the logits after ``tokens[i]``."""
        count = self._lengths[key] * self.vocabulary_size
        rows = self._invoke(key, tokens, start, count)
        return rows.reshape(-1, self.vocabulary_size)[: len(tokens)]

    def fill(self, key: str, tokens: list[int], start: int) -> None:
        """Like ``run`` through a signature without logits (``fill_<T>``): the caches only."""
        self._invoke(key, tokens, start, 0)

    def _invoke(self, key: str, tokens: list[int], start: int, count: int) -> np.ndarray:
        """Run ``key`` on ``tokens`` from ``start``; the first ``count`` logits floats
        (none for 0)."""
        length = self._lengths[key]
        padded = np.zeros((1, length), np.int32)
        padded[0, : len(tokens)] = tokens
        positions = np.zeros(length, np.int32)  # padding rows hold position 0
        positions[: len(tokens)] = np.arange(start, start + len(tokens))
        inputs = self._inputs[key]
        try:
            inputs[c.TOKENS].write(padded)
            inputs[c.INPUT_POS].write(positions)
            begin = time.perf_counter()
            self._model.run_by_name(key, inputs, self._outputs[key])
            if count:
                logits = self._outputs[key][c.LOGITS].read(count, np.float32)
            else:
                logits = np.zeros(0, np.float32)
            if key in self._prepared:  # a first run prepares the graph: not its cost
                self.costs.record(key, time.perf_counter() - begin)
        except RuntimeError as e:
            if key not in self._prepared:
                raise ModelFileError(
                    f"{self.label}: signature {key!r} cannot be prepared: {one_line(e)}"
                ) from None
            raise ModelRunError(f"{self.label}: signature {key!r} failed: {one_line(e)}") from None
        if key not in self._prepared:
            self._prepared.add(key)
            self._release()  # a first run allocates scratch it frees, and reads the file
        return logits


def _verify(path: Path) -> None:
    """Refuse a damaged flatbuffer before ``CompiledModel`` reads it.

    ``CompiledModel`` trusts the file's offsets (a flipped byte crashed the process);
    the ``Interpreter`` runs FlatBuffers' verifier and resolves every op first. Built
    without allocating tensors, it packs no weights.
    """
    from ai_edge_litert.interpreter import Interpreter

    try:
        Interpreter(model_path=str(path))
    except (RuntimeError, ValueError) as e:
        raise ModelFileError(f"cannot load {path}: {one_line(e)}") from None


def one_line(error: Exception) -> str:
    """The runtime's message on one line (LiteRT's come boxed over several)."""
    return " ".join(str(error).replace("└", " ").split())
