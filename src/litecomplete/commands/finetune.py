"""``litecomplete finetune``: LoRA on a user's text, merged into a KerasHub preset."""

from __future__ import annotations

import argparse
from pathlib import Path

from litecomplete.commands.common import emit_json, given, option_from

NAME = "finetune"
HELP = (
    "Fine-tune a model on your own text (LoRA adapters, on the CPU) and write a KerasHub "
    "preset with them merged, for `convert`."
)
EXAMPLE = (
    "litecomplete finetune --model smollm2 --text notes.txt --out mine && "
    "litecomplete convert --model mine --format fast --quant int8 --out mine.tflite"
)

CONFIG = "litecomplete.finetune.config:FinetuneConfig"
# FinetuneConfig's fields that are options of the same name (the rest are set apart).
OPTIONS = (
    "model", "steps", "epochs", "sequence_length", "batch_size", "learning_rate",
    "warmup_steps", "held_out", "rank", "lora_layers", "seed", "threads", "checkpoint_every",
)  # fmt: skip


def _layer_groups(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def add_arguments(p: argparse.ArgumentParser) -> None:
    option_from(
        p,
        "--model",
        f"{CONFIG}.model",
        "tiny, gpt2-124m, smollm2, gemma3, a KerasHub preset name or directory, or a GGUF file",
    )
    p.add_argument(
        "--text",
        action="append",
        required=True,
        metavar="PATH",
        help="UTF-8 text to learn from: a file, or a folder of .txt/.md files (repeatable)",
    )
    p.add_argument("--out", required=True, help="new preset directory (written whole at the end)")
    p.add_argument("--steps", type=int, default=None, help="optimizer steps (default: --epochs)")
    option_from(p, "--epochs", f"{CONFIG}.epochs", "passes over the text", type=float)
    option_from(p, "--sequence-length", f"{CONFIG}.sequence_length", "tokens per window", type=int)
    option_from(p, "--batch-size", f"{CONFIG}.batch_size", "windows per step", type=int)
    option_from(
        p,
        "--learning-rate",
        f"{CONFIG}.learning_rate",
        "peak rate (linear warm-up, then cosine decay to a tenth)",
        type=float,
    )
    p.add_argument(
        "--warmup-steps",
        type=int,
        default=None,
        help="warm-up steps (default: a tenth of the steps, at most 100)",
    )
    option_from(
        p,
        "--held-out",
        f"{CONFIG}.held_out",
        "fraction of the text, whole passages from its end, never trained on",
        type=float,
    )
    option_from(p, "--rank", f"{CONFIG}.rank", "LoRA rank", type=int)
    option_from(
        p,
        "--lora-layers",
        f"{CONFIG}.lora_layers",
        "layer groups that get adapters, comma-separated: query, key, value, output, mlp",
        type=_layer_groups,
    )
    option_from(p, "--seed", f"{CONFIG}.seed", "adapters' start and the windows' order", type=int)
    p.add_argument("--threads", type=int, default=None, help="threads (default: every core)")
    option_from(
        p,
        "--checkpoint-every",
        f"{CONFIG}.checkpoint_every",
        "steps between checkpoints (OUT.checkpoint; Ctrl-C saves one too)",
        type=int,
    )
    p.add_argument("--resume", action="store_true", help="continue from OUT.checkpoint")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from litecomplete.finetune import FinetuneConfig, finetune
    from litecomplete.native_output import captured_native_stderr

    config = FinetuneConfig(
        texts=tuple(Path(t) for t in args.text),
        out=Path(args.out),
        resume=args.resume,
        force=args.force,
        **given(args, *OPTIONS),
    )
    with captured_native_stderr() as (stderr, _):  # TensorFlow's C++ log lines
        result = finetune(config, stream=stderr)
    if args.json:
        emit_json(result.to_json())
        return 0
    before, after = result.held_out_perplexity_before, result.held_out_perplexity_after
    print(f"wrote KerasHub preset {result.out} ({result.architecture}, LoRA merged)")
    print(
        f"trained    {result.steps} steps on {result.train_windows} windows, "
        f"{result.trainable_parameters:,} of {result.parameters:,} parameters"
    )
    print(
        f"speed      {result.tokens_per_second:,.0f} tokens/s, {result.train_seconds:.0f} s, "
        f"peak memory {result.peak_rss_mib:,.0f} MiB"
    )
    if before is not None and after is not None:
        change = (after / before - 1) * 100
        print(
            f"held out   perplexity {before:.2f} -> {after:.2f} ({change:+.1f} %) on "
            f"{result.held_out_tokens} tokens"
        )
    print(f"next       litecomplete convert --model {result.out} --format fast --out FILE.tflite")
    return 0
