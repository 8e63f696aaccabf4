"""``litecomplete import-gguf``: a Llama or Gemma 3 GGUF file as a KerasHub preset directory."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "import-gguf"
HELP = "Import a Llama or Gemma 3 GGUF file (e.g. SmolLM2) as a KerasHub preset directory."
EXAMPLE = (
    "litecomplete import-gguf smollm2 --out smollm2-preset && "
    "litecomplete convert --model smollm2-preset --format app --out smollm2-app.tflite"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "gguf",
        metavar="FILE.gguf",
        help="a Llama or Gemma 3 GGUF file, smollm2 (the embedded one) or gemma3 (from PyPI)",
    )
    p.add_argument(
        "--out", required=True, help="new preset directory (written whole or not at all)"
    )


def run(args: argparse.Namespace) -> int:
    from litecomplete.models.embedded import gguf_model_path
    from litecomplete.models.gguf.importer import import_gguf
    from litecomplete.native_output import captured_native_stderr
    from litecomplete.progress import stage_progress

    gguf = gguf_model_path(args.gguf) or Path(args.gguf)  # read_gguf names what is wrong
    with (
        captured_native_stderr() as (stderr, _),
        stage_progress(f"import {gguf.name}", 1, stream=stderr) as bar,
    ):
        bar("dequantize, map onto KerasHub Llama, save preset")
        out = import_gguf(gguf, args.out)
    print(f"wrote KerasHub preset {out}")
    print(f"  load it with keras_hub.models.CausalLM.from_preset({str(out)!r}) after")
    print("  `import litecomplete.models.llama.tokenizer`, or use --model " + str(out))
    return 0
