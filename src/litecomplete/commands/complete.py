"""``litecomplete complete``: complete a prompt with an app- or fast-format model."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from litecomplete.commands.common import emit_json, given, option_from

NAME = "complete"
HELP = "Complete a prompt with a .tflite model (app or fast format) or a .litertlm bundle."
EXAMPLE = 'litecomplete complete --model autocomplete.tflite "I\'m enjoying a"'

# Where the sampling options' defaults live.
SAMPLING = "litecomplete.runtime.sampling:SamplingConfig."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("prompt", help="text to complete; - reads it from standard input")
    p.add_argument(
        "--model",
        default=None,
        help=".tflite file, or a .litertlm bundle run by LiteRT-LM (default: the default model)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="interpreter threads (default: 2 for fast, TensorFlow's for app)",
    )
    option_from(
        p,
        "--max-new-tokens",
        "litecomplete.runtime.generation:GenerationConfig.max_new_tokens",
        "fast: tokens to generate at most",
        type=int,
    )
    option_from(p, "--temperature", SAMPLING + "temperature", "fast: 0 = greedy", type=float)
    option_from(p, "--top-k", SAMPLING + "top_k", "fast: 0 = off", type=int)
    option_from(p, "--top-p", SAMPLING + "top_p", "fast: in (0, 1]", type=float)
    option_from(
        p, "--repetition-penalty", SAMPLING + "repetition_penalty", "fast: 1 = off", type=float
    )
    p.add_argument("--seed", type=int, default=None, help="fast: sampler seed")
    p.add_argument(
        "--stop",
        action="append",
        default=None,
        help="fast: stop string (repeatable); the completion ends before it",
    )
    p.add_argument("-n", type=int, default=1, help="fast: alternative completions (default 1)")
    p.add_argument(
        "--speculative",
        default=None,
        help="fast: auto (default), off, lookup or draft:FILE.tflite; drafts checked many "
        "tokens per call, the output unchanged",
    )
    p.add_argument(
        "--heal",
        action="store_const",
        const=True,
        default=None,
        help="fast: the prompt may end inside a word; the completion finishes that word "
        'first ("The wea" -> "ther is")',
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _read_prompt(args: argparse.Namespace) -> str | bytes:
    if args.prompt == "-":
        return sys.stdin.buffer.read()
    return str(args.prompt)


GENERATION_OPTIONS = (
    "max_new_tokens",
    "temperature",
    "top_k",
    "top_p",
    "repetition_penalty",
    "seed",
    "stop",
    "speculative",
    "heal",
)


def _generation_config(args: argparse.Namespace) -> Any:
    from litecomplete.runtime import GenerationConfig, SamplingConfig
    from litecomplete.runtime.speculative import Speculation

    sampling = given(args, "temperature", "top_k", "top_p", "repetition_penalty", "seed")
    speculation = Speculation.parse(args.speculative) if args.speculative else Speculation()
    return GenerationConfig(
        sampling=SamplingConfig(**sampling),
        stop=tuple(args.stop or ()),
        speculation=speculation,
        **given(args, "max_new_tokens", "heal"),
    )


def run(args: argparse.Namespace) -> int:
    from litecomplete.errors import ConfigError
    from litecomplete.native_output import captured_native_stderr
    from litecomplete.runtime import AppModel, LitertLmModel, load_model, validate_prompt

    prompt = _read_prompt(args)
    validate_prompt(prompt)
    text = prompt.decode("utf-8") if isinstance(prompt, bytes) else prompt
    with captured_native_stderr() as (stderr, _):
        if args.model is None:
            from litecomplete.default_model import ensure_default_model
            from litecomplete.progress import stage_progress

            with stage_progress("prepare default model", 5, stream=stderr) as bar:
                model_path = ensure_default_model(on_stage=bar)
        else:
            model_path = Path(args.model)
        model = load_model(model_path, num_threads=args.threads)
        if isinstance(model, AppModel):
            given = [
                f"--{o.replace('_', '-')}"
                for o in GENERATION_OPTIONS
                if getattr(args, o) not in (None, [])
            ]
            if given or args.n != 1:
                raise ConfigError(
                    f"{model_path} is an app-format model, whose generation settings are "
                    f"fixed at conversion; drop {', '.join(given or ['-n'])} or use a "
                    "fast-format model"
                )
            start = time.perf_counter()
            completions = [model.complete(prompt)]
            latency_ms = (time.perf_counter() - start) * 1000
    if isinstance(model, LitertLmModel):
        if args.n != 1:
            raise ConfigError("LiteRT-LM writes one completion per prompt; drop -n")
        if args.speculative is not None:
            raise ConfigError("LiteRT-LM runs its own decoding; drop --speculative")
        config = _generation_config(args)
        start = time.perf_counter()
        completions = [""]
        for text_piece in model.stream(prompt, config):
            if not args.json:
                print(text_piece, end="", flush=True)
            completions[0] += text_piece
        latency_ms = (time.perf_counter() - start) * 1000
        if not args.json:
            print()
            return 0
    elif not isinstance(model, AppModel):
        config = _generation_config(args)
        start = time.perf_counter()
        if args.json or args.n > 1:
            results = model.complete_n(prompt, args.n, config)
            completions = [r.text for r in results]
        else:  # stream to the terminal as it is written
            completions = [""]
            for piece in model.stream(prompt, config):
                print(piece.text, end="", flush=True)
                completions[0] += piece.text
            print()
        latency_ms = (time.perf_counter() - start) * 1000
        if not args.json and args.n == 1:
            return 0
    if args.json:
        emit_json(
            {
                "model": str(model_path),
                "prompt": text,
                "completion": completions[0],
                "completions": completions,
                "latency_ms": latency_ms,
            }
        )
    else:
        for i, completion in enumerate(completions):
            if len(completions) > 1:
                print(f"--- {i + 1}")
            print(completion)
    return 0
