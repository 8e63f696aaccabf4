"""Command line: a thin shell over the library. ``litecomplete --help`` lists the commands."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from litecomplete.errors import LitecompleteError, ModelFileError

EXAMPLES = {
    "convert": "litecomplete convert --model tiny --format app --quant dynamic "
    "--max-length 100 --out autocomplete.tflite",
    "complete": 'litecomplete complete --model autocomplete.tflite "I\'m enjoying a"',
    "inspect": "litecomplete inspect autocomplete.tflite",
    "export-gguf": "litecomplete export-gguf --model gpt2-124m --type q8_0 --out gpt2.gguf",
    "bench": "litecomplete bench --model fast.tflite --threads 1,2 --vs-llamacpp model.gguf",
}


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def _emit_json(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, indent=2, sort_keys=True, default=str))


# ---------------------------------------------------------------- convert


def _export_config(args: argparse.Namespace) -> Any:
    from litecomplete.contract import ModelFormat
    from litecomplete.convert import ExportConfig, Sampler
    from litecomplete.convert.fast_export import DEFAULT_BUCKETS, FastExportConfig
    from litecomplete.errors import ConfigError
    from litecomplete.quantize import QuantMode

    fmt = ModelFormat.parse(args.format)
    quant = QuantMode.parse(args.quant)
    if fmt is ModelFormat.APP:
        return ExportConfig(
            max_length=args.max_length or 100,
            context_length=args.context_length,
            sampler=Sampler.parse(args.sampler),
            top_k=args.top_k,
            temperature=args.temperature,
            quant=quant,
            calibration_samples=args.calibration_samples,
        )
    try:
        buckets = (
            tuple(int(b) for b in args.buckets.split(",")) if args.buckets else DEFAULT_BUCKETS
        )
    except ValueError:
        raise ConfigError(
            f"--buckets must be comma-separated lengths, got {args.buckets!r}"
        ) from None
    return FastExportConfig(
        max_length=args.max_length or 256,
        buckets=buckets,
        quant=quant,
        calibration_samples=args.calibration_samples,
    )


def cmd_convert(args: argparse.Namespace) -> int:
    from litecomplete.convert.app_export import convert_app_model
    from litecomplete.convert.fast_export import FastExportConfig, convert_fast_model
    from litecomplete.convert.output import check_output_path
    from litecomplete.errors import ConversionError
    from litecomplete.models import load_causal_lm
    from litecomplete.native_output import captured_native_stderr
    from litecomplete.progress import stage_progress

    config = _export_config(args)
    out = Path(args.out)
    check_output_path(out)  # before minutes of work, not after
    with (
        captured_native_stderr() as (stderr, log_path),
        stage_progress(f"convert {args.model}", 5, stream=stderr) as bar,
    ):
        bar("load model")
        causal_lm = load_causal_lm(args.model, args.sequence_length, seed=args.seed)
        try:
            if isinstance(config, FastExportConfig):
                result = convert_fast_model(causal_lm, config, out, on_stage=bar)
            else:
                result = convert_app_model(causal_lm, config, out, on_stage=bar)
        except ConversionError as e:
            raise ConversionError(f"{e}; the converter's full log is in {log_path}") from e
    fmt = "fast" if isinstance(config, FastExportConfig) else "app"
    if args.json:
        _emit_json(
            {
                "path": str(result.path),
                "format": fmt,
                "quantization": result.quant.value,
                "size_bytes": result.size_bytes,
                "seconds": result.seconds,
                "peak_rss_bytes": result.peak_rss_bytes,
                "op_set": result.info.op_set,
                "float_fallback_ops": result.float_fallback_ops,
            }
        )
        return 0
    print(f"wrote {result.path} ({fmt} format)")
    print(f"  size         {_mib(result.size_bytes)} ({result.size_bytes} bytes)")
    print(f"  time         {result.seconds:.1f} s")
    print(f"  peak memory  {_mib(result.peak_rss_bytes)}")
    print(f"  ops          {result.info.op_set}")
    if result.float_fallback_ops:
        ops = ", ".join(f"{k} x{v}" for k, v in sorted(result.float_fallback_ops.items()))
        print(f"  left in float (no integer kernel or not quantizable): {ops}")
    return 0


# ---------------------------------------------------------------- complete


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
)


def _generation_config(args: argparse.Namespace) -> Any:
    from litecomplete.runtime import GenerationConfig, SamplingConfig

    return GenerationConfig(
        max_new_tokens=args.max_new_tokens if args.max_new_tokens is not None else 32,
        sampling=SamplingConfig(
            temperature=args.temperature if args.temperature is not None else 0.0,
            top_k=args.top_k if args.top_k is not None else 0,
            top_p=args.top_p if args.top_p is not None else 1.0,
            repetition_penalty=(
                args.repetition_penalty if args.repetition_penalty is not None else 1.0
            ),
            seed=args.seed,
        ),
        stop=tuple(args.stop or ()),
    )


def cmd_complete(args: argparse.Namespace) -> int:
    from litecomplete.errors import ConfigError
    from litecomplete.native_output import captured_native_stderr
    from litecomplete.runtime import AppModel, load_model, validate_prompt

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
    if not isinstance(model, AppModel):
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
        _emit_json(
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


# ---------------------------------------------------------------- inspect


def cmd_inspect(args: argparse.Namespace) -> int:
    from litecomplete.inspect import check_contract, read_model_info
    from litecomplete.inspect.contracts import contract_problems

    path = Path(args.file)
    info = read_model_info(path)
    contract = check_contract(info)
    if args.json:
        _emit_json(
            {
                "path": str(path),
                "size_bytes": info.size_bytes,
                "contract": contract.value if contract else None,
                "op_set": info.op_set,
                "quantization": info.quantization,
                "signatures": {
                    k: {
                        "inputs": {n: [t.dtype, list(t.shape)] for n, t in s.inputs.items()},
                        "outputs": {n: [t.dtype, list(t.shape)] for n, t in s.outputs.items()},
                    }
                    for k, s in info.signatures.items()
                },
                "builtin_ops": dict(info.builtin_ops),
                "flex_ops": dict(info.flex_ops),
                "custom_ops": dict(info.custom_ops),
                "weight_bytes_by_dtype": dict(info.weight_bytes_by_dtype),
                "manifest": info.manifest,
            }
        )
    else:
        print(f"file          {path}")
        print(f"size          {_mib(info.size_bytes)} ({info.size_bytes} bytes)")
        print(f"contract      {contract.value if contract else 'none'}")
        print(f"op set        {info.op_set}")
        print(f"quantization  {info.quantization}")
        weights = ", ".join(f"{k} {_mib(v)}" for k, v in info.weight_bytes_by_dtype.most_common())
        print(f"weights       {weights or 'none'}")
        for key, sig in info.signatures.items():
            print(f"signature     {key}")
            for name, t in sig.inputs.items():
                print(f"  input       {name}: {t.dtype}{list(t.shape)}")
            for name, t in sig.outputs.items():
                print(f"  output      {name}: {t.dtype}{list(t.shape)}")
        print(f"builtin ops   {', '.join(sorted(info.builtin_ops)) or 'none'}")
        if info.flex_ops:
            print(f"flex ops      {', '.join(sorted(info.flex_ops))}")
        if info.custom_ops:
            print(f"custom ops    {', '.join(sorted(info.custom_ops))}")
        if info.manifest:
            print(f"manifest      {json.dumps(info.manifest, sort_keys=True)}")
    if contract is None:
        raise ModelFileError(f"{path} fits no known contract: {contract_problems(info)}")
    return 0


# ---------------------------------------------------------------- bench


def _bench_fast(args: argparse.Namespace, models: list[Path]) -> int:
    from dataclasses import asdict

    from litecomplete.bench.fast_bench import (
        FastBenchConfig,
        bench_in_subprocess,
        format_fast_report,
        pair_ratios,
        runner_copy_decode_tokens_per_s,
    )
    from litecomplete.errors import ConfigError
    from litecomplete.inspect import read_model_info

    try:
        threads = [int(t) for t in str(args.threads or "2").split(",")]
    except ValueError:
        raise ConfigError(f"--threads takes numbers like 2 or 1,2, got {args.threads!r}") from None
    max_length = int(read_model_info(models[0]).manifest["max_length"])
    rows = []
    for n in threads:
        config = FastBenchConfig(
            threads=n, repetitions=args.repetitions, decode_tokens=args.decode_tokens
        )
        for model in models:
            rows.append(bench_in_subprocess("litecomplete", model, config, max_length))
        for gguf in args.vs_llamacpp or []:
            rows.append(bench_in_subprocess("llama.cpp", Path(gguf), config, max_length))
    ratios = pair_ratios(rows)
    runner_copy = {}
    if args.runner_copy:  # the design the in-place caches replace, for comparison
        for n in threads:
            for model in models:
                runner_copy[f"{model} threads={n}"] = runner_copy_decode_tokens_per_s(model, n)
    if args.json:
        _emit_json(
            {
                "results": [r.to_dict() for r in rows],
                "ratios": [asdict(r) for r in ratios],
                "runner_copy_decode_tokens_per_s": {k: asdict(v) for k, v in runner_copy.items()},
            }
        )
        return 0
    print(format_fast_report(rows, ratios, runner_copy))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from litecomplete.bench.app_bench import BenchConfig, bench_app_model
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
    if len(models) > 1 or args.vs_llamacpp:
        raise ConfigError("bench compares fast-format files only; give one app-format file")
    config = BenchConfig(
        prompt=args.prompt,
        repetitions=args.repetitions,
        warmup=args.warmup,
        num_threads=int(args.threads) if args.threads else None,
    )
    with captured_native_stderr():
        result = bench_app_model(models[0], config)
    if args.json:
        _emit_json(result.to_dict())
        return 0
    m = result.machine
    print(f"model        {result.model} ({_mib(result.size_bytes)}, {result.quantization})")
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
    print(f"peak RSS     {_mib(result.peak_rss_bytes)}")
    return 0


# ---------------------------------------------------------------- export-gguf


def cmd_export_gguf(args: argparse.Namespace) -> int:
    from litecomplete.convert.fast_export import decoder_weights
    from litecomplete.convert.gguf_export import GgufType, write_gpt2_gguf
    from litecomplete.convert.output import check_output_path
    from litecomplete.models import load_causal_lm
    from litecomplete.native_output import captured_native_stderr
    from litecomplete.progress import stage_progress

    kind = GgufType.parse(args.type)
    out = Path(args.out)
    check_output_path(out)
    with (
        captured_native_stderr() as (stderr, _),
        stage_progress(f"export {args.model}", 2, stream=stderr) as bar,
    ):
        bar("load model")
        causal_lm = load_causal_lm(args.model, seed=args.seed)
        bar(f"write GGUF ({kind.value})")
        write_gpt2_gguf(decoder_weights(causal_lm), causal_lm.preprocessor.tokenizer, out, kind)
    print(f"wrote {out} ({_mib(out.stat().st_size)}, {kind.value})")
    return 0


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="litecomplete",
        description="On-device LLM autocomplete: convert, quantize, inspect, run and benchmark "
        "TFLite language models.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, func: Callable[[argparse.Namespace], int]) -> Any:
        p = sub.add_parser(
            name,
            help=help_text,
            description=f"{help_text}\n\nexample:\n  {EXAMPLES[name]}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(func=func)
        return p

    p = add("convert", "Convert a GPT-2 model to a .tflite file.", cmd_convert)
    p.add_argument(
        "--model",
        required=True,
        help="built-in config (tiny, gpt2-124m), KerasHub preset directory, "
        "or KerasHub preset name (gpt2_base_en; needs network)",
    )
    p.add_argument(
        "--format",
        default="app",
        help="app (the guide's single graph, default) or fast (prefill/decode, "
        "builtins only, runs without TensorFlow)",
    )
    p.add_argument(
        "--quant", default="none", help="quantization: none, dynamic, float16, int8 (default none)"
    )
    p.add_argument(
        "--max-length",
        type=int,
        default=None,
        help="total tokens, prompt plus completion (default 100 for app; "
        "256 for fast, where it is the KV-cache length)",
    )
    p.add_argument(
        "--buckets", default=None, help="fast: prefill lengths, comma-separated (default 16,64,256)"
    )
    p.add_argument(
        "--context-length",
        type=int,
        default=None,
        help="app: prompt tokens kept, newest first (default: half of --max-length)",
    )
    p.add_argument("--sampler", default="top_k", help="app: greedy or top_k (default top_k)")
    p.add_argument("--top-k", type=int, default=5, help="app: candidates for top_k (default 5)")
    p.add_argument(
        "--temperature", type=float, default=1.0, help="app: top_k temperature (default 1)"
    )
    p.add_argument(
        "--sequence-length", type=int, default=256, help="preprocessor packing length (default 256)"
    )
    p.add_argument(
        "--calibration-samples",
        type=int,
        default=16,
        help="passages of real text for int8 calibration (default 16)",
    )
    p.add_argument("--seed", type=int, default=0, help="weight seed for built-in configs")
    p.add_argument("--out", required=True, help="output .tflite path (written atomically)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = add(
        "complete", "Complete a prompt with a .tflite model (app or fast format).", cmd_complete
    )
    p.add_argument("prompt", help="text to complete; - reads it from standard input")
    p.add_argument("--model", default=None, help=".tflite file (default: the default model)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="interpreter threads (default: 2 for fast, TensorFlow's for app)",
    )
    p.add_argument("--max-new-tokens", type=int, default=None, help="fast: default 32")
    p.add_argument("--temperature", type=float, default=None, help="fast: 0 = greedy (default)")
    p.add_argument("--top-k", type=int, default=None, help="fast: 0 = off (default)")
    p.add_argument("--top-p", type=float, default=None, help="fast: in (0, 1], default 1")
    p.add_argument("--repetition-penalty", type=float, default=None, help="fast: default 1")
    p.add_argument("--seed", type=int, default=None, help="fast: sampler seed")
    p.add_argument(
        "--stop",
        action="append",
        default=None,
        help="fast: stop string (repeatable); the completion ends before it",
    )
    p.add_argument("-n", type=int, default=1, help="fast: alternative completions (default 1)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = add("inspect", "Show what a .tflite file holds and which contract it fits.", cmd_inspect)
    p.add_argument("file", help=".tflite file")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = add(
        "export-gguf",
        "Write a GPT-2 model's weights as GGUF, for llama.cpp on the same weights.",
        cmd_export_gguf,
    )
    p.add_argument("--model", required=True, help="built-in config, preset directory or name")
    p.add_argument("--type", default="f32", help="tensor type: f32 (default), f16, q8_0")
    p.add_argument("--seed", type=int, default=0, help="weight seed for built-in configs")
    p.add_argument("--out", required=True, help="output .gguf path (written atomically)")

    p = add(
        "bench",
        "Benchmark models: whole completions (app format), or prefill, decode and typing "
        "latency (fast format), optionally against llama.cpp on the same weights.",
        cmd_bench,
    )
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
        "--threads", default=None, help="threads; fast takes a list such as 1,2 (default 2)"
    )
    p.add_argument("--repetitions", type=int, default=5, help="timed runs (default 5)")
    p.add_argument(
        "--decode-tokens", type=int, default=64, help="fast: tokens per decode run (default 64)"
    )
    p.add_argument(
        "--runner-copy",
        action="store_true",
        help="fast: also time decode with the caches copied through ai-edge-litert's "
        "SignatureRunner on every step (the design the runtime avoids)",
    )
    p.add_argument("--prompt", default="I'm enjoying a", help="app: prompt to complete")
    p.add_argument("--warmup", type=int, default=1, help="app: untimed runs first (default 1)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except LitecompleteError as e:
        print(f"litecomplete {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        written = "; nothing was written" if args.command == "convert" else ""
        print(f"litecomplete {args.command}: interrupted{written}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
