"""Check `litecomplete eval` against llama.cpp's perplexity tool on the same weights.

Writes SmolLM2's weights (dequantized from the embedded GGUF, as every litecomplete
format uses them) as an F32 GGUF and as a float32 fast-format file, then scores the
packaged evaluation text with both:

  llama-perplexity -m smollm2-f32.gguf -f eval.txt -c C --chunks N -t 2
  litecomplete eval --model smollm2-fast-none.tflite --text eval.txt
                    --context C --stride C --min-context C/2+1 --max-tokens N*C

(llama-perplexity splits the text into chunks of C tokens and scores the second half
of each; the eval options select the same tokens.) Prints both perplexities and both
commands' wall times (load included). Needs .venv/bin/llama-perplexity from
scripts/install-llamacpp.sh. Usage:

  python scripts/perplexity_vs_llamacpp.py [--context 256] [--chunks 24] [--work DIR]
      [--gguf FILE] [--fast-model FILE]

--gguf and --fast-model score existing files instead (e.g. llama.cpp's Q8_0 against
the default model, to compare the tools' times on the same text).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--context", type=int, default=256)
    parser.add_argument("--chunks", type=int, default=24)
    parser.add_argument("--work", default=None, help="keep the files here")
    parser.add_argument("--fast-model", default=None, help="an existing fast-format file")
    parser.add_argument("--gguf", default=None, help="an existing GGUF file")
    args = parser.parse_args()
    tool = ROOT / ".venv/bin/llama-perplexity"
    if not tool.is_file():
        sys.exit(f"{tool} is missing; run scripts/install-llamacpp.sh first")

    from litecomplete.eval.text import default_eval_text

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        text = work / "eval.txt"
        text.write_text(default_eval_text(), "utf-8")
        gguf = Path(args.gguf) if args.gguf else work / "smollm2-f32.gguf"
        if not gguf.is_file():
            cmd = ["export-gguf", "--model", "smollm2", "--type", "f32", "--out", str(gguf)]
            subprocess.run([PYTHON, "-m", "litecomplete", *cmd], check=True)
        fast = Path(args.fast_model) if args.fast_model else work / "smollm2-fast-none.tflite"
        if not fast.is_file():
            cmd = ["convert", "--model", "smollm2", "--format", "fast", "--out", str(fast)]
            cmd += ["--max-length", str(args.context)]
            subprocess.run([PYTHON, "-m", "litecomplete", *cmd], check=True)

        c = args.context
        began = time.perf_counter()
        theirs = subprocess.run(
            [str(tool), "-m", str(gguf), "-f", str(text), "-c", str(c)]
            + ["--chunks", str(args.chunks), "-t", "2", "-b", str(c)],
            capture_output=True,
            text=True,
            check=True,
        )
        match = re.search(
            r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", theirs.stderr + theirs.stdout
        )
        if not match:
            sys.exit("llama-perplexity printed no final estimate:\n" + theirs.stderr[-2000:])
        llama_ppl, llama_err = float(match.group(1)), float(match.group(2))
        llama_seconds = time.perf_counter() - began

        began = time.perf_counter()
        ours = subprocess.run(
            [PYTHON, "-m", "litecomplete", "eval", "--model", str(fast), "--text", str(text)]
            + ["--context", str(c), "--stride", str(c), "--min-context", str(c // 2 + 1)]
            + ["--max-tokens", str(args.chunks * c), "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        our_seconds = time.perf_counter() - began
        result = json.loads(ours.stdout)
        print(
            f"llama.cpp    PPL {llama_ppl:.4f} +/- {llama_err:.4f}  ({args.chunks} chunks of {c}; "
            f"{gguf.name}, {llama_seconds:.1f} s)"
        )
        print(
            f"litecomplete PPL {result['perplexity']:.4f}  ({result['tokens']} tokens scored; "
            f"{fast.name}, {our_seconds:.1f} s)"
        )
        ratio = result["perplexity"] / llama_ppl
        print(f"ratio        PPL {ratio:.4f}, time {our_seconds / llama_seconds:.2f}x")


if __name__ == "__main__":
    main()
