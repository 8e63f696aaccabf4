"""The typed fast-format manifest: what it writes it reads back, and it names what is wrong."""

from __future__ import annotations

import re

import pytest

from litecomplete.contract import FastManifest
from litecomplete.models import llama
from litecomplete.models.spec import Norm


def _manifest() -> FastManifest:
    return FastManifest(
        decoder=llama.fake_spec(),
        quantization="int8",
        max_length=64,
        buckets=(16, 64),
        verify=(4, 16),
        end_token_ids=(2, 0),
        start_token_id=1,
        outlier_channels=48,
        decode_spans=(16, 32),
        fills=(64,),
    )


def test_a_manifest_reads_back_what_it_wrote() -> None:
    written = _manifest()
    fields = written.to_json()
    assert fields["end_token_id"] == 2 and fields["decoder"]["norm"] == "rms"
    read = FastManifest.from_json(fields)
    assert read == written
    assert read.decoder.norm is Norm.RMS and read.architecture == "llama"


def test_a_gemma3_manifest_reads_back_its_layer_pattern() -> None:
    from dataclasses import replace

    from litecomplete.models import gemma3

    written = replace(_manifest(), decoder=gemma3.fake_spec(), start_token_id=2)
    read = FastManifest.from_json(written.to_json())
    assert read == written
    assert [read.decoder.is_local(i) for i in range(7)] == [True] * 5 + [False, True]


def test_an_older_manifest_without_optional_fields_reads() -> None:
    fields = _manifest().to_json()
    for key in ("verify", "end_token_ids", "outlier_channels", "decode_spans", "fills"):
        del fields[key]
    read = FastManifest.from_json(fields)
    assert read.verify == () and read.end_token_ids == (2,) and read.outlier_channels is None
    assert read.decode_spans == () and read.fills == ()
    assert read.signatures() == ["decode", "prefill_16", "prefill_64"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_length": 1e308}, "max_length is 1e+308"),
        ({"buckets": [128]}, "buckets is [128]"),
        ({"decode_spans": [64]}, "decode_spans is [64]"),
        ({"decode_spans": "16"}, "decode_spans is '16'"),
        ({"fills": [32]}, "fills is [32], expected a list of bucket lengths ([16, 64])"),
        ({"fills": [64, 64]}, "fills is [64, 64]"),
        ({"fills": [True]}, "fills is [True]"),
        ({"fills": [[64]]}, "fills is [[64]]"),
        ({"start_token_id": 49152}, "start_token_id is 49152"),
        ({"decoder": {**_manifest().to_json()["decoder"], "norm": "batch"}}, "unknown norm"),
        ({"decoder": {**_manifest().to_json()["decoder"], "heads": 3}}, "unknown fields"),
        ({"decoder": {**_manifest().to_json()["decoder"], "global_every": 0}}, "global_every is 0"),
        ({"decoder": {**_manifest().to_json()["decoder"], "sliding_window": -1}}, "window is -1"),
    ],
)
def test_a_lying_manifest_is_named(change: dict[str, object], message: str) -> None:
    from litecomplete.errors import ConfigError

    with pytest.raises((ValueError, ConfigError), match=re.escape(message)):
        FastManifest.from_json(_manifest().to_json() | change)
