"""A Llama-family GGUF file as a KerasHub ``Llama3CausalLM``.

Tensors are dequantized to float32 (``models.gguf.reader``) and llama.cpp's Q/K row
permutation is undone (``llama.gguf_weights``), which gives the Hugging Face layout that
KerasHub's Llama layers take. The tokenizer is rebuilt from the file's metadata
(``GgufBpeTokenizer``): same vocabulary, merges, special tokens and pre-tokenizer,
so its ids are llama.cpp's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from litecomplete.errors import GgufFileError
from litecomplete.models.gguf.tokenizer import CONTROL_TOKEN_TYPES, gguf_vocabulary
from litecomplete.models.llama.gguf_weights import llama_decoder_weights
from litecomplete.models.llama.shapes import KERAS_BACKBONE_NAMES
from litecomplete.models.spec import DecoderWeights

if TYPE_CHECKING:
    import keras_hub

    from litecomplete.models.gguf.reader import GgufFile


def gguf_tokenizer(model: GgufFile) -> Any:
    """The file's tokenizer as a KerasHub ``GgufBpeTokenizer``."""
    from litecomplete.models.llama.tokenizer import GgufBpeTokenizer

    meta = model.metadata
    tokens, types, merges, pre = gguf_vocabulary(model)
    if not merges:
        raise GgufFileError(f"{model.path} has no tokenizer merges")

    def token(key: str) -> str:
        index = meta.get(f"tokenizer.ggml.{key}_token_id")
        if index is None or not 0 <= int(index) < len(tokens):
            raise GgufFileError(f"{model.path}: tokenizer.ggml.{key}_token_id is missing")
        return str(tokens[int(index)])

    bos, eos = token("bos"), token("eos")
    special = {t for t, kind in zip(tokens, types, strict=True) if kind in CONTROL_TOKEN_TYPES}
    return GgufBpeTokenizer(
        vocabulary={t: i for i, t in enumerate(tokens)},
        merges=merges,
        bos_token=bos,
        eos_token=eos,
        misc_special_tokens=special - {bos, eos},
        pre_tokenizer=pre,
    )


def llama_causal_lm(
    weights: DecoderWeights, tokenizer: Any, add_start_token: bool, sequence_length: int
) -> keras_hub.models.Llama3CausalLM:
    """A ``Llama3CausalLM`` holding ``weights`` (float32)."""
    import keras_hub

    spec = weights.spec
    tied = weights.output_kernel is None
    sizes = {keras: getattr(spec, field) for field, keras in KERAS_BACKBONE_NAMES.items()}
    backbone = keras_hub.models.Llama3Backbone(**sizes, tie_word_embeddings=tied, dtype="float32")
    h, kv, dh, d = spec.num_heads, spec.num_kv_heads, spec.head_dim, spec.hidden_dim

    def assign(variable: Any, value: np.ndarray, name: str) -> None:
        if tuple(variable.shape) != value.shape:
            raise GgufFileError(f"{name}: shape {value.shape}, the model expects {variable.shape}")
        variable.assign(value)

    assign(backbone.get_layer("token_embedding").embeddings, weights.token_embedding, "embedding")
    if not tied:
        assert weights.output_kernel is not None
        assign(
            backbone.get_layer("token_embedding").reverse_embeddings,
            weights.output_kernel.T,  # (hidden, vocab)
            "output",
        )
    for i, layer in enumerate(weights.layers):
        block = backbone.get_layer(f"transformer_layer_{i}")
        attn = block._self_attention_layer
        name = f"layer {i}"
        # qkv columns are [q heads | k heads | v heads], each head_dim wide.
        q, k, v = np.split(layer.qkv_kernel, [h * dh, (h + kv) * dh], axis=1)
        assign(attn._query_dense.kernel, q.reshape(d, h, dh), f"{name} q")  # (d, heads, dh)
        assign(attn._key_dense.kernel, k.reshape(d, kv, dh), f"{name} k")  # (d, kv, dh)
        assign(attn._value_dense.kernel, v.reshape(d, kv, dh), f"{name} v")
        assign(attn._output_dense.kernel, layer.out_kernel.reshape(h, dh, d), f"{name} o")
        assign(block._self_attention_layernorm.scale, layer.attn_norm_scale, f"{name} attn norm")
        assign(block._feedforward_layernorm.scale, layer.mlp_norm_scale, f"{name} mlp norm")
        assert layer.gate_kernel is not None
        assign(block._feedforward_gate_dense.kernel, layer.gate_kernel, f"{name} gate")
        assign(block._feedforward_intermediate_dense.kernel, layer.up_kernel, f"{name} up")
        assign(block._feedforward_output_dense.kernel, layer.down_kernel, f"{name} down")
    assign(
        backbone.get_layer("sequence_output_layernorm").scale,
        weights.final_norm_scale,
        "final norm",
    )
    preprocessor = keras_hub.models.Llama3CausalLMPreprocessor(
        tokenizer, sequence_length=sequence_length, add_start_token=add_start_token
    )
    return keras_hub.models.Llama3CausalLM(backbone, preprocessor=preprocessor)


def llama_causal_lm_from_gguf(
    model: GgufFile, sequence_length: int = 256
) -> keras_hub.models.Llama3CausalLM:
    """Build the KerasHub model of a Llama-family GGUF file."""
    tokenizer = gguf_tokenizer(model)
    add_bos = bool(model.metadata.get("tokenizer.ggml.add_bos_token", False))
    return llama_causal_lm(llama_decoder_weights(model), tokenizer, add_bos, sequence_length)


def save_llama_preset(causal_lm: Any, directory: Path) -> None:
    """``save_to_preset``, with the tied-embedding flag KerasHub leaves out written back."""
    causal_lm.save_to_preset(str(directory))
    _record_tied_embeddings(directory, causal_lm.backbone.tie_word_embeddings)


def _record_tied_embeddings(preset: Path, tied: bool) -> None:
    """KerasHub 0.31's Llama backbones leave ``tie_word_embeddings`` out of their config,
    so a tied model would load untied and miss its output weights; write it back where
    the preset keeps the backbone's config (its own file, and inside the task's)."""
    for name, keys in (("config.json", ()), ("task.json", ("config", "backbone"))):
        path = preset / name
        document = json.loads(path.read_text("utf-8"))
        backbone = document
        for key in keys:
            backbone = backbone[key]
        backbone["config"]["tie_word_embeddings"] = tied
        path.write_text(json.dumps(document, indent=4), "utf-8")
