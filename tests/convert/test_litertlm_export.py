"""LiteRT-LM bundles (.litertlm) of the tiny GPT-2 and tiny Llama, run by LiteRT-LM itself.

LiteRT-LM's engine (``litert-lm-api``) loads each bundle and generates greedily; the
bundle's model is the fast-format file's, so the text must be what our runtime writes
from that file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from litecomplete.contract import ModelFormat
from litecomplete.errors import ConfigError, ModelFileError
from litecomplete.inspect.litertlm_file import import_litertlm_builder, read_litertlm_info
from litecomplete.quantize import QuantMode
from litecomplete.runtime import FastModel, GenerationConfig, LitertLmModel, SamplingConfig
from tests.conftest import FAST_BUCKETS, FAST_MAX_LENGTH

PROMPTS = ["I'm enjoying a", "The quick brown fox", "Zürich café — 東京", "def main():"]
GREEDY = GenerationConfig(max_new_tokens=12)
MODES = list(QuantMode)


def _config(mode: QuantMode) -> Any:
    from litecomplete.convert.fast_config import FastExportConfig

    return FastExportConfig(
        max_length=FAST_MAX_LENGTH, buckets=FAST_BUCKETS, quant=mode, calibration_samples=4
    )


@pytest.fixture(scope="module")
def bundles(tiny_lm: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny GPT-2 as a bundle in every quantization mode, as the fast files are made."""
    from litecomplete.convert.litertlm_export import convert_litertlm_model

    out = tmp_path_factory.mktemp("litertlm")
    paths = {}
    for mode in MODES:
        paths[mode.value] = out / f"tiny-{mode.value}.litertlm"
        convert_litertlm_model(tiny_lm, _config(mode), paths[mode.value])
    return paths


@pytest.fixture(scope="module")
def llama_bundle(tiny_llama_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from litecomplete.convert.fast_export import gguf_fast_source
    from litecomplete.convert.litertlm_export import convert_litertlm_model

    out = tmp_path_factory.mktemp("litertlm_llama") / "tiny-llama.litertlm"
    convert_litertlm_model(gguf_fast_source(tiny_llama_gguf), _config(QuantMode.NONE), out)
    return out


def _bundled_model(bundle: Path, out: Path) -> Path:
    """The fast-format model inside ``bundle``, written to ``out``."""
    from litecomplete.inspect.litertlm_file import read_litertlm_info

    section = read_litertlm_info(bundle).section("TFLiteModel")
    assert section is not None
    out.write_bytes(bundle.read_bytes()[section.begin : section.end])
    return out


@pytest.mark.parametrize("mode", [m.value for m in MODES])
def test_every_mode_runs_in_litert_lm(bundles: dict[str, Path], tmp_path: Path, mode: str) -> None:
    # The bundle's own graph in our runtime: the tiny model's random weights give nearly
    # flat logits, so a fast file with other signatures (verify rows feeding a prompt)
    # may break a near-tie otherwise, in int4 the first after a few words.
    ours = FastModel.load(_bundled_model(bundles[mode], tmp_path / "m.tflite"), num_threads=1)
    theirs = LitertLmModel.load(bundles[mode], num_threads=1)
    for prompt in PROMPTS:
        text = theirs.complete(prompt, GREEDY)
        assert text
        assert text == ours.complete(prompt, GREEDY).text, (mode, prompt)


def test_llama_bundle_gives_our_runtimes_tokens(
    llama_bundle: Path, tiny_llama_fast_none: Path
) -> None:
    ours = FastModel.load(tiny_llama_fast_none, num_threads=1)
    theirs = LitertLmModel.load(llama_bundle, num_threads=1)
    # (Not "東京": this random model answers it with pieces of characters, which LiteRT-LM
    # shows as U+FFFD per token and our runtime as the tokenizer decodes the bytes.)
    for prompt in [*PROMPTS[:2], "Zürich café", PROMPTS[3]]:
        expected = ours.complete(prompt, GREEDY)
        assert theirs.complete(prompt, GREEDY) == expected.text, prompt
        # Same text, same tokens: LiteRT-LM's tokenizer is the file's tokenizer.json.
        assert theirs.encode(prompt + expected.text) == ours.encode(prompt + expected.text)


def test_the_bundle_says_what_it_holds(bundles: dict[str, Path], llama_bundle: Path) -> None:
    info = read_litertlm_info(bundles["none"])
    assert [s.kind for s in info.sections] == [
        "TFLiteModel",
        "HF_Tokenizer_Zlib",
        "LlmMetadataProto",
    ]
    assert info.sections[0].items["model_type"] == "tf_lite_prefill_decode"
    meta = info.llm_metadata
    assert meta["startToken"]["tokenIds"]["ids"] == [50256]  # GPT-2 starts every text
    assert meta["stopTokens"] == [{"tokenIds": {"ids": [50256]}}]
    assert meta["maxNumTokens"] == FAST_MAX_LENGTH
    assert meta["samplerParams"] == {"type": "TOP_P", "k": 1, "p": 1.0, "temperature": 1.0}
    assert info.manifest["format"] == ModelFormat.FAST.value  # the bundled model is one
    assert info.manifest["quantization"] == "none"
    llama = read_litertlm_info(llama_bundle).llm_metadata
    assert "startToken" not in llama  # SmolLM2's GGUF adds no start token
    assert "jinjaPromptTemplate" not in llama  # the tiny GGUF has no chat template


def test_a_chat_template_is_carried(tiny_llama_gguf: Path) -> None:
    from dataclasses import replace

    from litecomplete.convert.fast_export import gguf_fast_source
    from litecomplete.convert.litertlm_export import llm_metadata

    import_litertlm_builder()
    from litert_lm_builder.runtime.proto import llm_metadata_pb2

    template = "{% for m in messages %}<|im_start|>{{ m.content }}{% endfor %}"
    source = replace(gguf_fast_source(tiny_llama_gguf), chat_template=template)
    meta = llm_metadata_pb2.LlmMetadata.FromString(llm_metadata(source, _config(QuantMode.NONE)))
    assert meta.jinja_prompt_template == template


def test_sampling_settings_reach_litert_lm(bundles: dict[str, Path]) -> None:
    model = LitertLmModel.load(bundles["none"], num_threads=1)

    def sample(seed: int) -> str:
        config = GenerationConfig(
            max_new_tokens=12, sampling=SamplingConfig(temperature=1.5, seed=seed)
        )
        return model.complete("I'm enjoying a", config)

    assert sample(1) == sample(1)
    assert len({sample(seed) for seed in range(4)}) > 1
    assert sample(1) != model.complete("I'm enjoying a", GREEDY)


@pytest.mark.parametrize(
    ("config", "named"),
    [
        (GenerationConfig(stop=("\n",)), "--stop"),
        (GenerationConfig(sampling=SamplingConfig(repetition_penalty=1.3)), "--repetition-penalty"),
    ],
)
def test_settings_litert_lm_lacks_are_refused_by_name(
    bundles: dict[str, Path], config: GenerationConfig, named: str
) -> None:
    model = LitertLmModel.load(bundles["none"], num_threads=1)
    with pytest.raises(ConfigError, match=f"LiteRT-LM cannot apply {named}"):
        model.complete("I'm enjoying a", config)


def test_truncated_and_foreign_bundles_are_named(bundles: dict[str, Path], tmp_path: Path) -> None:
    data = bundles["none"].read_bytes()
    for size in (8, 40, 1000, len(data) // 2):
        cut = tmp_path / f"cut-{size}.litertlm"
        cut.write_bytes(data[:size])
        with pytest.raises(ModelFileError, match=f"{cut}") as raised:
            LitertLmModel.load(cut)
        assert "\n" not in str(raised.value)
    no_magic = tmp_path / "no-magic.litertlm"
    no_magic.write_bytes(b"NOTALITE" + data[8:])
    with pytest.raises(ModelFileError, match="not a LiteRT-LM file"):
        read_litertlm_info(no_magic)


def test_a_bundle_without_an_llm_is_refused(tmp_path: Path) -> None:
    builder_module = import_litertlm_builder().litertlm_builder
    tokenizer = tmp_path / "tokenizer.json"
    tokenizer.write_text('{"model": {}}', "utf-8")
    builder = builder_module.LitertLmFileBuilder()
    builder.add_hf_tokenizer(str(tokenizer))
    path = tmp_path / "tokenizer-only.litertlm"
    with path.open("wb") as f:
        builder.build(f)
    with pytest.raises(ModelFileError, match="holds no LLM: it has no TFLiteModel and no"):
        LitertLmModel.load(path)


def test_cli_completes_and_inspects_a_bundle(bundles: dict[str, Path]) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "litecomplete", *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    path = str(bundles["none"])
    done = cli("complete", "--model", path, "--max-new-tokens", "12", "--threads", "1", PROMPTS[0])
    assert done.returncode == 0, done.stderr
    expected = LitertLmModel.load(bundles["none"], num_threads=1).complete(PROMPTS[0], GREEDY)
    assert done.stdout == expected + "\n"
    refused = cli("complete", "--model", path, "--stop", ".", PROMPTS[0])
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "litecomplete complete: error: LiteRT-LM cannot apply --stop; drop it, or run the "
        "model as a fast-format .tflite (`litecomplete convert --format fast`)"
    ]
    shown = cli("inspect", path)
    assert shown.returncode == 0, shown.stderr
    assert "section       TFLiteModel" in shown.stdout
    assert '"maxNumTokens": 64' in shown.stdout


def test_app_only_options_are_refused_for_litertlm(tmp_path: Path) -> None:
    out = tmp_path / "x.litertlm"
    for flag, value in (("--max-output-bytes", "200"), ("--sampler", "greedy")):
        done = subprocess.run(
            [sys.executable, "-m", "litecomplete", "convert", "--model", "tiny",
             "--format", "litertlm", flag, value, "--out", str(out)],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 2
        assert f"{flag} applies to the app format only" in done.stderr
        assert not out.exists()


@pytest.fixture(scope="module")
def gemma3_bundles(
    tiny_gemma3_gguf: tuple[Path, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The tiny Gemma 3 as a bundle in every mode, straight from its GGUF."""
    from litecomplete.convert.fast_export import gguf_fast_source
    from litecomplete.convert.litertlm_export import convert_litertlm_model

    out = tmp_path_factory.mktemp("litertlm_gemma3")
    source = gguf_fast_source(tiny_gemma3_gguf[0])
    paths = {}
    for mode in MODES:
        paths[mode.value] = out / f"tiny-gemma3-{mode.value}.litertlm"
        convert_litertlm_model(source, _config(mode), paths[mode.value])
    return paths


@pytest.mark.parametrize("mode", [m.value for m in MODES])
def test_gemma3_bundles_run_in_litert_lm(
    gemma3_bundles: dict[str, Path], tmp_path: Path, mode: str
) -> None:
    # Gemma's SentencePiece pieces (byte fallback, "▁" for spaces) through LiteRT-LM's
    # Hugging Face tokenizer: the same greedy tokens as ours. The start token is the
    # bundle's: both put <bos> before the prompt. This random model emits pieces no
    # text holds: LiteRT-LM writes the control piece <pad> as its text, where our
    # runtime leaves it out; it drops the byte 0x00, which ours keeps; and a character
    # cut at the end comes out as U+FFFD in theirs, where ours leaves it out.
    ours = FastModel.load(_bundled_model(gemma3_bundles[mode], tmp_path / "m.tflite"), 1)
    theirs = LitertLmModel.load(gemma3_bundles[mode], num_threads=1)
    assert "startToken" in read_litertlm_info(gemma3_bundles[mode]).llm_metadata
    for prompt in [*PROMPTS[:2], "Zürich café", PROMPTS[3]]:
        expected = ours.complete(prompt, GREEDY)
        text = theirs.complete(prompt, GREEDY)
        theirs_text = text.replace("<pad>", "").rstrip("\ufffd")
        ours_text = expected.text.replace("\x00", "").rstrip("\ufffd")
        assert theirs_text == ours_text, (mode, prompt)
        cut = ours.decode_text(list(expected.token_ids)).endswith("\ufffd")
        assert text.endswith("\ufffd") == cut, (mode, prompt)
        assert theirs.encode(prompt) == ours.encode(prompt)
