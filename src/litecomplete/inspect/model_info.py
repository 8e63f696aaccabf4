"""Parse a TFLite flatbuffer with the schema that ai-edge-litert ships (no TensorFlow)."""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from litecomplete.contract import MANIFEST_METADATA_NAME, TOKENIZER_METADATA_NAME
from litecomplete.errors import ModelFileError

FILE_IDENTIFIER = b"TFL3"
MIN_RUNTIME_METADATA_NAME = "min_runtime_version"
SCHEMA_VERSION = 3
# Ops whose integer activations mean full-integer quantization. A dynamic-range
# file also moves int8 data (an embedding GATHER before its DEQUANTIZE), but
# computes in float.
ARITHMETIC_OPS = frozenset(
    {
        "FULLY_CONNECTED",
        "BATCH_MATMUL",
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "ADD",
        "SUB",
        "MUL",
        "SOFTMAX",
        "MEAN",
    }
)


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple[int, ...]  # -1 marks a dynamic dimension


class SignatureInfo(NamedTuple):
    """A signature: its key, the subgraph it runs, and its tensors by name."""

    key: str
    subgraph_index: int
    inputs: dict[str, TensorInfo]
    outputs: dict[str, TensorInfo]


@dataclass(frozen=True)
class ModelInfo:
    """What a .tflite file holds."""

    size_bytes: int
    signatures: dict[str, SignatureInfo]
    builtin_ops: Counter[str]
    flex_ops: Counter[str]
    custom_ops: Counter[str]
    weight_bytes_by_dtype: Counter[str]
    quantized_activation_ops: Counter[str]  # arithmetic ops computing on integer activations
    float_activation_ops: Counter[str]  # ops computing on float activations
    manifest: dict[str, Any] = field(default_factory=dict)
    tokenizer_json: str | None = None  # Hugging Face tokenizer.json carried by the file
    # The oldest TensorFlow Lite release with every builtin op version the file uses,
    # as the TFLite converter wrote it (metadata ``min_runtime_version``); None if absent.
    min_runtime_version: str | None = None

    @property
    def op_set(self) -> str:
        parts = ["builtins"]
        if self.flex_ops:
            parts.append("Flex")
        if self.custom_ops:
            parts.append("custom")
        return " + ".join(parts)

    @property
    def quantization(self) -> str:
        """The manifest's mode (fast format); else ``int8`` (full integer), ``dynamic``,
        ``float16`` or ``none``, from the weights."""
        declared = self.manifest.get("quantization")
        if isinstance(declared, str):
            return declared
        if self.quantized_activation_ops:
            return "int8"
        weights = self.weight_bytes_by_dtype
        if weights["INT8"] + weights["INT4"] > weights["FLOAT32"] // 4:
            return "dynamic"
        if weights["FLOAT16"] > weights["FLOAT32"]:
            return "float16"
        return "none"


def _enum_names(enum_class: Any) -> dict[int, str]:
    return {
        v: k for k, v in vars(enum_class).items() if not k.startswith("_") and isinstance(v, int)
    }


def _str(b: bytes | None) -> str:
    return b.decode("utf-8", "replace") if b else ""


def _shape(tensor: Any) -> tuple[int, ...]:
    signature = tensor.ShapeSignatureAsNumpy()
    shape = tensor.ShapeAsNumpy()
    dims = signature if not isinstance(signature, int) else shape
    return () if isinstance(dims, int) else tuple(int(d) for d in dims)


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """ModelFileError naming ``path`` for the ways opening or reading it fails."""
    try:
        yield
    except FileNotFoundError:
        raise ModelFileError(f"model file {path} does not exist") from None
    except IsADirectoryError:
        raise ModelFileError(f"cannot read model file {path}: it is a directory") from None
    except OSError as e:
        raise ModelFileError(f"cannot read model file {path}: {e.strerror}") from None


def read_file_bytes(path: Path) -> bytes:
    """A model file's bytes; ModelFileError naming it when it is missing or unreadable."""
    with _reading(path):
        return path.read_bytes()


def read_model_info(path: Path, ops: bool = True) -> ModelInfo:
    """Read ``path`` as a TFLite model.

    The file is mapped, not read: only the parts parsed are touched. ``ops=False``
    leaves out what needs every operator and tensor (op counts, weight bytes by type,
    activation types): a runtime loading the file needs its signatures and metadata
    only, and walking thousands of operators in Python costs most of a load.

    Raises:
        ModelFileError: the file is missing, empty, not TFLite, or damaged.
    """
    with _reading(path), path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < 8 or f.read(8)[4:8] != FILE_IDENTIFIER:
            raise ModelFileError(
                f"{path} is not a TFLite model (no TFL3 identifier); give a .tflite file "
                "written by `litecomplete convert`"
            )
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        return parse_model_bytes(data, ops=ops)
    except Exception as e:  # a damaged flatbuffer fails in many ways
        raise ModelFileError(f"{path} is a damaged TFLite file: {type(e).__name__}: {e}") from None
    finally:
        with contextlib.suppress(BufferError):  # a numpy view survived: closes when it goes
            data.close()


def _metadata_text(model: Any, index: int, name: str) -> str:
    """The UTF-8 text in buffer ``index``, which metadata entry ``name`` points at."""
    if not 0 <= index < model.BuffersLength() or model.Buffers(index).DataLength() == 0:
        raise ValueError(f"metadata {name!r} points at no data (buffer {index})")
    raw = model.Buffers(index).DataAsNumpy().tobytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"metadata {name!r} is not UTF-8 text (byte {e.start})") from None


@dataclass
class _OpCounts:
    """What the operators of a file's subgraphs add up to (``ModelInfo``'s fields)."""

    builtin_ops: Counter[str] = field(default_factory=Counter)
    flex_ops: Counter[str] = field(default_factory=Counter)
    custom_ops: Counter[str] = field(default_factory=Counter)
    weight_bytes_by_dtype: Counter[str] = field(default_factory=Counter)
    quantized_activation_ops: Counter[str] = field(default_factory=Counter)
    float_activation_ops: Counter[str] = field(default_factory=Counter)

    def count_custom(self, custom: str) -> None:
        (self.flex_ops if custom.startswith("Flex") else self.custom_ops)[custom] += 1


class _Reader:
    """A parsed flatbuffer and the schema's names for its enums."""

    def __init__(self, data: bytes | mmap.mmap) -> None:
        from ai_edge_litert import schema_py_generated as schema

        self.dtype_names = _enum_names(schema.TensorType)
        op_names = _enum_names(schema.BuiltinOperator)
        root = int.from_bytes(data[:4], "little")
        if not 8 <= root < len(data):
            raise ValueError(f"root table offset {root} lies outside the file")
        self.model = model = schema.Model.GetRootAs(data, 0)
        if model.Version() != SCHEMA_VERSION:
            raise ValueError(f"schema version {model.Version()}, expected {SCHEMA_VERSION}")
        if model.SubgraphsLength() == 0:
            raise ValueError("no subgraphs")
        self.op_codes = []  # (builtin name, custom code) by operator code index
        for i in range(model.OperatorCodesLength()):
            code = model.OperatorCodes(i)
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            self.op_codes.append((op_names.get(builtin, str(builtin)), _str(code.CustomCode())))

    def dtype(self, tensor: Any) -> str:
        return self.dtype_names.get(tensor.Type(), "?")

    def buffer_size(self, index: int) -> int:
        if index <= 0 or index >= self.model.BuffersLength():
            return 0
        buffer = self.model.Buffers(index)
        return int(buffer.Size()) if buffer.Size() > 1 else int(buffer.DataLength())

    def op_counts(self, ops: bool) -> _OpCounts:
        """Every subgraph's operators and weights; without ``ops``, Flex and custom ops
        from the table of operator codes only."""
        counts = _OpCounts()
        if not ops:
            for name, custom in self.op_codes:
                if name == "CUSTOM":
                    counts.count_custom(custom)
            return counts
        counted_buffers: set[int] = set()  # subgraphs of a while loop share weight buffers
        for g in range(self.model.SubgraphsLength()):
            graph = self.model.Subgraphs(g)
            const = self._count_weights(graph, counts, counted_buffers)
            for o in range(graph.OperatorsLength()):
                self._count_op(graph, graph.Operators(o), const, counts)
        return counts

    def _count_weights(self, graph: Any, counts: _OpCounts, counted: set[int]) -> set[int]:
        """Add ``graph``'s constant tensors' bytes (each buffer once); their indices."""
        const = set()
        for t in range(graph.TensorsLength()):
            tensor = graph.Tensors(t)
            size = self.buffer_size(tensor.Buffer())
            if size:
                const.add(t)
                if tensor.Buffer() not in counted:
                    counted.add(tensor.Buffer())
                    counts.weight_bytes_by_dtype[self.dtype(tensor)] += size
        return const

    def _count_op(self, graph: Any, op: Any, const: set[int], counts: _OpCounts) -> None:
        name, custom = self.op_codes[op.OpcodeIndex()]
        if name == "CUSTOM":
            counts.count_custom(custom)
            return
        counts.builtin_ops[name] += 1
        activations = (
            [
                self.dtype(graph.Tensors(int(t)))
                for t in op.InputsAsNumpy().tolist() + op.OutputsAsNumpy().tolist()
                if t >= 0 and int(t) not in const
            ]
            if op.InputsLength()
            else []
        )
        if name in ARITHMETIC_OPS and any(d in ("INT8", "INT16") for d in activations):
            counts.quantized_activation_ops[name] += 1
        elif "FLOAT32" in activations:
            counts.float_activation_ops[name] += 1

    def signatures(self) -> dict[str, SignatureInfo]:
        found = {}
        for s in range(self.model.SignatureDefsLength()):
            sig = self.model.SignatureDefs(s)
            graph = self.model.Subgraphs(sig.SubgraphIndex())
            key = _str(sig.SignatureKey())
            found[key] = SignatureInfo(
                key=key,
                subgraph_index=sig.SubgraphIndex(),
                inputs=self._tensors(graph, sig.InputsLength(), sig.Inputs),
                outputs=self._tensors(graph, sig.OutputsLength(), sig.Outputs),
            )
        return found

    def _tensors(self, graph: Any, n: int, get: Any) -> dict[str, TensorInfo]:
        out = {}
        for i in range(n):
            entry = get(i)
            tensor = graph.Tensors(entry.TensorIndex())
            name = _str(entry.Name())
            out[name] = TensorInfo(name, self.dtype(tensor), _shape(tensor))
        return out

    def metadata(self) -> tuple[dict[str, Any], str | None, str | None]:
        """The manifest, the tokenizer JSON and the converter's minimum runtime version."""
        model = self.model
        manifest: dict[str, Any] = {}
        tokenizer_json = None
        min_runtime = None
        for m in range(model.MetadataLength()):
            entry = model.Metadata(m)
            name = _str(entry.Name())
            if name == MIN_RUNTIME_METADATA_NAME and min_runtime is None:
                # The converter fills the first entry; a quantizing pass may add an empty one.
                min_runtime = _runtime_version(model, entry.Buffer())
            if name == TOKENIZER_METADATA_NAME:
                tokenizer_json = _metadata_text(model, entry.Buffer(), name)
            elif name == MANIFEST_METADATA_NAME:
                manifest = json.loads(_metadata_text(model, entry.Buffer(), name))
                if not isinstance(manifest, dict):
                    raise ValueError(
                        f"metadata {name!r} is {type(manifest).__name__}, not a JSON object"
                    )
        return manifest, tokenizer_json, min_runtime


def parse_model_bytes(data: bytes | mmap.mmap, ops: bool = True) -> ModelInfo:
    """Parse a TFLite flatbuffer in memory or mapped (exceptions are not wrapped).

    ``ops=False``: op counts, weights and activation types are left empty, and
    Flex and custom ops are read from the file's table of operator codes.
    """
    reader = _Reader(data)
    counts = reader.op_counts(ops)
    manifest, tokenizer_json, min_runtime = reader.metadata()
    return ModelInfo(
        size_bytes=len(data),
        signatures=reader.signatures(),
        manifest=manifest,
        tokenizer_json=tokenizer_json,
        min_runtime_version=min_runtime,
        **vars(counts),  # _OpCounts' fields are ModelInfo's
    )


def _runtime_version(model: Any, index: int) -> str | None:
    """The converter's NUL-padded version string in buffer ``index``; None if not one."""
    if not 0 <= index < model.BuffersLength() or model.Buffers(index).DataLength() == 0:
        return None
    text = model.Buffers(index).DataAsNumpy().tobytes().split(b"\0", 1)[0]
    return text.decode() if re.fullmatch(rb"\d+(\.\d+)*", text) else None


def version_tuple(version: str) -> tuple[int, ...]:
    """``"2.12.0"`` -> ``(2, 12, 0)``, for comparing releases."""
    return tuple(int(part) for part in version.split("."))
