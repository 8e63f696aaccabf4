"""Convert one model into every quantization mode, then measure each: the report's rows.

Every conversion and every benchmark runs in its own process, so the peak memory
each reports is its own. Quality is measured against the float32 conversion of the
same model, on the same text, with the same windows.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from litecomplete.bench.app_bench import machine_fields
from litecomplete.bench.fast_bench import DECODE_PROMPT, FastBenchConfig, bench_in_subprocess
from litecomplete.errors import ConfigError, ConversionError, require_at_least
from litecomplete.eval import EvalConfig, EvalResult, evaluate
from litecomplete.eval.text import read_eval_text
from litecomplete.quantize import QuantMode
from litecomplete.quantize.plan import check_max_kld
from litecomplete.report import llamacpp
from litecomplete.runtime import FastModel
from litecomplete.supervise import json_from_child

# Float32 first: it is every other mode's reference.
REPORT_MODES = (
    QuantMode.NONE,
    QuantMode.FLOAT16,
    QuantMode.DYNAMIC,
    QuantMode.INT8,
    QuantMode.INT8W,
    QuantMode.INT4,
)
# ``auto``'s rows: one per quality budget (mean KLD on the calibration text).
AUTO_KLDS = (0.01, 0.05)
AUTO_ROW = "auto "  # a row's name: "auto 0.05"
MODEL_ALIASES = {"default": "smollm2"}
MODEL_TITLES = {"default": "SmolLM2-135M-Instruct (default)", "smollm2": "SmolLM2-135M-Instruct"}


@dataclass(frozen=True)
class ReportConfig:
    """What the report converts and measures.

    Attributes:
        model: ``default`` (the embedded SmolLM2), a built-in name such as
            ``gpt2-124m``, a preset directory or a GGUF file.
        modes: quantization modes, float32 (``none``) first.
        max_length: KV-cache length of every conversion.
        eval_tokens: tokens of the evaluation text scored per mode.
        context: evaluation window (tokens); stride is half of it.
        threads: interpreter threads for evaluation and benchmarks.
        repetitions: timed benchmark runs per figure.
        text: evaluation text file; None for the packaged text.
        llamacpp: add llama.cpp's rows (F32, Q8_0, Q4_0, Q4_K_M of the same weights);
            None: when llama-cpp-python is installed.
        auto_klds: a row of ``--quant auto`` per budget (``--max-kld``).
    """

    model: str = "default"
    modes: tuple[QuantMode, ...] = REPORT_MODES
    max_length: int = 256
    eval_tokens: int = 2048
    context: int = 256
    threads: int = 2
    repetitions: int = 3
    text: str | None = None
    llamacpp: bool | None = None
    auto_klds: tuple[float, ...] = AUTO_KLDS

    def __post_init__(self) -> None:
        require_at_least("--eval-tokens", self.eval_tokens, 16)
        require_at_least("--threads", self.threads, 1)
        require_at_least("--repetitions", self.repetitions, 1)
        if self.context > self.max_length:
            raise ConfigError(f"--context {self.context} exceeds --max-length {self.max_length}")
        if not self.modes or self.modes[0] is not QuantMode.NONE:
            raise ConfigError("the report's modes start with none (the float32 reference)")
        if QuantMode.AUTO in self.modes:
            raise ConfigError("auto's rows are given by their budgets: --auto-kld 0.01,0.05")
        for budget in self.auto_klds:
            check_max_kld(budget)
        if len(set(self.modes)) != len(self.modes):
            raise ConfigError(f"a mode is listed twice: {[m.value for m in self.modes]}")
        if self.llamacpp and not llamacpp.available():
            raise ConfigError(
                "llama.cpp's rows need llama-cpp-python: run scripts/install-llamacpp.sh"
            )

    @property
    def with_llamacpp(self) -> bool:
        return llamacpp.available() if self.llamacpp is None else self.llamacpp

    @property
    def rows(self) -> int:
        """Rows the report will have: the modes, then llama.cpp's F32 and quantizations."""
        peers = 1 + len(llamacpp.QUANT_TYPES) if self.with_llamacpp else 0
        return len(self.modes) + len(self.auto_klds) + peers


@dataclass(frozen=True)
class ModeRow:
    """One quantization mode, measured."""

    mode: str
    path: str
    size_bytes: int
    convert_seconds: float
    convert_peak_rss_bytes: int
    float_fallback_ops: dict[str, int]
    eval: dict[str, Any]  # EvalResult as a dict (comparison against float32)
    prefill_tokens_per_s: dict[str, float]  # by prompt length
    decode_tokens_per_s: float
    first_token_ms: float
    run_peak_rss_bytes: int


@dataclass(frozen=True)
class Report:
    model: str
    config: dict[str, Any]
    text: str
    rows: list[ModeRow]
    machine: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Report:
        return cls(**{**d, "rows": [ModeRow(**r) for r in d["rows"]]})


def convert_in_subprocess(
    model: str, mode: QuantMode, max_length: int, out: Path, max_kld: float | None = None
) -> dict[str, Any]:
    """``litecomplete convert --format fast`` in a fresh process, with the default
    signatures (what a user's conversion gives); its JSON result."""
    argv = [
        "-m", "litecomplete", "convert",
        "--model", model, "--format", "fast", "--quant", mode.value,
        "--max-length", str(max_length),
        "--out", str(out), "--json",
        *(["--max-kld", repr(max_kld)] if max_kld is not None else []),
    ]  # fmt: skip
    result: dict[str, Any] = json_from_child(
        argv, f"converting {model} to {mode.value}", ConversionError
    )
    return result


def run_report(config: ReportConfig, models_dir: Path, on_stage: Any = None) -> Report:
    """Convert, evaluate and benchmark every mode (and llama.cpp's files of the same
    weights); the models are written to ``models_dir``."""
    stage = on_stage or (lambda *_: None)
    started = time.perf_counter()
    model_spec = MODEL_ALIASES.get(config.model, config.model)
    text, text_name = read_eval_text(config.text)
    models_dir.mkdir(parents=True, exist_ok=True)
    name = Path(model_spec).stem if "/" in model_spec else model_spec

    built: dict[str, dict[str, Any]] = {}  # row name -> path, size, seconds, peak RSS
    for mode in config.modes:
        stage(f"convert {mode.value}")
        path = models_dir / f"{name}-fast-{mode.value}.tflite"
        built[mode.value] = convert_in_subprocess(model_spec, mode, config.max_length, path)
    for budget in config.auto_klds:
        row = f"{AUTO_ROW}{budget:g}"
        stage(f"convert {row}")
        path = models_dir / f"{name}-fast-auto-{budget:g}.tflite"
        built[row] = convert_in_subprocess(
            model_spec, QuantMode.AUTO, config.max_length, path, budget
        )
    if config.with_llamacpp:
        built |= _llamacpp_files(model_spec, models_dir / name, config.threads, stage)

    evals = _evaluate(config, built, text, on_stage)
    bench_config = FastBenchConfig(
        threads=config.threads,
        prompt_lengths=tuple(n for n in (16, 64, 128) if n <= config.max_length),
        context_tokens=min(64, config.max_length // 2),
        decode_tokens=min(64, config.max_length - DECODE_PROMPT),
        repetitions=config.repetitions,
    )
    rows = []
    for row_name, info in built.items():
        stage(f"benchmark {row_name}")
        kind = "llama.cpp" if row_name.startswith(llamacpp.ROW_PREFIX) else "litecomplete"
        bench = bench_in_subprocess(kind, Path(info["path"]), bench_config, config.max_length)
        rows.append(
            ModeRow(
                mode=row_name,
                path=str(info["path"]),
                size_bytes=int(info["size_bytes"]),
                convert_seconds=float(info["seconds"]),
                convert_peak_rss_bytes=int(info["peak_rss_bytes"]),
                float_fallback_ops=dict(info.get("float_fallback_ops") or {}),
                eval=asdict(evals[row_name]),
                prefill_tokens_per_s={
                    str(n): s.median for n, s in bench.prefill_tokens_per_s.items()
                },
                decode_tokens_per_s=bench.decode_tokens_per_s.median,
                first_token_ms=bench.first_token_ms.median,
                run_peak_rss_bytes=bench.peak_rss_bytes,
            )
        )
    return Report(
        model=MODEL_TITLES.get(config.model, config.model),
        config={**asdict(config), "modes": [m.value for m in config.modes]},
        text=text_name,
        rows=rows,
        machine=machine_fields(),
        seconds=time.perf_counter() - started,
    )


def _llamacpp_files(model: str, stem: Path, threads: int, stage: Any) -> dict[str, dict[str, Any]]:
    """The F32 GGUF of ``model`` and llama.cpp's quantizations of it, by row name."""
    stage("export F32 GGUF")
    f32 = stem.with_name(f"{stem.name}-f32.gguf")
    files = {f"{llamacpp.ROW_PREFIX}F32": {"path": f32, **llamacpp.export_f32(model, f32)}}
    for kind in llamacpp.QUANT_TYPES:
        stage(f"llama.cpp quantize {kind}")
        out = stem.with_name(f"{stem.name}-{kind.lower()}.gguf")
        files[f"{llamacpp.ROW_PREFIX}{kind}"] = {
            "path": out,
            **llamacpp.quantize_in_subprocess(f32, out, kind, threads),
        }
    for info in files.values():
        info["size_bytes"] = Path(info["path"]).stat().st_size
    return files


def _evaluate(
    config: ReportConfig, built: dict[str, dict[str, Any]], text: str, on_stage: Any
) -> dict[str, EvalResult]:
    """Every row scored against the float32 conversion, on the same windows."""
    stage = on_stage or (lambda *_: None)
    note = getattr(on_stage, "note", lambda _: None)
    ref = FastModel.load(built[QuantMode.NONE.value]["path"], config.threads)
    eval_config = EvalConfig(context=config.context, max_tokens=config.eval_tokens)

    def progress(done: int, total: int) -> None:
        note(f"{done}/{total} tokens")

    evals: dict[str, EvalResult] = {}
    for row_name, info in built.items():
        stage(f"evaluate {row_name}")
        model: Any
        if row_name.startswith(llamacpp.ROW_PREFIX):
            path = Path(info["path"])
            model = llamacpp.LlamaCppScorer(
                path, config.threads, config.max_length, ref.start_token_id
            )
        else:
            model = FastModel.load(info["path"], config.threads)
        evals[row_name] = evaluate(model, text, eval_config, ref=ref, on_progress=progress)
        del model
    return evals
