"""Write src/litecomplete/data/eval.txt: evaluation text from the Jargon File (public domain).

The text is the prose of the Jargon File's opening chapters (version 4.4.7, as shipped
in Debian's ``jargon-text`` package), disjoint from the calibration text (Shakespeare's
"The Tempest"). Run once; the result is checked in:

    apt-get download jargon-text && dpkg-deb -x jargon-text_*.deb jargon
    python scripts/make_eval_text.py jargon/usr/share/doc/jargon-text/jargon.txt.gz
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src/litecomplete/data/eval.txt"
LIMIT_CHARS = 60_000
HEADER = """\
# Evaluation text for perplexity and quantization quality: the opening chapters of the
# Jargon File 4.4.7 (public domain; Eric S. Raymond et al.), from Debian's `jargon-text`
# package. Paragraphs one a line; cross-reference braces removed. Written by
# scripts/make_eval_text.py.
"""


def paragraphs(text: str) -> list[str]:
    start = re.search(r"Chapter\s+1\.\s+Hacker\s+Slang", text)
    end = re.search(r"\nGlossary\s*\n", text)
    assert start and end, "the Jargon File's first chapter or its glossary is missing"
    body = text[start.start() : end.start()]
    result = []
    for block in re.split(r"\n\s*\n", body):
        lines = [line.strip() for line in block.splitlines()]
        para = " ".join(line for line in lines if line)
        # Prose only: headings, tables and examples are short or lack sentences.
        if len(para) < 200 or not para.endswith((".", '"', "”", ")")):
            continue
        para = re.sub(r"\{([^}]*)\}", r"\1", para)
        result.append(para)
    return result


def main(path: str) -> None:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        text = f.read()
    out, size = [], 0
    for para in paragraphs(text):
        if size + len(para) > LIMIT_CHARS:
            break
        out.append(para)
        size += len(para) + 1
    OUT.write_text(HEADER + "\n".join(out) + "\n", encoding="utf-8")
    print(f"wrote {OUT}: {len(out)} paragraphs, {size} characters")


if __name__ == "__main__":
    main(sys.argv[1])
