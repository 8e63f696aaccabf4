"""Architecture-neutral decoder shapes and weights (NumPy only: no TensorFlow, no Keras).

The fast format, the GGUF writer and the NumPy reference forward are written from
plain arrays rather than Keras layers, so one graph builder serves every
decoder-only family. Each family (``models/<arch>/``) maps its layers onto
``DecoderSpec``, ``LayerWeights`` and ``DecoderWeights`` here; ``checked_array``
names every tensor it rejects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from litecomplete.choices import Choice

# Far above any model that fits in memory here; they bound loops and shapes that a
# file or a preset's config declares (``contract.fast_manifest_problems``,
# ``models.loader``).
MAX_LENGTH_LIMIT = 1 << 20
MAX_LAYERS = 1024
MAX_HEADS = 1024
MAX_HEAD_DIM = 4096
MAX_VOCABULARY = 1 << 22


def int_in_range(value: Any, low: int, high: int) -> bool:
    """Whether ``value`` is an integer (not a bool) from ``low`` to ``high``."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


class Norm(Choice):
    """The normalization in front of attention, the MLP and the output layer."""

    __choice__ = "norm"
    LAYER = "layer"  # LayerNorm, scale and bias (GPT-2)
    RMS = "rms"  # RMSNorm, scale only (Llama)


class Activation(Choice):
    """The MLP's shape and nonlinearity."""

    __choice__ = "activation"
    GELU_TANH = "gelu_tanh"  # up, GELU (tanh approximation), down (GPT-2)
    SILU_GLU = "silu_glu"  # SiLU(gate) * up, down (Llama's SwiGLU)
    GELU_TANH_GLU = "gelu_tanh_glu"  # GELU-tanh(gate) * up, down (Gemma's GeGLU)

    @property
    def gated(self) -> bool:
        """Whether the MLP has a gate projection beside ``up``."""
        return self is not Activation.GELU_TANH


class Positions(Choice):
    """How a token's position enters the model."""

    __choice__ = "positions"
    LEARNED = "learned"  # a learned embedding added to the token's (GPT-2)
    ROPE = "rope"  # rotary: q and k rotated by the position, rotate-half form (Llama)


@dataclass(frozen=True)
class DecoderSpec:
    """Shapes and choices of a decoder-only transformer.

    ``architecture`` is the registry's name of the family (``models.registry``). The
    fields after ``rope_theta`` are Gemma's: token embeddings scaled by
    ``embedding_scale`` (the tied output layer reads the table unscaled), RMSNorm over
    each head of q and k (``qk_norm``), a norm after attention and after the MLP too
    (``post_norms``), and local layers: every layer but each ``global_every``-th sees
    only the newest ``sliding_window`` positions, rotated with ``local_rope_theta``.
    """

    architecture: str
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    hidden_dim: int
    intermediate_dim: int
    vocabulary_size: int
    max_positions: int
    norm_epsilon: float
    norm: Norm = Norm.LAYER
    activation: Activation = Activation.GELU_TANH
    positions: Positions = Positions.LEARNED
    rope_theta: float = 10000.0
    embedding_scale: float = 1.0
    qk_norm: bool = False
    post_norms: bool = False
    sliding_window: int | None = None
    global_every: int = 1
    local_rope_theta: float = 10000.0

    def is_local(self, layer: int) -> bool:
        """Whether ``layer`` attends only within the sliding window."""
        return self.sliding_window is not None and layer % self.global_every != (
            self.global_every - 1
        )

    def layer_rope_theta(self, layer: int) -> float:
        """The RoPE base of ``layer``: local layers have their own."""
        return self.local_rope_theta if self.is_local(layer) else self.rope_theta

    @property
    def block_weights(self) -> int:
        """The blocks' matmul weights: what a token fed through them multiplies by."""
        qkv = self.hidden_dim * (self.num_heads + 2 * self.num_kv_heads) * self.head_dim
        out = self.num_heads * self.head_dim * self.hidden_dim
        mlp = (3 if self.activation.gated else 2) * self.hidden_dim * self.intermediate_dim
        return self.num_layers * (qkv + out + mlp)

    @property
    def output_cost(self) -> float:
        """What one row of logits costs, in tokens fed through the blocks: the output
        layer's weights over the blocks' (GPT-2 124M 0.45, SmolLM2-135M 0.27, Gemma 3
        270M 1.7: its 262k-token vocabulary outweighs the model)."""
        return self.vocabulary_size * self.hidden_dim / self.block_weights


@dataclass(frozen=True, kw_only=True)
class LayerWeights:
    """One block, pre-norm. Kernels are [in, out] float32; a bias None: none (RMS-norm
    families have none)."""

    attn_norm_scale: np.ndarray  # (hidden,)
    attn_norm_bias: np.ndarray | None = None  # (hidden,)
    qkv_kernel: np.ndarray  # (hidden, (heads + 2 * kv_heads) * head_dim)
    qkv_bias: np.ndarray | None = None  # ((heads + 2 * kv_heads) * head_dim,)
    out_kernel: np.ndarray  # (heads * head_dim, hidden)
    out_bias: np.ndarray | None = None  # (hidden,)
    mlp_norm_scale: np.ndarray
    mlp_norm_bias: np.ndarray | None = None
    up_kernel: np.ndarray  # (hidden, intermediate)
    up_bias: np.ndarray | None = None
    down_kernel: np.ndarray  # (intermediate, hidden)
    down_bias: np.ndarray | None = None
    gate_kernel: np.ndarray | None = None  # (hidden, intermediate), gated MLPs only
    q_norm_scale: np.ndarray | None = None  # (head_dim,), ``qk_norm`` only
    k_norm_scale: np.ndarray | None = None  # (head_dim,)
    post_attn_norm_scale: np.ndarray | None = None  # (hidden,), ``post_norms`` only
    post_mlp_norm_scale: np.ndarray | None = None  # (hidden,)


@dataclass(frozen=True, kw_only=True)
class DecoderWeights:
    spec: DecoderSpec
    token_embedding: np.ndarray  # (vocab, hidden); also the output projection (tied)
    position_embedding: np.ndarray | None = None  # (max_positions, hidden); None: RoPE
    layers: list[LayerWeights]
    final_norm_scale: np.ndarray
    final_norm_bias: np.ndarray | None = None
    output_kernel: np.ndarray | None = None  # (vocab, hidden) when not tied to the embedding


def checked_array(variable: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``variable`` as float32 of exactly ``shape``; a ValueError names ``name`` otherwise."""
    value = np.asarray(variable, dtype=np.float32)
    if value.shape != shape:
        raise ValueError(f"{name}: shape {value.shape}, expected {shape}")
    return value


def keras_layers(
    backbone: Any,
    spec: DecoderSpec,
    prefix: str,
    layer: Callable[[Any, DecoderSpec, str], LayerWeights],
) -> list[LayerWeights]:
    """``layer(block, spec, name)`` of each of a KerasHub backbone's blocks, named
    ``<prefix><i>``."""
    names = [f"{prefix}{i}" for i in range(spec.num_layers)]
    return [layer(backbone.get_layer(name), spec, name) for name in names]


def present(value: np.ndarray | None, name: str) -> np.ndarray:
    """``value``, which the spec's choices need; a ValueError names ``name`` if it is absent."""
    if value is None:
        raise ValueError(f"the weights have no {name}, which the decoder's spec calls for")
    return value
