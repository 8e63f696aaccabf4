"""LoRA training of a KerasHub causal LM (TensorFlow backend): adapters on chosen layers,
a masked next-token loss, Adam with warm-up and cosine decay, held-out perplexity, and
the state a checkpoint holds."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from litecomplete.errors import ConfigError
from litecomplete.finetune.config import FinetuneConfig
from litecomplete.finetune.text import Windows
from litecomplete.models.architecture import Architecture

# The cosine ends at this fraction of the peak learning rate.
FINAL_RATE_FRACTION = 0.1
CLIP_NORM = 1.0


def lora_layer_names(architecture: Architecture, groups: Sequence[str]) -> list[str]:
    """The KerasHub layer names of ``groups`` in ``architecture``.

    Raises:
        ConfigError: a group the family does not have.
    """
    known = architecture.lora_layers
    unknown = [g for g in groups if g not in known]
    if unknown:
        raise ConfigError(
            f"--lora-layers: {', '.join(unknown)} is not a layer group of "
            f"{architecture.name}; choose from {', '.join(known)}"
        )
    return [name for g in groups for name in known[g]]


class LoraTrainer:
    """Adapters on ``causal_lm``'s chosen layers, and the optimizer that trains them.

    Everything else in the model is frozen. ``step`` trains on one batch of windows;
    ``perplexity`` measures windows without training.
    """

    def __init__(
        self,
        causal_lm: Any,
        architecture: Architecture,
        config: FinetuneConfig,
        total_steps: int,
    ) -> None:
        import keras
        import tensorflow as tf

        self.causal_lm = causal_lm
        keras.utils.set_random_seed(config.seed)
        backbone = causal_lm.backbone
        backbone.enable_lora(
            config.rank, target_layer_names=lora_layer_names(architecture, config.lora_layers)
        )
        self.trainable = list(causal_lm.trainable_variables)
        # Dropout's random streams: a resumed run draws what an uninterrupted one would.
        self.random_states = [v for v in causal_lm.variables if "seed_generator_state" in v.path]
        warmup = config.warmup(total_steps)
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=config.learning_rate / (warmup + 1),
            decay_steps=max(1, total_steps - warmup),
            alpha=FINAL_RATE_FRACTION,
            warmup_target=config.learning_rate,
            warmup_steps=warmup,
        )
        self.optimizer = keras.optimizers.Adam(learning_rate=schedule, global_clipnorm=CLIP_NORM)
        self.optimizer.build(self.trainable)

        def loss_sums(x: Any, y: Any, w: Any, training: bool) -> tuple[Any, Any]:
            inputs = {"token_ids": x, "padding_mask": tf.ones_like(x, dtype=tf.bool)}
            logits = tf.cast(causal_lm(inputs, training=training), tf.float32)  # [B, T, V]
            nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
            return tf.reduce_sum(nll * w), tf.reduce_sum(w)

        @tf.function(reduce_retracing=True)
        def train_step(x: Any, y: Any, w: Any) -> Any:
            with tf.GradientTape() as tape:
                total, count = loss_sums(x, y, w, training=True)
                loss = total / tf.maximum(count, 1.0)
            grads = tape.gradient(loss, self.trainable)
            self.optimizer.apply_gradients(zip(grads, self.trainable, strict=True))
            return loss

        @tf.function(reduce_retracing=True)
        def eval_step(x: Any, y: Any, w: Any) -> tuple[Any, Any]:
            return loss_sums(x, y, w, training=False)

        self._train_step = train_step
        self._eval_step = eval_step

    @property
    def trainable_parameters(self) -> int:
        return int(sum(np.prod(v.shape) for v in self.trainable))

    @property
    def parameters(self) -> int:
        """The model's parameters, adapters left out."""
        weights = self.causal_lm.weights
        return sum(int(np.prod(v.shape)) for v in weights if "lora_kernel" not in v.path)

    def step(self, windows: Windows, picks: np.ndarray) -> float:
        """One optimizer step on the windows ``picks``; the batch's mean loss."""
        ids, weights = windows.ids[picks], windows.weights[picks]
        return float(self._train_step(ids[:, :-1], ids[:, 1:], weights))

    def perplexity(
        self, windows: Windows, batch_size: int, stop: Callable[[], bool] = lambda: False
    ) -> float:
        """exp(mean next-token loss) over every label of ``windows``; NaN if stopped."""
        total = count = 0.0
        for start in range(0, windows.count, batch_size):
            if stop():
                return math.nan
            ids = windows.ids[start : start + batch_size]
            weights = windows.weights[start : start + batch_size]
            nll, n = self._eval_step(ids[:, :-1], ids[:, 1:], weights)
            total, count = total + float(nll), count + float(n)
        return math.exp(total / count) if count else math.nan

    # A checkpoint's view of the run.
    def trainable_names(self) -> list[str]:
        return [v.path for v in self.trainable]

    def trainable_values(self) -> list[np.ndarray]:
        return [np.asarray(v.numpy()) for v in self.trainable]

    def optimizer_values(self) -> list[np.ndarray]:
        return [np.asarray(v.numpy()) for v in self.optimizer.variables]

    def random_values(self) -> list[np.ndarray]:
        return [np.asarray(v.numpy()) for v in self.random_states]

    def restore(
        self,
        names: list[str],
        trainable: list[np.ndarray],
        optimizer: list[np.ndarray],
        random: list[np.ndarray],
    ) -> bool:
        """Set the adapters, optimizer and random streams from a checkpoint; False if
        they do not fit."""
        ours = self.optimizer.variables
        if names != self.trainable_names() or (len(optimizer), len(random)) != (
            len(ours),
            len(self.random_states),
        ):
            return False
        pairs = [
            *zip(self.trainable, trainable, strict=True),
            *zip(ours, optimizer, strict=True),
            *zip(self.random_states, random, strict=True),
        ]
        if any(tuple(v.shape) != a.shape for v, a in pairs):
            return False
        for variable, value in pairs:
            variable.assign(value)
        return True
