"""Import a Llama-family GGUF file into a KerasHub ``Llama3CausalLM``, or a preset directory.

Tensors are dequantized to float32 (``gguf_reader``) and llama.cpp's Q/K row
permutation is undone (``gguf_weights``), which gives the Hugging Face layout that
KerasHub's Llama layers take. The tokenizer is rebuilt from the file's metadata
(``GgufBpeTokenizer``): same vocabulary, merges, special tokens and pre-tokenizer,
so its ids are llama.cpp's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from litecomplete.atomic import atomic_directory
from litecomplete.errors import GgufFileError, PresetDirectoryError
from litecomplete.models.gguf_tokenizer import CONTROL_TOKEN_TYPES, gguf_vocabulary

if TYPE_CHECKING:
    import keras_hub

    from litecomplete.convert.decoder_weights import DecoderWeights
    from litecomplete.models.gguf_reader import GgufFile


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
    backbone = keras_hub.models.Llama3Backbone(
        vocabulary_size=spec.vocabulary_size,
        num_layers=spec.num_layers,
        num_query_heads=spec.num_heads,
        hidden_dim=spec.hidden_dim,
        intermediate_dim=spec.intermediate_dim,
        num_key_value_heads=spec.num_kv_heads,
        rope_max_wavelength=spec.rope_theta,
        layer_norm_epsilon=spec.norm_epsilon,
        tie_word_embeddings=tied,
        dtype="float32",
    )
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


def causal_lm_from_gguf(
    path: str | Path, sequence_length: int = 256
) -> keras_hub.models.Llama3CausalLM:
    """Build the KerasHub model of a Llama-family GGUF file."""
    from litecomplete.convert.gguf_weights import llama_decoder_weights
    from litecomplete.models.gguf_reader import read_gguf

    model = read_gguf(path)
    tokenizer = gguf_tokenizer(model)
    add_bos = bool(model.metadata.get("tokenizer.ggml.add_bos_token", False))
    return llama_causal_lm(llama_decoder_weights(model), tokenizer, add_bos, sequence_length)


def import_gguf(path: str | Path, out_dir: str | Path, sequence_length: int = 256) -> Path:
    """Write the GGUF model at ``path`` as a KerasHub preset directory ``out_dir``.

    The directory appears whole or not at all; an existing non-empty one is refused.
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise PresetDirectoryError(
            f"{out} already exists and is not an empty directory; choose a new --out"
        )
    if not out.parent.is_dir():
        raise PresetDirectoryError(f"the folder {out.parent} for --out does not exist")
    causal_lm = causal_lm_from_gguf(path, sequence_length)
    with atomic_directory(out) as scratch:
        causal_lm.save_to_preset(str(scratch))
        _record_tied_embeddings(scratch, causal_lm.backbone.tie_word_embeddings)
    return out


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
