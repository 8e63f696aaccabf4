"""``litecomplete export-gguf``: GPT-2, Llama or Gemma 3 weights as GGUF, for llama.cpp."""

from __future__ import annotations

import argparse
from pathlib import Path

from litecomplete.commands.common import emit_json, mib

NAME = "export-gguf"
HELP = "Write a GPT-2, Llama or Gemma 3 model's weights as GGUF, for llama.cpp on the same weights."
EXAMPLE = "litecomplete export-gguf --model gpt2-124m --type q8_0 --out gpt2.gguf"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model", required=True, help="built-in config, preset directory or name, or a GGUF"
    )
    p.add_argument("--type", default="f32", help="tensor type: f32 (default), f16, q8_0")
    p.add_argument("--seed", type=int, default=0, help="weight seed for built-in configs")
    p.add_argument("--out", required=True, help="output .gguf path (written atomically)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from litecomplete.convert.output import check_output_path
    from litecomplete.models import load_causal_lm
    from litecomplete.models.gguf.export import write_gguf
    from litecomplete.models.gguf.writer import GgufType
    from litecomplete.models.registry import decoder_weights
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
        preprocessor = causal_lm.preprocessor
        write_gguf(
            decoder_weights(causal_lm),
            preprocessor.tokenizer,
            out,
            kind,
            add_bos=preprocessor.add_start_token,
        )
    if args.json:
        from litecomplete.resources import peak_rss_bytes

        payload = {"path": str(out), "size_bytes": out.stat().st_size, "type": kind.value}
        emit_json({**payload, "peak_rss_bytes": peak_rss_bytes()})
        return 0
    print(f"wrote {out} ({mib(out.stat().st_size)}, {kind.value})")
    return 0
