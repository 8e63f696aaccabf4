"""What a fine-tuning run is asked to do (``FinetuneConfig``) and what it did
(``FinetuneResult``). The CLI's defaults are these fields' defaults."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from litecomplete.errors import ConfigError, require_at_least

# Adapters on every projection. On SmolLM2 and the First Folio's Tempest (2 epochs,
# 54 steps) KerasHub's default, query and value alone, ended at a training loss of 4.66
# and held-out perplexity 157 -> 98; every group was at 4.13 after the same 54 steps
# (of a 4-epoch run that reached 157 -> 74), at 195 tokens/s against 247 (21 % fewer).
DEFAULT_LORA_LAYERS = ("query", "key", "value", "output", "mlp")


# What a checkpoint must share with the run that resumes it: all that shapes the
# training (not threads, how often it saves, or where it writes).
CHECKPOINT_SETTINGS = frozenset(
    {
        "model", "steps", "epochs", "sequence_length", "batch_size", "learning_rate",
        "warmup_steps", "held_out", "rank", "lora_layers", "seed",
    }
)  # fmt: skip


@dataclass(frozen=True)
class FinetuneConfig:
    """One fine-tuning run.

    Attributes:
        model: what ``--model`` takes (``tiny``, ``gpt2-124m``, ``smollm2``, ``gemma3``, a
            preset name or directory, a GGUF file).
        texts: UTF-8 text files to learn from, or folders of them (``text.TEXT_SUFFIXES``).
        out: the KerasHub preset directory to write (LoRA merged into the weights).
        steps: optimizer steps; None: ``epochs`` passes over the training windows.
        epochs: passes over the training windows when ``steps`` is None.
        sequence_length: tokens per training window.
        batch_size: windows per step.
        learning_rate: the peak rate, reached after ``warmup_steps`` and decayed along a
            cosine to a tenth of it by the last step.
        warmup_steps: steps of linear warm-up; None: a tenth of the steps (at most 100).
        held_out: the fraction of the text (whole passages from its end) never trained
            on, where perplexity is measured before and after.
        rank: the LoRA adapters' rank.
        lora_layers: which layers get adapters, by group (``query``, ``key``, ``value``,
            ``output``: the attention projections; ``mlp``: the feed-forward layers).
        seed: the adapters' initial values and the order windows are seen in.
        threads: TensorFlow's threads (None: as many as the machine has).
        checkpoint_every: steps between checkpoints (an interrupt saves one too).
        resume: continue from the checkpoint beside ``out``.
        force: replace ``out`` if it exists.
    """

    texts: tuple[Path, ...]
    out: Path
    model: str = "smollm2"
    steps: int | None = None
    epochs: float = 3.0
    sequence_length: int = 128
    batch_size: int = 4
    learning_rate: float = 1e-3
    warmup_steps: int | None = None
    held_out: float = 0.1
    rank: int = 8
    lora_layers: tuple[str, ...] = DEFAULT_LORA_LAYERS
    seed: int = 0
    threads: int | None = None
    checkpoint_every: int = 50
    resume: bool = False
    force: bool = False

    def __post_init__(self) -> None:
        if self.steps is not None:
            require_at_least("--steps", self.steps, 1)
        if not (self.epochs > 0 and math.isfinite(self.epochs)):
            raise ConfigError(f"--epochs must be above 0, got {self.epochs}")
        require_at_least("--sequence-length", self.sequence_length, 2)
        require_at_least("--batch-size", self.batch_size, 1)
        require_at_least("--rank", self.rank, 1)
        require_at_least("--checkpoint-every", self.checkpoint_every, 1)
        if self.warmup_steps is not None:
            require_at_least("--warmup-steps", self.warmup_steps, 0)
        if self.threads is not None:
            require_at_least("--threads", self.threads, 1)
        if not (0 < self.learning_rate < 1):
            raise ConfigError(
                f"--learning-rate must be above 0 and below 1, got {self.learning_rate}"
            )
        if not self.lora_layers:
            raise ConfigError("--lora-layers names no layer group")

    @property
    def checkpoint_dir(self) -> Path:
        """Where checkpoints of this run live: beside ``out``."""
        return self.out.parent / f"{self.out.name}.checkpoint"

    def total_steps(self, windows: int) -> int:
        """``steps``, or the steps ``epochs`` passes over ``windows`` take."""
        if self.steps is not None:
            return self.steps
        return max(1, math.ceil(self.epochs * windows / self.batch_size))

    def warmup(self, total_steps: int) -> int:
        if self.warmup_steps is not None:
            return min(self.warmup_steps, total_steps)
        return min(100, total_steps // 10)

    def settings(self) -> dict[str, Any]:
        """What a checkpoint must share with the run that resumes it."""
        values = asdict(self)
        return {
            name: list(v) if isinstance(v, tuple) else v
            for name, v in values.items()
            if name in CHECKPOINT_SETTINGS
        }


@dataclass
class FinetuneResult:
    """What a run did. Perplexities are None when nothing was held out."""

    out: Path
    model: str
    architecture: str
    steps: int
    resumed_from_step: int
    train_windows: int
    train_tokens: int
    held_out_tokens: int
    trainable_parameters: int
    parameters: int
    tokens_per_second: float
    train_seconds: float
    final_loss: float
    held_out_perplexity_before: float | None
    held_out_perplexity_after: float | None
    peak_rss_mib: float
    loss_by_step: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        payload = asdict(self)
        payload["out"] = str(self.out)
        return payload
