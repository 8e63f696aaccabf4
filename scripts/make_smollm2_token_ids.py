"""Write tests/data/smollm2_token_ids.json: llama.cpp's token ids for a varied text set.

Run once (needs the llamacpp extra: scripts/install-llamacpp.sh), commit the JSON; the
tests then check litecomplete's GGUF tokenizer against llama.cpp without llama.cpp.

    .venv/bin/python scripts/make_smollm2_token_ids.py
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version
from pathlib import Path

from llama_cpp import Llama

from litecomplete.models.embedded import smollm2_gguf_path

TEXTS = [
    "I'm enjoying a",
    "Hello world! It's a beautiful day.",
    "naïve café, Zürich, São Paulo, Ærøskøbing",
    "東京タワーと富士山。日本語のテキスト。",
    "Привет, мир! Ελληνικά κείμενα. עברית. العربية",
    "emoji 🙂🚀👩‍💻🇹🇷 and flags",
    "1234567890 3.14159 -42 1e-9 0x1F 2026-11-25",
    "   leading spaces, double  spaces,\ttabs\t\tand\n\nnewlines\n\n\n",
    "def fibonacci(n):\n    if n < 2:\n        return n\n"
    "    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    'for (int i = 0; i < 10; ++i) { printf("%d\\n", i); }',
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "Shall I compare thee to a summer's day? Thou art more lovely and more temperate.",
    "URLs: https://example.com/path?q=1&r=2#frag, e-mail: someone@example.org",
    "Mixed CASE words, ALLCAPS, camelCase, snake_case, kebab-case",
    "'s 't 're 've 'm 'll 'd — quotes “curly” and ‘single’",
    " ",
    "a",
]


def main() -> None:
    path = smollm2_gguf_path()
    llm = Llama(str(path), vocab_only=True, verbose=False)
    cases = [
        {"text": t, "ids": llm.tokenize(t.encode("utf-8"), add_bos=False, special=True)}
        for t in TEXTS
    ]
    out = Path(__file__).resolve().parent.parent / "tests" / "data" / "smollm2_token_ids.json"
    payload = {
        "gguf": path.name,
        "gguf_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "llama_cpp_python": version("llama-cpp-python"),
        "cases": cases,
    }
    out.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
