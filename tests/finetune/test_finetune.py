"""``finetune`` on the tiny model: it learns, the merged preset is the trained model and
converts to the fast format, an interrupted run resumes where it stopped, and bad input
gets one line with nothing written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import litecomplete
from litecomplete.finetune import FinetuneConfig, FinetuneResult, finetune
from litecomplete.finetune.text import read_texts, split_held_out, windows
from tests.conftest import keras_logits
from tests.test_cli import assert_one_line_error, run

TEXT = Path(litecomplete.__file__).parent / "data" / "calibration.txt"
# Few steps at a high rate on every layer group: a random tiny model's loss must move.
SETTINGS: dict[str, Any] = {
    "model": "tiny",
    "steps": 24,
    "sequence_length": 32,
    "learning_rate": 1e-2,
    "lora_layers": ("query", "key", "value", "output", "mlp"),
}
FLAGS = [
    *("--model", "tiny", "--text", str(TEXT), "--steps", "24", "--sequence-length", "32"),
    *("--learning-rate", "1e-2", "--lora-layers", "query,key,value,output,mlp"),
]


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> FinetuneResult:
    out = tmp_path_factory.mktemp("finetune") / "tiny-tuned"
    return finetune(FinetuneConfig(texts=(TEXT,), out=out, **SETTINGS))


def _held_out_perplexity(causal_lm: Any, length: int) -> float:
    """The held-out part's perplexity under ``causal_lm``, computed here from scratch."""
    split = split_held_out(read_texts([TEXT]), 0.1)
    preprocessor = causal_lm.preprocessor
    start = preprocessor.tokenizer.start_token_id if preprocessor.add_start_token else None
    ids = np.asarray(preprocessor.tokenizer(split.held_out)).tolist()
    held = windows(ids, length, start, pad_id=0)
    total = 0.0
    for row, weights in zip(held.ids, held.weights, strict=True):
        logits = keras_logits(causal_lm, row[:-1].tolist()).astype(np.float64)
        top = logits.max(-1, keepdims=True)
        log_probs = logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))
        total -= float((log_probs[np.arange(length), row[1:]] * weights).sum())
    return float(np.exp(total / held.tokens))


def test_training_lowers_the_held_out_loss(tuned: FinetuneResult) -> None:
    before, after = tuned.held_out_perplexity_before, tuned.held_out_perplexity_after
    assert before is not None and after is not None
    assert after < 0.97 * before, (before, after)
    assert np.mean(tuned.loss_by_step[-6:]) < np.mean(tuned.loss_by_step[:6])
    assert tuned.steps == len(tuned.loss_by_step) == 24
    assert 0 < tuned.trainable_parameters < tuned.parameters / 10
    record = json.loads((tuned.out / "finetune.json").read_text("utf-8"))
    assert record["held_out_perplexity_after"] == after
    assert record["settings"]["lora_layers"] == list(SETTINGS["lora_layers"])


def test_the_merged_preset_is_the_trained_model(tuned: FinetuneResult) -> None:
    from litecomplete.models import load_causal_lm

    merged = load_causal_lm(str(tuned.out), sequence_length=32)
    base = load_causal_lm("tiny", sequence_length=32)
    assert not any("lora" in v.path for v in merged.weights)  # plain weights, adapters merged
    # The perplexity the adapters gave at the end of training, from the saved weights.
    assert _held_out_perplexity(merged, 32) == pytest.approx(
        tuned.held_out_perplexity_after, rel=1e-4
    )
    assert _held_out_perplexity(base, 32) == pytest.approx(
        tuned.held_out_perplexity_before, rel=1e-4
    )


def _fast_parity(causal_lm: Any, out: Path, text: str) -> None:
    """The fast format's float32 logits of ``causal_lm`` equal Keras', at prefill and decode."""
    from litecomplete.convert.fast_config import FastExportConfig
    from litecomplete.convert.fast_export import convert_fast_model
    from litecomplete.runtime import FastModel

    convert_fast_model(causal_lm, FastExportConfig(max_length=64, buckets=(4, 16)), out)
    model = FastModel.load(out)
    ids = model.prompt_ids(text, 64)
    logits = model._feed(ids).logits
    assert np.abs(logits - keras_logits(causal_lm, ids)[-1]).max() <= 1e-4
    for _ in range(4):
        ids.append(int(np.argmax(logits)))
        logits = model._run_decode(ids[-1], len(ids) - 1)
        assert np.abs(logits - keras_logits(causal_lm, ids)[-1]).max() <= 1e-4


def test_the_merged_preset_converts_to_the_fast_format_with_keras_logits(
    tuned: FinetuneResult, tmp_path: Path
) -> None:
    from litecomplete.models import load_causal_lm

    merged = load_causal_lm(str(tuned.out))
    _fast_parity(merged, tmp_path / "tuned.tflite", "It was the best of times, it was the worst")


@pytest.mark.parametrize("family", ["llama", "gemma3"])
def test_a_gguf_family_finetunes_and_its_preset_converts(
    family: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from litecomplete.models import load_causal_lm

    fixture = request.getfixturevalue(f"tiny_{family}_gguf")
    gguf = fixture if isinstance(fixture, Path) else fixture[0]
    config = FinetuneConfig(
        texts=(TEXT,),
        out=tmp_path / "tuned",
        model=str(gguf),
        steps=4,
        sequence_length=16,
        learning_rate=1e-2,
        lora_layers=("query", "value", "mlp"),
    )
    result = finetune(config)
    assert result.architecture == family
    merged, base = load_causal_lm(str(result.out)), load_causal_lm(str(gguf))
    ids = np.asarray(base.preprocessor.tokenizer("It was the best of times")).tolist()
    moved = np.abs(keras_logits(merged, ids) - keras_logits(base, ids)).max()
    assert moved > 1e-3  # the adapters are in the saved weights
    _fast_parity(merged, tmp_path / "tuned.tflite", "It was the best of times, it was")


@pytest.mark.parametrize(
    ("signum", "said"), [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "terminated")]
)
def test_a_signal_saves_a_checkpoint_and_resume_continues_from_it(
    tuned: FinetuneResult, tmp_path: Path, signum: int, said: str
) -> None:
    out = tmp_path / "tuned"
    proc = subprocess.Popen(
        [sys.executable, "-m", "litecomplete", "finetune", *FLAGS, "--out", str(out)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 300
    for line in proc.stderr:  # one progress line per step when stderr is not a terminal
        if "finetune: step 3/24" in line:
            break
        assert time.monotonic() < deadline, "training never reached step 3"
    proc.send_signal(signum)
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 128 + signum, stderr
    assert "run the same command with --resume" in stderr
    assert f"litecomplete finetune: {said}\n" in stderr and "Traceback" not in stderr
    assert not out.exists()
    checkpoint = json.loads((tmp_path / "tuned.checkpoint" / "checkpoint.json").read_text())
    saved = checkpoint["step"]
    assert 3 <= saved < 24

    resumed = run("finetune", *FLAGS, "--out", str(out), "--resume", "--json")
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["resumed_from_step"] == saved
    # The same batches, optimizer state and dropout draws as the uninterrupted run.
    np.testing.assert_allclose(result["loss_by_step"], tuned.loss_by_step, rtol=1e-5)
    assert result["held_out_perplexity_after"] == pytest.approx(
        tuned.held_out_perplexity_after, rel=1e-5
    )
    assert not (tmp_path / "tuned.checkpoint").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tuned"]


def _nothing_written(folder: Path, *allowed: str) -> None:
    assert sorted(p.name for p in folder.iterdir()) == sorted(allowed)


def test_bad_text_gets_one_line_and_nothing_is_written(tmp_path: Path) -> None:
    empty, latin1, short = tmp_path / "empty.txt", tmp_path / "latin1.txt", tmp_path / "short.txt"
    empty.write_bytes(b"")
    latin1.write_bytes("na\xefve".encode("latin-1"))
    short.write_text("One short line.\n\nAnd another.\n", "utf-8")
    out = tmp_path / "out"
    base = ["finetune", "--model", "tiny", "--out", str(out)]
    assert_one_line_error(run(*base, "--text", str(empty)), "empty.txt is empty")
    assert_one_line_error(run(*base, "--text", str(latin1)), "latin1.txt is not UTF-8 text")
    assert_one_line_error(
        run(*base, "--text", str(short), "--held-out", "0"),
        "shorter than one sequence of 128; give more text or a smaller --sequence-length",
    )
    assert_one_line_error(
        run(*base, "--text", str(short), "--held-out", "0.95"),
        "--held-out 0.95 leaves nothing to train on",
    )
    _nothing_written(tmp_path, "empty.txt", "latin1.txt", "short.txt")


def test_an_existing_or_unwritable_output_is_refused_before_training(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    flags = ["finetune", "--model", "tiny", "--text", str(TEXT)]
    assert_one_line_error(run(*flags, "--out", str(out)), "already exists; choose a new --out")
    assert (out / "mine.txt").read_text() == "keep me"
    # /sys takes no new directory, not even from root.
    unwritable = run(*flags, "--out", "/sys/litecomplete-tuned")
    assert_one_line_error(unwritable, "cannot write to /sys")
    assert_one_line_error(run(*flags, "--out", str(tmp_path / "missing" / "out")), "does not exist")
    assert_one_line_error(run(*flags, "--out", str(tmp_path / "new"), "--resume"), "no checkpoint")
    (tmp_path / "new.checkpoint").mkdir()  # an earlier run's, not to be overwritten
    assert_one_line_error(
        run(*flags, "--out", str(tmp_path / "new")), "an earlier run's checkpoint is at"
    )
    _nothing_written(tmp_path, "out", "new.checkpoint")


def test_force_replaces_an_existing_preset_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    flags = ["--model", "tiny", "--text", str(TEXT), "--steps", "2", "--held-out", "0"]
    result = run("finetune", *flags, "--out", str(out), "--force", "--json")
    assert result.returncode == 0, result.stderr
    assert not (out / "old.txt").exists() and (out / "model.weights.h5").is_file()
    assert json.loads(result.stdout)["held_out_perplexity_before"] is None
    _nothing_written(tmp_path, "out")


def test_an_unknown_layer_group_is_named(tmp_path: Path) -> None:
    result = run(
        "finetune",
        "--model",
        "tiny",
        "--text",
        str(TEXT),
        "--out",
        str(tmp_path / "o"),
        "--lora-layers",
        "query,gate",
    )
    assert_one_line_error(result, "--lora-layers: gate is not a layer group of gpt2")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("fixture", ["tiny_lm", "tiny_llama", "tiny_gemma3"])
def test_every_family_names_layers_its_backbone_has(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    from litecomplete.models import registry

    causal_lm = request.getfixturevalue(fixture)
    architecture = registry.for_backbone(causal_lm.backbone)
    layers = causal_lm.backbone._flatten_layers(include_self=False)
    adaptable = {layer.name for layer in layers if layer.weights and hasattr(layer, "enable_lora")}
    assert set(architecture.lora_layers) == {"query", "key", "value", "output", "mlp"}
    for group, names in architecture.lora_layers.items():
        assert names and set(names) <= adaptable, (group, names, adaptable)
