"""How often the text's next token is among a model's k likeliest (k = 1..128).

    python scripts/next_token_rank.py [MODEL.tflite]   (default: the default model)

On each typing-session text (``bench --sessions``: the packaged prose and Python's
``textwrap.py``), windows of 256 tokens from its first 4,000, scored from the 65th
token on: the share of positions whose actual next token is among the model's k
likeliest. What look-ahead can cover with k - 1 alternatives (DEVELOPERS.md).
"""

from __future__ import annotations

import sys

import numpy as np

from litecomplete.bench.sessions import session_texts
from litecomplete.default_model import default_model_path
from litecomplete.runtime.fast_model import FastModel

WINDOW, FIRST, LIMIT, TOP = 256, 64, 4000, 128
SHOWN = (1, 2, 4, 6, 8, 16, 32, 64, 128)


def main() -> None:
    model = FastModel.load(sys.argv[1] if len(sys.argv) > 1 else default_model_path())
    for name, text in session_texts().items():
        ids = model.encode(text)
        hits, positions = np.zeros(TOP + 1), 0
        for start in range(0, min(len(ids), LIMIT) - WINDOW, WINDOW):
            window = ids[start : start + WINDOW]
            rows = model.logits_rows(window, FIRST)
            for i in range(len(rows) - 1):
                order = np.argsort(-rows[i])[:TOP]
                rank = np.where(order == window[FIRST + i + 1])[0]
                positions += 1
                if len(rank):
                    hits[rank[0] + 1 :] += 1
        shares = " ".join(f"top{k}={hits[k] / positions:.2f}" for k in SHOWN)
        print(name, positions, shares)


if __name__ == "__main__":
    main()
