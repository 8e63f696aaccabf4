"""Read a GGUF file (llama.cpp's format): metadata, and tensors dequantized to float32.

Only the tensor types named here are accepted; anything else is refused with a
message that names it. Which architectures a file may hold is the registry's
business (``models.registry.gguf_architecture``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from litecomplete.errors import GgufFileError
from litecomplete.models.gguf.parse import GGUF_MAGIC, parse_gguf

# Tensor types we dequantize (names as in gguf.GGMLQuantizationType).
# (gguf-py dequantizes each; the K-quants are what llama.cpp's Q4_K_M and its kin hold.)
SUPPORTED_TYPES = (
    "F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
    "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K",
)  # fmt: skip


@dataclass(frozen=True)
class GgufFile:
    """A parsed GGUF file. ``tensor(name)`` dequantizes on demand."""

    path: Path
    architecture: str
    metadata: dict[str, Any]
    tensor_types: dict[str, str]
    _tensors: dict[str, Any] = field(repr=False)

    def arch_value(self, key: str, default: Any = None) -> Any:
        """``<architecture>.<key>`` from the metadata."""
        return self.metadata.get(f"{self.architecture}.{key}", default)

    def shape(self, name: str) -> tuple[int, ...] | None:
        """Row-major shape of tensor ``name`` as the file declares it; None if absent."""
        t = self._tensors.get(name)
        return None if t is None else tuple(int(d) for d in reversed(t.shape.tolist()))

    def tensor(self, name: str) -> np.ndarray:
        """float32 array in row-major [out, in] order (GGUF lists dims innermost first)."""
        import gguf

        if name not in self._tensors:
            raise GgufFileError(f"{self.path} has no tensor {name!r}")
        t = self._tensors[name]
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))
        data = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type)
        return np.asarray(data, dtype=np.float32).reshape(shape)


def read_gguf(path: str | Path) -> GgufFile:
    """Open ``path``; raise GgufFileError or UnsupportedArchitectureError naming the problem."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except FileNotFoundError:
        raise GgufFileError(f"GGUF file {path} does not exist") from None
    except OSError as e:
        raise GgufFileError(f"cannot read {path}: {e.strerror}") from None
    if magic != GGUF_MAGIC:
        raise GgufFileError(f"{path} is not a GGUF file (it does not start with 'GGUF')")
    try:
        metadata, tensors = parse_gguf(np.memmap(path, mode="r"))
    except Exception as e:  # a cut or damaged file fails in many ways
        raise GgufFileError(
            f"{path} is truncated or damaged ({type(e).__name__}: {e}); download it again"
        ) from None
    architecture = str(metadata.get("general.architecture") or "")
    types = {name: t.tensor_type.name for name, t in tensors.items()}
    unsupported = sorted({kind for kind in types.values() if kind not in SUPPORTED_TYPES})
    if unsupported:
        raise GgufFileError(
            f"{path} has tensors of type {', '.join(unsupported)}, which import-gguf cannot "
            f"dequantize yet; supported: {', '.join(SUPPORTED_TYPES)}"
        )
    return GgufFile(path, architecture, metadata, types, tensors)
