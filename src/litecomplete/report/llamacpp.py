"""The report's llama.cpp rows: the same weights through llama.cpp, measured the same way.

The model is written as an F32 GGUF (``export-gguf``, the weights every litecomplete
mode starts from), quantized by llama.cpp's own quantizer (``llama_model_quantize``,
in a child process that reports its time and peak memory), scored by ``eval`` on the
same text and windows against the same float32 reference (llama.cpp's logits read
through llama-cpp-python), and benchmarked by ``bench``'s llama.cpp engine.

Run as ``python -m litecomplete.report.llamacpp F32 OUT TYPE THREADS``: quantize, print
JSON ``{"seconds": ..., "peak_rss_bytes": ...}``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from litecomplete.errors import ConversionError
from litecomplete.supervise import json_from_child

# llama.cpp's file types (``enum llama_ftype``) the report quantizes to, after F32.
QUANT_TYPES = {"Q8_0": 7, "Q4_0": 2, "Q4_K_M": 15}
ROW_PREFIX = "llama.cpp "


def available() -> bool:
    """Whether llama-cpp-python is installed (``scripts/install-llamacpp.sh``)."""
    return importlib.util.find_spec("llama_cpp") is not None


def export_f32(model: str, out: Path) -> dict[str, Any]:
    """``litecomplete export-gguf --type f32`` in a child process; its time and peak memory."""
    started = time.perf_counter()
    argv = ["-m", "litecomplete", "export-gguf", "--model", model, "--type", "f32"]
    result = json_from_child([*argv, "--out", str(out), "--json"], f"exporting {model} to GGUF",
                             ConversionError)  # fmt: skip
    return {"seconds": time.perf_counter() - started, "peak_rss_bytes": result["peak_rss_bytes"]}


def quantize_in_subprocess(f32: Path, out: Path, kind: str, threads: int) -> dict[str, Any]:
    """llama.cpp's quantizer from ``f32`` to ``kind`` (``Q8_0``...), in a fresh process."""
    argv = ["-m", "litecomplete.report.llamacpp", str(f32), str(out), kind, str(threads)]
    result: dict[str, Any] = json_from_child(
        argv, f"llama.cpp quantizing to {kind}", ConversionError
    )
    return result


class LlamaCppScorer:
    """A GGUF in llama.cpp as ``eval`` scores models: same ids, same start token.

    ``start_token_id`` is the reference's: the report compares both engines on the very
    token ids the float32 conversion sees.
    """

    def __init__(self, path: Path, threads: int, max_length: int, start_token_id: int | None):
        from litecomplete.bench.engines import LlamaCppEngine

        self._engine = LlamaCppEngine(path, threads, max_length)
        self.max_length = max_length
        self.start_token_id = start_token_id

    def encode(self, text: str) -> list[int]:
        return self._engine.tokenize(text)

    def feed(self, ids: list[int]) -> np.ndarray:
        return self._engine.feed(ids)  # keeps what it has of ids' start, as ours does

    def step(self, token: int) -> np.ndarray:
        return self._engine.step(token)


def _quantize_main(argv: list[str]) -> int:
    import llama_cpp

    from litecomplete.resources import peak_rss_bytes

    f32, out, kind, threads = Path(argv[0]), Path(argv[1]), argv[2], int(argv[3])
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = QUANT_TYPES[kind]
    params.nthread = threads
    started = time.perf_counter()
    status = llama_cpp.llama_model_quantize(
        str(f32).encode(), str(out).encode(), llama_cpp.byref(params)
    )
    if status != 0 or not out.is_file():
        print(f"llama_model_quantize returned {status}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_rss_bytes": peak_rss_bytes()}))
    return 0


if __name__ == "__main__":
    sys.exit(_quantize_main(sys.argv[1:]))
