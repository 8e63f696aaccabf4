"""The engines a benchmark compares, behind one token-level interface.

Both engines are driven the same way: feed prompt ids cold, feed one token at
a time, and keep a cached prefix when the prompt grows. llama.cpp comes from
the optional ``llama-cpp-python`` package and reads a GGUF of the same weights
(``litecomplete export-gguf``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from litecomplete.errors import ConfigError
from litecomplete.runtime.generation import TokenModel


class Engine(TokenModel, Protocol):
    """An engine under benchmark: ours or a peer, fed the same token ids."""

    name: str

    def tokenize(self, text: str) -> list[int]: ...
    def reset(self) -> None: ...
    def suggest(self, ids: list[int], tokens: int) -> int: ...


class LitecompleteEngine:
    name = "litecomplete"

    def __init__(self, path: Path, threads: int, weights_cache_dir: Path | None = None) -> None:
        from litecomplete.runtime.fast_model import FastModel
        from litecomplete.runtime.speculative import Speculation

        self.model = FastModel.load(path, num_threads=threads, weights_cache_dir=weights_cache_dir)
        self.variant = self.model.manifest.quantization
        self.max_length = self.model.max_length
        self.speculation = Speculation()  # what suggest() drafts with

    def tokenize(self, text: str) -> list[int]:
        return self.model.encode(text)

    def reset(self) -> None:
        self.model.reset()

    def feed(self, ids: list[int]) -> np.ndarray:
        return self.model.feed(ids)

    def step(self, token: int) -> np.ndarray:
        return self.model.step(token)

    def _config(self, tokens: int) -> Any:
        """A greedy suggestion of up to ``tokens``, drafted ``speculation``'s way."""
        from litecomplete.runtime.generation import GenerationConfig

        return GenerationConfig(
            max_new_tokens=tokens, stop_at_end_token=False, speculation=self.speculation
        )

    def suggest(self, ids: list[int], tokens: int) -> int:
        """A greedy suggestion of up to ``tokens`` after ``ids`` (``speculation``'s way);
        the tokens generated."""
        return len(self.model.complete_ids(ids, self._config(tokens)).token_ids)

    def look_ahead(self, ids: list[int], tokens: int, alternatives: int) -> int:
        """Between keystrokes: ``tokens``-token suggestions for the ``alternatives``
        likeliest other next tokens, made ready as drafts (``runtime.look_ahead``)."""
        return self.model.look_ahead(ids, alternatives, self._config(tokens))


class LlamaCppEngine:
    name = "llama.cpp"

    def __init__(self, path: Path, threads: int, max_length: int) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise ConfigError(
                "--vs-llamacpp needs llama-cpp-python: `pip install -e '.[llamacpp]'` "
                "(it builds llama.cpp from source; README, 'Benchmarks')"
            ) from None
        if not path.is_file():
            raise ConfigError(f"GGUF file {path} does not exist; write one with export-gguf")
        # One batch holds the whole context, as our prefill does; both thread pools
        # (prompt and decode) get the same count.
        sizes: dict[str, Any] = dict.fromkeys(("n_ctx", "n_batch", "n_ubatch"), max_length)
        pools: dict[str, Any] = dict.fromkeys(("n_threads", "n_threads_batch"), threads)
        self.llm: Any = Llama(
            model_path=str(path), logits_all=False, verbose=False, **sizes, **pools
        )
        self.variant = _gguf_type(path)
        self.max_length = max_length
        self._ids: list[int] = []

    def tokenize(self, text: str) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def reset(self) -> None:
        self.llm.reset()
        self._ids = []

    def _logits(self) -> np.ndarray:
        """Logits of the last token evaluated (the only row llama.cpp computed)."""
        pointer = self.llm._ctx.get_logits()
        return np.ctypeslib.as_array(pointer, shape=(self.llm.n_vocab(),)).copy()

    def feed(self, ids: list[int]) -> np.ndarray:
        common = 0
        limit = min(len(self._ids), len(ids) - 1)
        while common < limit and self._ids[common] == ids[common]:
            common += 1
        self.llm.n_tokens = common  # eval() drops cached positions from here on
        self.llm.eval(ids[common:])
        self._ids = list(ids)
        return self._logits()

    def step(self, token: int) -> np.ndarray:
        self.llm.eval([token])
        self._ids.append(token)
        return self._logits()

    def suggest(self, ids: list[int], tokens: int) -> int:
        """A greedy suggestion of ``tokens`` after ``ids``, one decode step each."""
        logits = self.feed(ids)
        for _ in range(tokens - 1):
            logits = self.step(int(np.argmax(logits)))
        return tokens


def _gguf_type(path: Path) -> str:
    """The file type llama.cpp reports (``general.file_type``), e.g. ``Q8_0``."""
    import gguf

    from litecomplete.models.gguf.reader import read_gguf

    file_type = read_gguf(path).metadata.get("general.file_type")
    if not isinstance(file_type, int):
        return "unknown"
    return gguf.LlamaFileType(file_type).name.removeprefix("MOSTLY_").replace("ALL_", "")
