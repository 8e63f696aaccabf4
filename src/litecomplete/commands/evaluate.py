"""``litecomplete eval``: perplexity of a fast-format model, and its distance from a reference."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from litecomplete.commands.common import emit_json, option_from, threads

NAME = "eval"
HELP = (
    "Measure a fast-format model's perplexity on a text; with --ref, also KL divergence, "
    "top-1 agreement and greedy-continuation match against a reference model."
)
EXAMPLE = "litecomplete eval --model model-int8.tflite --ref model-none.tflite --max-tokens 2048"

THREADS = "litecomplete.runtime.fast_model:DEFAULT_THREADS"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="fast-format .tflite file to score")
    p.add_argument(
        "--text", default=None, help="UTF-8 text file (default: the packaged Jargon File prose)"
    )
    p.add_argument("--ref", default=None, help="reference fast-format model (same tokenizer)")
    p.add_argument(
        "--context", type=int, default=None, help="tokens per window (default: model max length)"
    )
    p.add_argument(
        "--stride", type=int, default=None, help="tokens a window moves by (default: half)"
    )
    p.add_argument("--max-tokens", type=int, default=None, help="score at most this many tokens")
    p.add_argument(
        "--min-context",
        type=int,
        default=None,
        help="score only tokens with this many before them in their window "
        "(llama.cpp's perplexity tool: --stride = --context, --min-context = context/2+1)",
    )
    option_from(p, "--threads", THREADS, "interpreter threads", type=int)
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from litecomplete.eval import EvalConfig, evaluate
    from litecomplete.eval.text import read_eval_text
    from litecomplete.progress import count_progress
    from litecomplete.runtime.model_files import load_fast_model

    config = EvalConfig(
        context=args.context,
        stride=args.stride,
        max_tokens=args.max_tokens,
        min_context=args.min_context,
    )
    text, text_name = read_eval_text(args.text)
    model = load_fast_model(Path(args.model), threads(args), role="--model")
    ref = load_fast_model(Path(args.ref), threads(args), role="--ref") if args.ref else None
    with count_progress("eval", "tokens") as update:
        result = evaluate(model, text, config, ref=ref, on_progress=update)
    if args.json:
        emit_json({"model": args.model, "ref": args.ref, "text": text_name, **asdict(result)})
        return 0
    print(f"model        {args.model}")
    print(f"text         {text_name}: {result.tokens} tokens scored")
    print(f"context      {result.context} tokens, stride {result.stride}")
    print(f"perplexity   {result.perplexity:.4f}")
    cmp = result.comparison
    if cmp is not None:
        print(f"reference    {args.ref}: perplexity {cmp.ref_perplexity:.4f}")
        print(f"PPL ratio    {cmp.ppl_ratio:.4f}")
        print(f"KLD          mean {cmp.kld_mean:.5f}  p99 {cmp.kld_p99:.5f}  max {cmp.kld_max:.5f}")
        print(f"top-1        {cmp.top1_agreement:.2%} agreement")
        print(
            f"greedy       {cmp.greedy_identical:.0%} of continuations identical, "
            f"{cmp.greedy_common_prefix:.1f} tokens in common on average"
        )
    print(f"time         {result.seconds:.1f} s")
    return 0
