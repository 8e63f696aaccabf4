"""The command line: results on stdout, one-line errors on stderr, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    raw = subprocess.run(
        [sys.executable, "-m", "litecomplete", *args], input=stdin, capture_output=True, timeout=600
    )
    return subprocess.CompletedProcess(
        raw.args, raw.returncode, raw.stdout.decode("utf-8"), raw.stderr.decode("utf-8", "replace")
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("litecomplete")]
    assert len(lines) == 1 and fragment in lines[0], result.stderr


def test_convert_prints_size_time_and_peak_memory(tmp_path: Path) -> None:
    out = tmp_path / "tiny.tflite"
    result = run(
        "convert",
        "--model",
        "tiny",
        "--quant",
        "dynamic",
        "--max-length",
        "8",
        "--out",
        str(out),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["size_bytes"] == out.stat().st_size
    assert report["seconds"] > 0
    assert report["peak_rss_bytes"] > 100 * 2**20
    assert report["quantization"] == "dynamic"

    inspected = run("inspect", str(out), "--json")
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout)["contract"] == "app"

    completed = run("complete", "--model", str(out), "--json", "I'm enjoying a")
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["completion"]


def test_missing_preset_dir(tmp_path: Path) -> None:
    result = run("convert", "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "x.tflite"))
    assert_one_line_error(result, "does not exist")


def test_unknown_quant_mode(tmp_path: Path) -> None:
    result = run("convert", "--model", "tiny", "--quant", "int3", "--out", str(tmp_path / "x"))
    assert_one_line_error(result, "unknown quantization mode 'int3'")


@pytest.mark.parametrize("command", ["inspect", "complete"])
def test_non_tflite_file(tmp_path: Path, command: str) -> None:
    bogus = tmp_path / "notes.tflite"
    bogus.write_text("not a model")
    args = [str(bogus)] if command == "inspect" else ["--model", str(bogus), "hello"]
    assert_one_line_error(run(command, *args), "is not a TFLite model")


def test_inspect_rejects_a_file_of_no_contract(tmp_path: Path) -> None:
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([2], tf.float32, name="x")])
    def double(x: tf.Tensor) -> tf.Tensor:
        return x * 2.0

    path = tmp_path / "double.tflite"
    path.write_bytes(
        tf.lite.TFLiteConverter.from_concrete_functions([double.get_concrete_function()]).convert()
    )
    result = run("inspect", str(path))
    assert "builtin ops   MUL" in result.stdout  # the facts are still shown
    assert_one_line_error(result, "fits no known contract")


def test_complete_rejects_empty_and_invalid_prompts(app_models: dict[str, Path]) -> None:
    model = str(app_models["none"])
    assert_one_line_error(run("complete", "--model", model, ""), "prompt is empty")
    result = run("complete", "--model", model, "-", stdin=b"caf\xe9 latte")
    assert_one_line_error(result, "not valid UTF-8 (byte 0xe9 at position 3)")


def test_every_command_help_has_an_example() -> None:
    for command in ("convert", "complete", "inspect", "bench"):
        result = run(command, "--help")
        assert result.returncode == 0
        assert "example:\n  litecomplete " + command in result.stdout


def test_complete_with_a_fast_model(fast_models: dict[str, Path]) -> None:
    model = str(fast_models["none"])
    streamed = run("complete", "--model", model, "--max-new-tokens", "6", "Once upon a time")
    assert streamed.returncode == 0, streamed.stderr
    assert streamed.stderr == ""  # LiteRT's log lines at load and exit included
    result = run(
        "complete",
        "--model",
        model,
        "--max-new-tokens",
        "6",
        "--json",
        "--temperature",
        "1",
        "--seed",
        "3",
        "-n",
        "3",
        "Once upon a time",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["completions"]) == 3
    greedy = run(
        "complete", "--model", model, "--max-new-tokens", "6", "--json", "Once upon a time"
    )
    assert streamed.stdout.rstrip("\n") == json.loads(greedy.stdout)["completion"]
    for mode in ("off", "lookup", f"draft:{fast_models['int4']}"):
        same = run(
            "complete",
            "--model",
            model,
            "--max-new-tokens",
            "6",
            "--speculative",
            mode,
            "--json",
            "Once upon a time",
        )
        assert same.returncode == 0 and same.stderr == "", same.stderr
        assert json.loads(same.stdout)["completion"] == json.loads(greedy.stdout)["completion"]


def test_unknown_or_misplaced_speculation_is_refused(
    fast_models: dict[str, Path], app_models: dict[str, Path]
) -> None:
    model = str(fast_models["none"])
    result = run("complete", "--model", model, "--speculative", "always", "Hi")
    assert_one_line_error(result, "unknown speculative mode 'always'")
    result = run("complete", "--model", model, "--speculative", f"draft:{app_models['none']}", "Hi")
    assert_one_line_error(result, f"draft model: {app_models['none']} is not a fast-format model")
    result = run("complete", "--model", str(app_models["none"]), "--speculative", "off", "Hi")
    assert_one_line_error(result, "drop --speculative")


def test_generation_options_are_refused_for_app_models(app_models: dict[str, Path]) -> None:
    result = run("complete", "--model", str(app_models["none"]), "--temperature", "0.5", "Hi")
    assert_one_line_error(result, "fixed at conversion; drop --temperature")
    result = run("complete", "--model", str(app_models["none"]), "--heal", "Hi")
    assert_one_line_error(result, "fixed at conversion; drop --heal")


def test_a_reader_that_goes_away_ends_the_command_quietly(fast_models: dict[str, Path]) -> None:
    """`complete ... | head -1`: the pipe closes before the completion is written."""
    import signal

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "litecomplete",
            "complete",
            "--model",
            str(fast_models["none"]),
            "--max-new-tokens",
            "8",
            "Once upon a time",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the model has loaded: its first write meets no reader
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 128 + signal.SIGPIPE
    assert stderr == ""


def test_heal_finishes_the_last_word(fast_models: dict[str, Path]) -> None:
    from litecomplete.runtime import FastModel, GenerationConfig, SamplingConfig

    prompt = "I'm enjoying a quiet even"
    args = ("complete", "--model", str(fast_models["none"]), "--temperature", "0")
    result = run(*args, "--max-new-tokens", "6", "--heal", "--json", prompt)
    assert result.returncode == 0, result.stderr
    config = GenerationConfig(max_new_tokens=6, sampling=SamplingConfig(temperature=0), heal=True)
    expected = FastModel.load(fast_models["none"]).complete(prompt, config).text
    assert json.loads(result.stdout)["completion"] == expected


def test_invalid_sampling_values_on_the_command_line(fast_models: dict[str, Path]) -> None:
    model = str(fast_models["none"])
    assert_one_line_error(run("complete", "--model", model, "--top-p", "1.5", "Hi"), "top_p")
    assert_one_line_error(
        run("complete", "--model", model, "--temperature", "-1", "Hi"), "temperature"
    )


def test_inspect_recognises_the_fast_format(fast_models: dict[str, Path]) -> None:
    result = run("inspect", str(fast_models["dynamic"]), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["contract"] == "fast"
    assert report["op_set"] == "builtins"
    assert set(report["signatures"]) == {
        "decode",
        "prefill_4",
        "prefill_16",
        "fill_16",
        "verify_4",
        "verify_16",
    }


def test_export_gguf_and_bench_a_fast_model(fast_models: dict[str, Path], tmp_path: Path) -> None:
    import gguf

    out = tmp_path / "tiny.gguf"
    result = run("export-gguf", "--model", "tiny", "--type", "q8_0", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert len(gguf.GGUFReader(str(out)).tensors) == 28

    bench = run(
        "bench",
        "--model",
        str(fast_models["none"]),
        "--repetitions",
        "1",
        "--decode-tokens",
        "8",
        "--threads",
        "1,2",
        "--json",
    )
    assert bench.returncode == 0, bench.stderr
    results = json.loads(bench.stdout)["results"]
    assert [r["threads"] for r in results] == [1, 2]
    for r in results:
        assert r["decode_tokens_per_s"]["median"] > 0
        # The first load packed the weights, the measured one mapped them.
        assert r["cold_load_s"] > 0 and r["load_s"] > 0
        assert 0 < r["rss_after_load_bytes"] <= r["peak_rss_bytes"]


def test_options_of_the_other_format_are_refused(tmp_path: Path) -> None:
    out = str(tmp_path / "x.tflite")
    result = run(
        "convert", "--model", "tiny", "--format", "fast", "--sampler", "greedy", "--out", out
    )
    assert_one_line_error(result, "--sampler applies to the app format only")
    result = run("convert", "--model", "tiny", "--buckets", "8,16", "--out", out)
    assert_one_line_error(result, "--buckets applies to the fast format only")
    result = run("convert", "--model", "tiny", "--verify", "4", "--out", out)
    assert_one_line_error(result, "--verify applies to the fast format only")
    result = run("convert", "--model", "tiny", "--format", "fast", "--verify", "4,x", "--out", out)
    assert_one_line_error(result, "--verify must be comma-separated lengths or none")
    result = run("convert", "--model", "tiny", "--decode-spans", "64", "--out", out)
    assert_one_line_error(result, "--decode-spans applies to the fast format only")
    fast = ("convert", "--model", "tiny", "--out", out, "--decode-spans")
    result = run(*fast, "64", "--format", "litertlm")
    assert_one_line_error(result, "--decode-spans applies to the fast format only")
    result = run(*fast, "64,x", "--format", "fast")
    assert_one_line_error(result, "--decode-spans must be comma-separated lengths or none")
    result = run(*fast, "256", "--format", "fast", "--max-length", "256")
    assert_one_line_error(result, "--decode-spans must be from 1 to 255 (below --max-length)")
    result = run("convert", "--model", "tiny", "--fills", "64", "--out", out)
    assert_one_line_error(result, "--fills applies to the fast format only")
    fills = ("convert", "--model", "tiny", "--out", out, "--format", "fast", "--fills")
    result = run(*fills, "32", "--buckets", "16,64")
    assert_one_line_error(result, "--fills must be among the buckets ([16, 64]), got [32]")
    assert not (tmp_path / "x.tflite").exists()


def test_a_missing_gguf_is_named_before_converting(tmp_path: Path) -> None:
    out = str(tmp_path / "x.tflite")
    for fmt in ("fast", "app"):
        assert_one_line_error(
            run("convert", "--model", str(tmp_path / "absent.gguf"), "--format", fmt, "--out", out),
            "does not exist",
        )
    assert not (tmp_path / "x.tflite").exists()


def test_an_error_raised_after_ctrl_c_counts_as_the_interrupt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import contextlib
    import signal

    from litecomplete import cli
    from litecomplete.commands import inspect_file

    def swallowed(_: object) -> int:
        # As TensorFlow's native tracer does: the KeyboardInterrupt is cleared and an
        # unrelated error, with no link to it, is raised instead.
        with contextlib.suppress(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        raise AttributeError("'dict' object has no attribute '_type_spec'")

    monkeypatch.setattr(inspect_file, "run", swallowed)
    assert cli.main(["inspect", "x.tflite"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

    def broken(_: object) -> int:
        raise RuntimeError("a real bug")

    monkeypatch.setattr(inspect_file, "run", broken)
    with pytest.raises(RuntimeError, match="a real bug"):
        cli.main(["inspect", "x.tflite"])


def test_after_sigterm_the_command_exits_without_finalising(tmp_path: Path) -> None:
    """Python's finalisation of what TensorFlow built took minutes after `serve` said it
    had stopped; the command's own cleanup runs, the interpreter's does not."""
    finalised = tmp_path / "finalised"
    script = f"""
import atexit, os, pathlib, signal, time
from litecomplete import cli
from litecomplete.commands import inspect_file
atexit.register(lambda: pathlib.Path({str(finalised)!r}).write_text("slow"))
def terminated(_):
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(60)
inspect_file.run = terminated
import sys
sys.argv = ["litecomplete", "inspect", "x.tflite"]
cli.console_main()
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 143
    assert "terminated" in proc.stderr
    assert not finalised.exists()


def test_eval_prints_perplexity_and_the_comparison(fast_models: dict[str, Path]) -> None:
    result = run(
        "eval",
        "--model",
        str(fast_models["dynamic"]),
        "--ref",
        str(fast_models["none"]),
        "--max-tokens",
        "40",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["tokens"] == 40 and report["perplexity"] > 1
    assert 0 <= report["comparison"]["top1_agreement"] <= 1
    assert report["comparison"]["kld_mean"] >= 0


def test_eval_refuses_an_app_model_and_an_empty_text(
    fast_models: dict[str, Path], app_models: dict[str, Path], tmp_path: Path
) -> None:
    assert_one_line_error(run("eval", "--model", str(app_models["none"])), "app-format model")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    result = run("eval", "--model", str(fast_models["none"]), "--text", str(empty))
    assert_one_line_error(result, "is empty")


def test_serve_refuses_to_start_without_a_usable_model(tmp_path: Path) -> None:
    assert_one_line_error(
        run("serve", "--models-dir", str(tmp_path / "missing")), "is not a directory"
    )
    (tmp_path / "junk.tflite").write_bytes(b"not a model")
    assert_one_line_error(
        run("serve", "--models-dir", str(tmp_path), "--no-default-model"), "no usable model"
    )
    assert_one_line_error(run("serve", "--port", "70000", "--no-default-model"), "--port")


def test_safety_eval_scores_a_given_set(tmp_path: Path) -> None:
    labelled = tmp_path / "set.tsv"
    labelled.write_text("profane\tplain\tyou b1tch\nclean\thard\tthe assassin\n", "utf-8")
    result = run("safety-eval", "--set", str(labelled), "--json")
    assert result.returncode == 0, result.stderr
    score = json.loads(result.stdout)
    assert score["lines"] == 2 and score["f1"] == 1.0 and score["hard_false_positives"] == 0
    labelled.write_text("unsure\tplain\tx\n", "utf-8")
    assert_one_line_error(run("safety-eval", "--set", str(labelled)), "line 1")
