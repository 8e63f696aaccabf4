"""Read a LiteRT-LM bundle (``.litertlm``): its header, sections and LLM metadata.

The layout (litert-lm-builder's ``litertlm_core``): 8 magic bytes ``LITERTLM``, the
format version as three uint32, at byte 24 a uint64 giving where the header ends, and
from byte 32 the header, a flatbuffer listing system metadata and the sections (type,
byte range, key-value items). The sections follow in the file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from litecomplete.errors import ModelFileError
from litecomplete.inspect.model_info import parse_model_bytes, read_file_bytes

MAGIC = b"LITERTLM"
HEADER_END_OFFSET = 24
HEADER_BEGIN = 32
LITERTLM_SUFFIX = ".litertlm"


def import_litertlm_builder() -> ModuleType:
    """``litert_lm_builder``, imported next to TensorFlow's protobuf.

    Its generated protobuf code (0.18.1) asks for protobuf >= 6.31 at import, while
    TensorFlow 2.19 needs protobuf < 6. The code uses nothing that 5.29 lacks (the
    bundles it writes load and run in LiteRT-LM, tested), so the version check is
    skipped for this import alone.
    """
    from google.protobuf import runtime_version

    check = runtime_version.ValidateProtobufRuntimeVersion
    runtime_version.ValidateProtobufRuntimeVersion = lambda *args, **kwargs: None
    try:
        import litert_lm_builder
        from litert_lm_builder import litertlm_builder  # noqa: F401
        from litert_lm_builder.runtime.proto import llm_metadata_pb2  # noqa: F401
    finally:
        runtime_version.ValidateProtobufRuntimeVersion = check
    return litert_lm_builder


@dataclass(frozen=True)
class Section:
    kind: str  # the header's AnySectionDataType name, e.g. TFLiteModel
    begin: int
    end: int
    items: dict[str, Any] = field(default_factory=dict)

    @property
    def size_bytes(self) -> int:
        return self.end - self.begin


@dataclass(frozen=True)
class LitertLmInfo:
    """What a ``.litertlm`` file holds."""

    size_bytes: int
    version: tuple[int, int, int]
    system_metadata: dict[str, Any]
    sections: list[Section]
    llm_metadata: dict[str, Any]  # LlmMetadata as JSON-like fields; {} if none
    manifest: dict[str, Any] = field(default_factory=dict)  # the model's, if we wrote it

    def section(self, kind: str) -> Section | None:
        return next((s for s in self.sections if s.kind == kind), None)


def is_litertlm(path: Path) -> bool:
    """Whether ``path`` starts with the LiteRT-LM magic bytes."""
    try:
        with path.open("rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def read_litertlm_info(path: Path) -> LitertLmInfo:
    """Read ``path``'s header and LLM metadata.

    Raises:
        ModelFileError: missing, not a LiteRT-LM file, truncated or damaged, or
            holding no LLM (no TFLite model or no LLM metadata section).
    """
    data = read_file_bytes(path)
    if data[: len(MAGIC)] != MAGIC:
        raise ModelFileError(f"{path} is not a LiteRT-LM file (no LITERTLM magic bytes)")
    try:
        info = _parse(data)
    except Exception as e:  # a damaged flatbuffer or protobuf fails in many ways
        raise ModelFileError(
            f"{path} is a damaged LiteRT-LM file: {type(e).__name__}: {e}"
        ) from None
    missing = [k for k in ("TFLiteModel", "LlmMetadataProto") if info.section(k) is None]
    if missing:
        raise ModelFileError(f"{path} holds no LLM: it has no {' and no '.join(missing)} section")
    return info


def _parse(data: bytes) -> LitertLmInfo:
    builder = import_litertlm_builder()
    schema = builder.litertlm_header_schema_py_generated
    if len(data) < HEADER_BEGIN:
        raise ValueError(f"{len(data)} bytes, shorter than the {HEADER_BEGIN}-byte preamble")
    version = struct.unpack_from("<III", data, len(MAGIC))
    (header_end,) = struct.unpack_from("<Q", data, HEADER_END_OFFSET)
    if not HEADER_BEGIN < header_end <= len(data):
        raise ValueError(f"the header ends at byte {header_end}, outside the file")
    header = schema.LiteRTLMMetaData.GetRootAs(data[HEADER_BEGIN:header_end], 0)
    kinds = {v: k for k, v in vars(schema.AnySectionDataType).items() if not k.startswith("_")}
    system = header.SystemMetadata()
    system_metadata = (
        dict(_item(schema, system.Entries(i)) for i in range(system.EntriesLength()))
        if system is not None
        else {}
    )
    sections = []
    objects = header.SectionMetadata()
    for i in range(objects.ObjectsLength() if objects is not None else 0):
        obj = objects.Objects(i)
        begin, end = int(obj.BeginOffset()), int(obj.EndOffset())
        if not header_end <= begin <= end <= len(data):
            raise ValueError(f"section {i} spans bytes {begin}-{end}, outside the file")
        items = dict(_item(schema, obj.Items(j)) for j in range(obj.ItemsLength()))
        sections.append(Section(kinds.get(obj.DataType(), str(obj.DataType())), begin, end, items))
    llm_metadata: dict[str, Any] = {}
    llm = next((s for s in sections if s.kind == "LlmMetadataProto"), None)
    if llm is not None:
        from google.protobuf import json_format
        from litert_lm_builder.runtime.proto import llm_metadata_pb2

        message = llm_metadata_pb2.LlmMetadata.FromString(data[llm.begin : llm.end])
        llm_metadata = json_format.MessageToDict(message)
    manifest: dict[str, Any] = {}
    model = next((s for s in sections if s.kind == "TFLiteModel"), None)
    if model is not None:
        manifest = parse_model_bytes(data[model.begin : model.end]).manifest
    return LitertLmInfo(
        size_bytes=len(data),
        version=(int(version[0]), int(version[1]), int(version[2])),
        system_metadata=system_metadata,
        sections=sections,
        llm_metadata=llm_metadata,
        manifest=manifest,
    )


def _item(schema: Any, pair: Any) -> tuple[str, Any]:
    """A header ``KeyValuePair`` as ``(key, value)``."""
    names = {v: k for k, v in vars(schema.VData).items() if not k.startswith("_")}
    kind = names.get(pair.ValueType(), "NONE")
    table = pair.Value()
    value: Any = None
    if table is not None and hasattr(schema, kind):
        holder = getattr(schema, kind)()
        holder.Init(table.Bytes, table.Pos)
        value = holder.Value()
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
    key = pair.Key()
    return (key.decode("utf-8", "replace") if key else ""), value
