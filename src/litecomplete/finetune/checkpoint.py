"""A fine-tuning run's checkpoint: the adapters, the optimizer's state and where the run
was, written whole or not at all, and refused when it is another run's.

A checkpoint is a directory beside the output (``OUT.checkpoint``) with
``checkpoint.json`` (settings, step, losses so far) and ``state.npz`` (the trainable
variables by path, the optimizer's variables and dropout's random states in order).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from litecomplete.atomic import atomic_directory
from litecomplete.errors import CheckpointError

FORMAT = "litecomplete-finetune-checkpoint/1"
META_FILE = "checkpoint.json"
STATE_FILE = "state.npz"


@dataclass
class Checkpoint:
    """Where a run was, and the values to resume it from."""

    settings: dict[str, Any]
    text_sha256: str
    step: int
    trainable_names: list[str]
    trainable: list[np.ndarray]
    optimizer: list[np.ndarray]
    random: list[np.ndarray]
    train_seconds: float = 0.0
    held_out_perplexity_before: float | None = None
    loss_by_step: list[float] = field(default_factory=list)


def save_checkpoint(directory: Path, checkpoint: Checkpoint) -> None:
    """Write ``checkpoint`` to ``directory``, replacing the one there only when complete."""
    meta = {
        "format": FORMAT,
        "settings": checkpoint.settings,
        "text_sha256": checkpoint.text_sha256,
        "step": checkpoint.step,
        "trainable_names": checkpoint.trainable_names,
        "optimizer_count": len(checkpoint.optimizer),
        "random_count": len(checkpoint.random),
        "train_seconds": checkpoint.train_seconds,
        "held_out_perplexity_before": checkpoint.held_out_perplexity_before,
        "loss_by_step": checkpoint.loss_by_step,
    }
    arrays = {f"trainable_{i}": v for i, v in enumerate(checkpoint.trainable)}
    arrays |= {f"optimizer_{i}": v for i, v in enumerate(checkpoint.optimizer)}
    arrays |= {f"random_{i}": v for i, v in enumerate(checkpoint.random)}
    with atomic_directory(directory, replace=True) as tmp:
        np.savez(tmp / STATE_FILE, **arrays)
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2), "utf-8")


def load_checkpoint(directory: Path, settings: dict[str, Any], text_sha256: str) -> Checkpoint:
    """The checkpoint in ``directory``, if it is of a run with these settings and text.

    Raises:
        CheckpointError: none there, damaged, or made with other settings or text.
    """
    meta_file = directory / META_FILE
    if not meta_file.is_file():
        raise CheckpointError(
            f"--resume: no checkpoint at {directory}; run without --resume to start"
        )
    try:
        meta = json.loads(meta_file.read_text("utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"format {meta.get('format')!r}, expected {FORMAT!r}")
        with np.load(directory / STATE_FILE) as state:
            count = len(meta["trainable_names"])
            trainable = [state[f"trainable_{i}"] for i in range(count)]
            optimizer = [state[f"optimizer_{i}"] for i in range(meta["optimizer_count"])]
            random = [state[f"random_{i}"] for i in range(meta["random_count"])]
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"the checkpoint at {directory} is damaged ({e})") from None
    changed = sorted(k for k in settings if meta["settings"].get(k) != settings[k])
    if changed:
        was = ", ".join(f"{k} {meta['settings'].get(k)!r} now {settings[k]!r}" for k in changed)
        raise CheckpointError(
            f"the checkpoint at {directory} is of a run with other settings ({was}); resume "
            "with the same options, or start again without --resume"
        )
    if meta["text_sha256"] != text_sha256:
        raise CheckpointError(
            f"the checkpoint at {directory} was trained on other text; resume with the same "
            "--text files, or start again without --resume"
        )
    return Checkpoint(
        settings=meta["settings"],
        text_sha256=meta["text_sha256"],
        step=int(meta["step"]),
        trainable_names=list(meta["trainable_names"]),
        trainable=trainable,
        optimizer=optimizer,
        random=random,
        train_seconds=float(meta.get("train_seconds", 0.0)),
        held_out_perplexity_before=meta.get("held_out_perplexity_before"),
        loss_by_step=[float(x) for x in meta.get("loss_by_step", [])],
    )
