"""The model families litecomplete knows, and dispatch to them by KerasHub backbone or
GGUF architecture. A family not listed is named in the error, with the ones that are.

A new family's package (``models/<arch>/__init__.py``, read by ``Architecture.of``) is
added to the table here; tests may ``register`` a fake one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litecomplete.errors import UnsupportedArchitectureError
from litecomplete.models import gemma3, gpt2, llama
from litecomplete.models.architecture import Architecture

if TYPE_CHECKING:
    from litecomplete.models.gguf.reader import GgufFile
    from litecomplete.models.spec import DecoderSpec, DecoderWeights

ARCHITECTURES: dict[str, Architecture] = {
    a.name: a for a in map(Architecture.of, (gpt2, llama, gemma3))
}


def register(architecture: Architecture) -> None:
    """Add (or replace) a family."""
    ARCHITECTURES[architecture.name] = architecture


def unregister(name: str) -> None:
    ARCHITECTURES.pop(name, None)


def by_name(name: str) -> Architecture:
    if name not in ARCHITECTURES:
        raise UnsupportedArchitectureError(
            f"unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}"
        )
    return ARCHITECTURES[name]


def backbone_names() -> tuple[str, ...]:
    """Every KerasHub backbone class name some family maps."""
    return tuple(b for a in ARCHITECTURES.values() for b in a.backbones)


def for_backbone(backbone: Any) -> Architecture:
    """The family of a KerasHub backbone, by its class name."""
    name = type(backbone).__name__
    for architecture in ARCHITECTURES.values():
        if name in architecture.backbones:
            return architecture
    raise UnsupportedArchitectureError(
        f"{name} is not supported; supported backbones: {', '.join(backbone_names())}"
    )


def decoder_spec(causal_lm: Any) -> DecoderSpec:
    """The shapes of a supported KerasHub causal LM (its weights are not read)."""
    return for_backbone(causal_lm.backbone).keras_spec(causal_lm.backbone)


def decoder_weights(causal_lm: Any) -> DecoderWeights:
    """The architecture-neutral weights of a supported KerasHub causal LM."""
    return for_backbone(causal_lm.backbone).keras_weights(causal_lm)


def gguf_architecture(model: GgufFile) -> Architecture:
    """The family a GGUF file holds, if litecomplete imports it."""
    found = ARCHITECTURES.get(model.architecture)
    if found is None or found.gguf_weights is None:
        importable = [a.name for a in ARCHITECTURES.values() if a.gguf_weights is not None]
        raise UnsupportedArchitectureError(
            f"{model.path} holds a {model.architecture or 'unnamed'!r} model; "
            f"import-gguf supports: {', '.join(importable)}"
        )
    return found
