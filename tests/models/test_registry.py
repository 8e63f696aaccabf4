"""The registry dispatches by backbone and GGUF architecture, names what it cannot take,
and a family registered from here alone converts to the fast format and runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from litecomplete.errors import UnsupportedArchitectureError
from litecomplete.models import gpt2, registry
from litecomplete.models.architecture import Architecture
from litecomplete.models.fake import random_decoder_weights
from litecomplete.models.spec import DecoderSpec, DecoderWeights, Norm
from tests.reference import reference_logits


class RmsGpt2Backbone:
    """A third family's backbone: GPT-2's shapes, RMSNorm and no biases. It holds its
    weights as arrays; what matters is that nothing outside this file knows it."""

    def __init__(self, weights: DecoderWeights) -> None:
        self.weights = weights


def rms_gpt2_spec() -> DecoderSpec:
    return dataclasses.replace(gpt2.fake_spec(), architecture="rms_gpt2", norm=Norm.RMS)


RMS_GPT2 = Architecture(
    name="rms_gpt2",
    backbones=("RmsGpt2Backbone",),
    keras_spec=lambda backbone: backbone.weights.spec,
    keras_weights=lambda causal_lm: causal_lm.backbone.weights,
    fake_spec=rms_gpt2_spec,
)


@pytest.fixture
def rms_gpt2() -> Iterator[Architecture]:
    registry.register(RMS_GPT2)
    yield RMS_GPT2
    registry.unregister(RMS_GPT2.name)


def test_every_family_has_one_name_and_distinct_backbones() -> None:
    names = registry.backbone_names()
    assert len(names) == len(set(names))
    for name, architecture in registry.ARCHITECTURES.items():
        assert architecture.name == name == architecture.fake_spec().architecture


def test_an_unknown_backbone_is_named_with_the_supported_ones() -> None:
    with pytest.raises(UnsupportedArchitectureError, match="BertBackbone is not supported"):
        registry.for_backbone(type("BertBackbone", (), {})())
    with pytest.raises(UnsupportedArchitectureError, match="GPT2Backbone, Llama3Backbone"):
        registry.for_backbone(type("BertBackbone", (), {})())


def test_a_family_without_gguf_import_is_refused_by_name(rms_gpt2: Architecture) -> None:
    model = SimpleNamespace(path=Path("x.gguf"), architecture="rms_gpt2")
    with pytest.raises(UnsupportedArchitectureError, match="import-gguf supports: llama, gemma3$"):
        registry.gguf_architecture(model)  # type: ignore[arg-type]


def test_a_family_registered_from_the_tests_converts_to_the_fast_format_and_runs(
    rms_gpt2: Architecture, tiny_lm: Any, tmp_path: Path
) -> None:
    from litecomplete.convert.fast_config import FastExportConfig
    from litecomplete.convert.fast_export import convert_fast_model
    from litecomplete.runtime.fast_model import FastModel

    weights = random_decoder_weights(rms_gpt2.fake_spec(), seed=3)
    assert all(layer.qkv_bias is None for layer in weights.layers)  # RMS: no biases
    # GPT-2's tokenizer: the family shares its vocabulary.
    model = SimpleNamespace(backbone=RmsGpt2Backbone(weights), preprocessor=tiny_lm.preprocessor)
    out = tmp_path / "rms-gpt2.tflite"
    convert_fast_model(model, FastExportConfig(max_length=32, buckets=(8,)), out)

    fast = FastModel.load(out)
    assert fast.info.manifest["architecture"] == "rms_gpt2"
    ids = [464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13, 383, 3139]
    expected = reference_logits(weights, ids)
    fast.reset()
    got = [fast.feed(ids[:9])]  # a bucket and a chunk of one more
    got += [fast.step(token) for token in ids[9:]]
    for row, logits in zip(range(8, 12), got, strict=True):
        scale = np.abs(expected[row]).max()
        assert np.abs(logits - expected[row]).max() <= 1e-4 * scale, row
    # The same weights with LayerNorm are another model: the norm reached the graph.
    layer_norm = dataclasses.replace(
        weights, spec=dataclasses.replace(weights.spec, norm=Norm.LAYER)
    )
    assert np.abs(reference_logits(layer_norm, ids)[-1] - expected[-1]).max() > 1e-2 * scale
