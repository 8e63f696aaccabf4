"""Code that only reads or runs files must not pull TensorFlow in at import time."""

from __future__ import annotations

import subprocess
import sys

LIGHT_MODULES = [
    "litecomplete",
    "litecomplete.cli",
    "litecomplete.contract",
    "litecomplete.inspect",
    "litecomplete.runtime",
    "litecomplete.runtime.tokenizer",
    "litecomplete.bench.app_bench",
    "litecomplete.models",
    "litecomplete.convert",
    "litecomplete.quantize",
    "litecomplete.safety",
    "litecomplete.app.server",
    "litecomplete.app.registry",
    "litecomplete.commands.serve",
]


def test_light_modules_do_not_import_tensorflow() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in LIGHT_MODULES)
        + "heavy = sorted(m for m in ('tensorflow', 'keras', 'keras_hub', 'tensorflow_text') "
        "if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_gpt2_tokenizer_matches_keras_hub(tiny_lm: object) -> None:
    import numpy as np

    from litecomplete.runtime.tokenizer import gpt2_tokenizer

    text = "Hello world!  It's 2026: naïve café, 東京, emoji 🙂, code: x += 1\n\ttabs"
    keras_ids = np.asarray(tiny_lm.preprocessor.tokenizer(text)).tolist()  # type: ignore[attr-defined]
    assert gpt2_tokenizer().encode(text).ids == keras_ids
    assert gpt2_tokenizer().decode(keras_ids) == text
