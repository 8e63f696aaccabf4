"""``litecomplete report``: every quantization mode of one model, measured and written up."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from litecomplete.commands.common import comma_list, emit_json, given, option_from
from litecomplete.errors import ConfigError

NAME = "report"
HELP = (
    "Convert a model into every quantization mode and measure each (size, perplexity, "
    "KL divergence and top-1 against float32, prefill and decode speed, memory); "
    "writes report.md, report.json and PNG plots."
)
EXAMPLE = "litecomplete report --model default --out docs/reports/smollm2"

REPORT = "litecomplete.report.run:ReportConfig."  # where the defaults of its options live


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        default="default",
        help="default (embedded SmolLM2), a built-in such as gpt2-124m, gemma3, a preset "
        "directory or a GGUF file (default: default)",
    )
    p.add_argument("--out", required=True, help="directory for report.md, report.json, plots")
    p.add_argument(
        "--modes",
        default=None,
        help="comma-separated modes, none first (default: none,float16,dynamic,int8,int8w,int4)",
    )
    option_from(p, "--max-length", REPORT + "max_length", "KV-cache length", type=int)
    option_from(p, "--eval-tokens", REPORT + "eval_tokens", "tokens scored per mode", type=int)
    option_from(p, "--context", REPORT + "context", "evaluation window", type=int)
    option_from(
        p,
        "--auto-kld",
        "litecomplete.report.run:AUTO_KLDS",
        "a row of --quant auto per budget, comma-separated, or none",
    )
    p.add_argument("--text", default=None, help="evaluation text (default: packaged Jargon File)")
    option_from(p, "--threads", REPORT + "threads", "threads", type=int)
    option_from(p, "--repetitions", REPORT + "repetitions", "benchmark runs", type=int)
    p.add_argument(
        "--models-dir", default=None, help="keep the converted models here (default: deleted)"
    )
    p.add_argument(
        "--llamacpp",
        choices=("auto", "on", "off"),
        default="auto",
        help="llama.cpp's rows (F32, Q8_0, Q4_0, Q4_K_M of the same weights); auto: when "
        "llama-cpp-python is installed (default auto)",
    )
    p.add_argument("--notes", default=None, help="markdown file added to report.md after the goals")
    p.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite report.md and the plots from --out's report.json, measuring nothing",
    )
    p.add_argument("--json", action="store_true", help="print report.json's content")


def run(args: argparse.Namespace) -> int:
    from litecomplete.atomic import atomic_write_bytes
    from litecomplete.progress import stage_progress
    from litecomplete.quantize import QuantMode
    from litecomplete.report import REPORT_MODES, Report, ReportConfig, run_report
    from litecomplete.report.markdown import render
    from litecomplete.report.plots import write_plots

    out = Path(args.out)
    notes = ""
    if args.notes:
        notes_path = Path(args.notes)
        if not notes_path.is_file():
            raise ConfigError(f"--notes {notes_path} does not exist")
        notes = notes_path.read_text("utf-8")
    if args.render_only:
        source = out / "report.json"
        if not source.is_file():
            raise ConfigError(f"--render-only needs {source}; run the report without it first")
        report = Report.from_dict(json.loads(source.read_text("utf-8")))
    else:
        modes = (
            tuple(QuantMode.parse(m) for m in args.modes.split(",") if m.strip())
            if args.modes
            else REPORT_MODES
        )
        sizes = given(args, "max_length", "eval_tokens", "context", "threads", "repetitions")
        peers = {"auto": None, "on": True, "off": False}[args.llamacpp]
        if args.auto_kld is not None:
            sizes["auto_klds"] = comma_list("--auto-kld", args.auto_kld, float, "budgets", True)
        config = ReportConfig(
            model=args.model, modes=modes, text=args.text, llamacpp=peers, **sizes
        )
        if out.exists() and not out.is_dir():
            raise ConfigError(f"--out {out} is a file; give a directory")
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="litecomplete-report-") as tmp:
            work = Path(args.models_dir) if args.models_dir else Path(tmp)
            with stage_progress(f"report {args.model}", 3 * config.rows) as bar:
                report = run_report(config, work, bar)
        payload = json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(out / "report.json", payload.encode("utf-8"))
    write_plots(report, out)
    atomic_write_bytes(out / "report.md", render(report, notes).encode("utf-8"))
    if args.json:
        emit_json(report.to_dict())
    else:
        print(f"wrote {out / 'report.md'}, {out / 'report.json'} and 3 plots")
    return 0
