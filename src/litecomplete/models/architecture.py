"""What a model family gives litecomplete: one ``Architecture`` per ``models/<arch>/``.

A family maps its KerasHub backbone (and, where llama.cpp has it, its GGUF tensors)
onto the architecture-neutral ``DecoderWeights`` of ``models.spec``; everything
downstream (the fast graph, quantization, the NumPy reference, the GGUF writer's
shell) works from those. ``models.registry`` dispatches to the families.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from litecomplete.models.spec import DecoderSpec, DecoderWeights

if TYPE_CHECKING:
    from litecomplete.models.gguf.reader import GgufFile
    from litecomplete.models.gguf.writer import GgufType


class GgufTensorWriter(Protocol):
    """Queue a family's metadata, tokenizer and tensors on a ``gguf.GGUFWriter``."""

    def __call__(
        self, writer: Any, weights: DecoderWeights, tokenizer: Any, kind: GgufType, add_bos: bool
    ) -> None: ...


# KerasHub layer names a LoRA adapter can be put on, by the group a user names
# (``finetune --lora-layers``). The attention projections are named alike in every
# KerasHub family so far; each family names its MLP's layers.
ATTENTION_LORA_LAYERS = {
    "query": ("query",),
    "key": ("key",),
    "value": ("value",),
    "output": ("attention_output",),
}


def lora_layers(mlp: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The LoRA groups of a family whose MLP layers are named ``mlp``."""
    return {**ATTENTION_LORA_LAYERS, "mlp": mlp}


def save_keras_preset(causal_lm: Any, directory: Path) -> None:
    """KerasHub's own ``save_to_preset``: what a family needs unless it says otherwise."""
    causal_lm.save_to_preset(str(directory))


@dataclass(frozen=True)
class Architecture:
    """One model family.

    Attributes:
        name: ``DecoderSpec.architecture``, and llama.cpp's ``general.architecture``.
        backbones: KerasHub backbone class names this family maps.
        keras_spec: a backbone's shapes (cheap: reads its config, not its weights).
        keras_weights: a KerasHub causal LM's weights.
        fake_spec: a tiny config of the family's shapes, for tests.
        gguf_weights: a GGUF file's weights (None: the family is not imported from GGUF).
        gguf_tokenizer: a GGUF file's tokenizer as a ``tokenizers.Tokenizer``.
        gguf_causal_lm: a GGUF file as a KerasHub causal LM (``sequence_length`` packing).
        write_gguf: queues the family on a GGUF writer (None: no GGUF export).
        save_preset: writes a causal LM as a KerasHub preset directory.
        lora_layers: KerasHub layer names by LoRA group (``query``, ``value``, ``mlp``...).
    """

    name: str
    backbones: tuple[str, ...]
    keras_spec: Callable[[Any], DecoderSpec]
    keras_weights: Callable[[Any], DecoderWeights]
    fake_spec: Callable[[], DecoderSpec]
    gguf_weights: Callable[[GgufFile], DecoderWeights] | None = None
    gguf_tokenizer: Callable[[GgufFile], Any] | None = None
    gguf_causal_lm: Callable[[GgufFile, int], Any] | None = None
    write_gguf: GgufTensorWriter | None = None
    save_preset: Callable[[Any, Path], None] = save_keras_preset
    lora_layers: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, module: ModuleType) -> Architecture:
        """The family a ``models/<arch>/`` package is: its ``NAME``, ``BACKBONES`` and
        ``LORA_MLP_LAYERS`` (the MLP's KerasHub layer names), and the functions it
        exposes under this class's field names (``keras_spec``, ``keras_weights``,
        ``fake_spec``; ``gguf_weights`` and the rest where it has them)."""
        optional = ("gguf_weights", "gguf_tokenizer", "gguf_causal_lm", "write_gguf")
        return cls(
            name=module.NAME,
            backbones=module.BACKBONES,
            keras_spec=module.keras_spec,
            keras_weights=module.keras_weights,
            fake_spec=module.fake_spec,
            **{name: getattr(module, name) for name in optional if hasattr(module, name)},
            save_preset=getattr(module, "save_preset", save_keras_preset),
            lora_layers=lora_layers(module.LORA_MLP_LAYERS),
        )
