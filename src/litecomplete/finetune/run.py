"""``finetune``: a run from the user's text to a KerasHub preset with the adapters merged.

The steps: check the output can be written (before minutes of work), read and split the
text, load the model, tokenize, measure held-out perplexity, train with checkpoints,
measure again, write the preset whole (``finetune.json`` beside the weights says how it
was made), drop the checkpoint.

Ctrl-C or SIGTERM is held until the step under way ends: then the checkpoint is saved
and the signal goes on to whoever handled it before (the CLI stops, saying so).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import IO, Any

from litecomplete.atomic import atomic_directory
from litecomplete.errors import CheckpointError, ConfigError
from litecomplete.finetune.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from litecomplete.finetune.config import FinetuneConfig, FinetuneResult
from litecomplete.finetune.text import (
    SplitText,
    Windows,
    batch_order,
    full_windows,
    read_texts,
    split_held_out,
    windows,
)
from litecomplete.resources import peak_rss_bytes

RECORD_FILE = "finetune.json"  # in the output preset: how it was made


def finetune(config: FinetuneConfig, stream: IO[str] | None = None) -> FinetuneResult:
    """Fine-tune ``config.model`` on ``config.texts`` with LoRA; write ``config.out``.

    Progress goes to ``stream`` (default stderr). Raises a ``LitecompleteError`` naming
    the problem for bad input; nothing is written then. Interrupted (SIGINT, SIGTERM),
    it saves a checkpoint that ``resume=True`` continues from, and raises
    ``KeyboardInterrupt`` (or lets the signal's previous handler act).
    """
    stream = stream or sys.stderr
    _check_output(config)
    texts = read_texts(config.texts)
    split = split_held_out(texts, config.held_out)
    text_sha256 = _texts_digest(texts)
    saved = (  # read before the model loads: a wrong checkpoint fails in a second
        load_checkpoint(config.checkpoint_dir, config.settings(), text_sha256)
        if config.resume
        else None
    )
    _set_threads(config.threads)

    from litecomplete.finetune.trainer import LoraTrainer
    from litecomplete.models import registry
    from litecomplete.models.loader import load_causal_lm

    causal_lm = load_causal_lm(config.model, sequence_length=config.sequence_length)
    architecture = registry.for_backbone(causal_lm.backbone)
    train, held = _windows(causal_lm, split, config.sequence_length)
    total = config.total_steps(train.count)
    trainer = LoraTrainer(causal_lm, architecture, config, total)
    state = _start(trainer, config, text_sha256, saved)
    with _held_signals() as stop:
        if state.held_out_perplexity_before is None and held.count:
            before = trainer.perplexity(held, config.batch_size, stop.requested)
            state.held_out_perplexity_before = None if stop.requested() else before
        train_seconds = _train(trainer, config, train, total, state, stop, stream)
        after = trainer.perplexity(held, config.batch_size, stop.requested) if held.count else None
        if stop.requested():
            _save(trainer, state, config.checkpoint_dir)
    if stop.requested():  # the old handlers are back
        stop.resend(config.checkpoint_dir, state.step, stream)
    with atomic_directory(config.out, replace=config.force) as scratch:
        architecture.save_preset(causal_lm, scratch)
        result = FinetuneResult(
            out=config.out,
            model=config.model,
            architecture=architecture.name,
            steps=total,
            resumed_from_step=state.resumed_from,
            train_windows=train.count,
            train_tokens=train.tokens,
            held_out_tokens=held.tokens,
            trainable_parameters=trainer.trainable_parameters,
            parameters=trainer.parameters,
            tokens_per_second=_rate(state, config, train_seconds),
            train_seconds=train_seconds,
            final_loss=state.loss_by_step[-1] if state.loss_by_step else float("nan"),
            held_out_perplexity_before=state.held_out_perplexity_before,
            held_out_perplexity_after=after,
            peak_rss_mib=peak_rss_bytes() / 2**20,
            loss_by_step=state.loss_by_step,
        )
        record = {"settings": config.settings(), "text_sha256": text_sha256, **result.to_json()}
        record.pop("out")
        (scratch / RECORD_FILE).write_text(json.dumps(record, indent=2), "utf-8")
    shutil.rmtree(config.checkpoint_dir, ignore_errors=True)
    return result


def _check_output(config: FinetuneConfig) -> None:
    out = config.out
    if not out.parent.is_dir():
        raise ConfigError(f"the folder {out.parent} for --out does not exist")
    try:  # the folder must take a new directory (permissions, a read-only file system)
        os.rmdir(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".probe", dir=out.parent))
    except OSError as e:
        raise ConfigError(
            f"cannot write to {out.parent} (for --out {out}): {e.strerror or e}"
        ) from None
    if out.exists() and not (out.is_dir() and not any(out.iterdir())) and not config.force:
        raise ConfigError(
            f"{out} already exists; choose a new --out, or give --force to replace it"
        )
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} is a file; --out names the preset directory to write")
    if config.checkpoint_dir.exists() and not config.resume and not config.force:
        raise CheckpointError(
            f"an earlier run's checkpoint is at {config.checkpoint_dir}; continue it with "
            "--resume, or give --force to start again"
        )


def _texts_digest(texts: list[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


def _set_threads(threads: int | None) -> None:
    import tensorflow as tf

    if threads is not None:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def _windows(causal_lm: Any, split: SplitText, length: int) -> tuple[Windows, Windows]:
    """The training windows (whole ones only) and the held-out windows."""
    import numpy as np

    preprocessor = causal_lm.preprocessor
    tokenizer = preprocessor.tokenizer
    start = tokenizer.start_token_id if getattr(preprocessor, "add_start_token", False) else None
    pad = getattr(tokenizer, "pad_token_id", None) or 0

    def ids(text: str) -> list[int]:
        return np.asarray(tokenizer(text)).astype(np.int64).tolist() if text else []

    return (
        full_windows(ids(split.train), length, start),
        windows(ids(split.held_out), length, start, pad),
    )


class _RunState:
    """Where the run is: its step, losses, and the checkpoint's bookkeeping."""

    def __init__(self, settings: dict[str, Any], text_sha256: str) -> None:
        self.settings = settings
        self.text_sha256 = text_sha256
        self.step = 0
        self.resumed_from = 0
        self.loss_by_step: list[float] = []
        self.held_out_perplexity_before: float | None = None
        self.train_seconds = 0.0


def _start(
    trainer: Any, config: FinetuneConfig, text_sha256: str, saved: Checkpoint | None
) -> _RunState:
    state = _RunState(config.settings(), text_sha256)
    if saved is None:
        shutil.rmtree(config.checkpoint_dir, ignore_errors=True)  # --force: start again
        return state
    if not trainer.restore(saved.trainable_names, saved.trainable, saved.optimizer, saved.random):
        raise CheckpointError(
            f"the checkpoint at {config.checkpoint_dir} does not fit this model's adapters; "
            "start again without --resume"
        )
    state.step = state.resumed_from = saved.step
    state.loss_by_step = saved.loss_by_step
    state.held_out_perplexity_before = saved.held_out_perplexity_before
    state.train_seconds = saved.train_seconds
    return state


def _train(
    trainer: Any,
    config: FinetuneConfig,
    train: Windows,
    total: int,
    state: _RunState,
    stop: _Stop,
    stream: IO[str],
) -> float:
    """Steps from ``state.step`` to ``total``; the seconds spent training, in all runs."""
    from litecomplete.progress import step_progress

    tokens_per_step = config.batch_size * config.sequence_length
    with step_progress("finetune", total, state.step, stream) as update:
        started, first = time.perf_counter(), state.step
        while state.step < total and not stop.requested():
            picks = batch_order(train.count, config.batch_size, state.step, config.seed)
            state.loss_by_step.append(trainer.step(train, picks))
            state.step += 1
            elapsed = time.perf_counter() - started
            rate = (state.step - first) * tokens_per_step / max(elapsed, 1e-9)
            update(state.step, f"loss {state.loss_by_step[-1]:.3f}  {rate:,.0f} tok/s")
            if state.step % config.checkpoint_every == 0 and state.step < total:
                state.train_seconds += time.perf_counter() - started
                started, first = time.perf_counter(), state.step
                _save(trainer, state, config.checkpoint_dir)
        state.train_seconds += time.perf_counter() - started
    return state.train_seconds


def _rate(state: _RunState, config: FinetuneConfig, seconds: float) -> float:
    return state.step * config.batch_size * config.sequence_length / max(seconds, 1e-9)


def _save(trainer: Any, state: _RunState, directory: Path) -> None:
    save_checkpoint(
        directory,
        Checkpoint(
            settings=state.settings,
            text_sha256=state.text_sha256,
            step=state.step,
            trainable_names=trainer.trainable_names(),
            trainable=trainer.trainable_values(),
            optimizer=trainer.optimizer_values(),
            random=trainer.random_values(),
            train_seconds=state.train_seconds,
            held_out_perplexity_before=state.held_out_perplexity_before,
            loss_by_step=state.loss_by_step,
        ),
    )


class _Stop:
    """SIGINT and SIGTERM, held while training: recorded here, acted on between steps."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def requested(self) -> bool:
        return self.signal is not None

    def resend(self, checkpoint: Path, step: int, stream: IO[str]) -> None:
        """Say where the checkpoint is, then raise the signal again for its old handler."""
        print(
            f"finetune: saved a checkpoint at step {step} in {checkpoint}; "
            "run the same command with --resume to continue",
            file=stream,
            flush=True,
        )
        assert self.signal is not None
        signal.raise_signal(self.signal)
        raise KeyboardInterrupt  # a handler that returned: stop all the same


@contextmanager
def _held_signals() -> Iterator[_Stop]:
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def hold(signum: int, frame: FrameType | None) -> None:
        stop.signal = signum

    previous = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
