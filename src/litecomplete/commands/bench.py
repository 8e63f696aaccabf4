"""``litecomplete bench``: benchmarks that print numbers (fast format against llama.cpp)."""

from __future__ import annotations

import argparse
from pathlib import Path

from litecomplete.commands.common import emit_json, given, mib, option_from
from litecomplete.errors import ModelFileError

NAME = "bench"
HELP = (
    "Benchmark models: whole completions (app format), or prefill, decode and typing "
    "latency (fast format), optionally against llama.cpp and LiteRT-LM on the same weights."
)
EXAMPLE = (
    "litecomplete bench --model fast.tflite --threads 1,2 --vs-llamacpp model.gguf "
    "--vs-litertlm model.litertlm"
)

FAST = "litecomplete.bench.fast_bench:FastBenchConfig."  # where the defaults of its options live
APP = "litecomplete.bench.app_bench:AppBenchConfig."  # where the defaults of its options live


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        required=True,
        action="append",
        help=".tflite file; repeat to compare several fast-format files",
    )
    p.add_argument(
        "--vs-llamacpp",
        action="append",
        default=None,
        metavar="GGUF",
        help="fast: also run llama.cpp on this GGUF (repeatable; needs the "
        "llamacpp extra); ratios pair the n-th model with the n-th GGUF",
    )
    p.add_argument(
        "--vs-litertlm",
        action="append",
        default=None,
        metavar="LITERTLM",
        help="fast: also run LiteRT-LM's engine on this bundle (repeatable; convert one "
        "with --format litertlm); ratios pair the n-th model with the n-th bundle",
    )
    option_from(p, "--threads", FAST + "threads", "threads; fast takes a list such as 1,2")
    option_from(p, "--repetitions", FAST + "repetitions", "timed runs", type=int)
    option_from(p, "--decode-tokens", FAST + "decode_tokens", "fast: tokens a decode run", type=int)
    option_from(
        p,
        "--sessions",
        FAST + "sessions",
        "fast: typing sessions per text (prose and code), each typing 8 tokens with a "
        "greedy suggestion after each; ours with speculative decoding off and auto",
        type=int,
    )
    option_from(
        p,
        "--look-ahead",
        FAST + "look_ahead",
        "fast: with --sessions, ours also with look-ahead: between keystrokes, the "
        "suggestions of this many likeliest other next tokens are made (0: not run)",
        type=int,
    )
    p.add_argument(
        "--runner-copy",
        action="store_true",
        help="fast: also time decode with the caches copied through ai-edge-litert's "
        "SignatureRunner on every step (the design the runtime avoids)",
    )
    option_from(p, "--prompt", APP + "prompt", "app: prompt to complete")
    option_from(p, "--warmup", APP + "warmup", "app: untimed runs first", type=int)
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _bench_fast(args: argparse.Namespace, models: list[Path]) -> int:
    from dataclasses import asdict

    from litecomplete.bench.fast_bench import FastBenchConfig, bench_in_subprocess
    from litecomplete.bench.fast_report import (
        format_fast_report,
        pair_ratios,
        runner_copy_decode_tokens_per_s,
    )
    from litecomplete.errors import ConfigError
    from litecomplete.inspect import read_model_info

    try:
        threads = [int(t) for t in (args.threads or str(FastBenchConfig().threads)).split(",")]
    except ValueError:
        raise ConfigError(f"--threads takes numbers like 2 or 1,2, got {args.threads!r}") from None
    max_length = int(read_model_info(models[0]).manifest["max_length"])
    rows = []
    for n in threads:
        options = given(args, "repetitions", "decode_tokens", "sessions", "look_ahead")
        config = FastBenchConfig(threads=n, **options)
        for model in models:
            rows.append(bench_in_subprocess("litecomplete", model, config, max_length))
        for gguf in args.vs_llamacpp or []:
            rows.append(bench_in_subprocess("llama.cpp", Path(gguf), config, max_length))
        for bundle in args.vs_litertlm or []:
            rows.append(bench_in_subprocess("litertlm", Path(bundle), config, max_length))
    ratios = pair_ratios(rows)
    runner_copy = {}
    if args.runner_copy:  # the design the in-place caches replace, for comparison
        for n in threads:
            for model in models:
                runner_copy[f"{model} threads={n}"] = runner_copy_decode_tokens_per_s(model, n)
    if args.json:
        emit_json(
            {
                "results": [r.to_dict() for r in rows],
                "ratios": [asdict(r) for r in ratios],
                "runner_copy_decode_tokens_per_s": {k: asdict(v) for k, v in runner_copy.items()},
            }
        )
        return 0
    print(format_fast_report(rows, ratios, runner_copy))
    return 0


def _app_threads(value: str | None) -> int | None:
    from litecomplete.errors import ConfigError

    if value is None:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"--threads for an app-format file is one number, got {value!r}")
    return int(value)


def run(args: argparse.Namespace) -> int:
    from litecomplete.bench.app_bench import AppBenchConfig, bench_app_model
    from litecomplete.contract import ModelFormat
    from litecomplete.errors import ConfigError
    from litecomplete.inspect import check_contract, read_model_info
    from litecomplete.native_output import captured_native_stderr

    models = [Path(m) for m in args.model]
    formats = {check_contract(read_model_info(m)) for m in models}
    if None in formats:
        raise ModelFileError("bench takes app- or fast-format files; see `litecomplete inspect`")
    if formats == {ModelFormat.FAST}:
        return _bench_fast(args, models)
    if len(models) > 1 or args.vs_llamacpp or args.vs_litertlm:
        raise ConfigError("bench compares fast-format files only; give one app-format file")
    config = AppBenchConfig(
        num_threads=_app_threads(args.threads), **given(args, "prompt", "repetitions", "warmup")
    )
    with captured_native_stderr():
        result = bench_app_model(models[0], config)
    if args.json:
        emit_json(result.to_dict())
        return 0
    m = result.machine
    print(f"model        {result.model} ({mib(result.size_bytes)}, {result.quantization})")
    print(
        f"machine      {m['cpu']}, {m['cores']} cores, python {m['python']}, "
        f"tensorflow {m['tensorflow']}, litecomplete {m['litecomplete']}"
    )
    print(f"threads      {result.threads or 'default'}")
    print(f"load         {result.load_s:.2f} s")
    print(
        f"completion   {result.median_s:.3f} s median +- {result.spread_s:.3f} s "
        f"over {len(result.wall_s)} runs (max length {result.max_length})"
    )
    if result.new_tokens is not None and result.tokens_per_s is not None:
        print(f"new tokens   {result.new_tokens} ({result.tokens_per_s:.1f} tokens/s)")
    print(f"peak RSS     {mib(result.peak_rss_bytes)}")
    return 0
