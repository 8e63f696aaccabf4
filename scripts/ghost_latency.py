"""Time from keystroke to ghost text in the web app, in headless Chromium.

    python scripts/ghost_latency.py [--model default] [--delay-ms 150] [--speculative off]

Starts `litecomplete serve` (the default model unless --models-dir/--model say
otherwise), types sentences into the page one key at a time like a person
(--delay-ms between keys) and prints, over every keystroke that got a ghost, the
milliseconds from the key to the ghost on screen: for ghosts fetched from the model,
for ghosts kept because the key matched what the ghost predicted, and for all.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_test import percentile, start_server  # noqa: E402

SENTENCES = [
    "Once upon a time there was a little girl who lived in a village near the forest.",
    "The weather today is sunny with a light breeze from the west.",
    "I'm enjoying a quiet evening at home with a good book and a cup of tea.",
]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models-dir")
    p.add_argument("--model", default="default")
    p.add_argument("--delay-ms", type=float, default=150.0)
    p.add_argument("--speculative", default="auto", help="the server's --speculative")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    from litecomplete.app.headless import launch_chromium

    server, url = start_server(args)
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw, Path(args.chromium))
            page = browser.new_page()
            page.goto(url + "/")
            page.wait_for_selector("#model option", state="attached")  # (the page forbids eval)
            page.select_option("#model", args.model)
            for sentence in SENTENCES:
                page.locator("#clear").click()
                page.locator("#text").click()
                for ch in sentence:
                    page.keyboard.type(ch)
                    time.sleep(args.delay_ms / 1000)
                time.sleep(0.5)
            ms = page.evaluate("window.litecompleteStats.ghostMs")
            kinds = page.evaluate("window.litecompleteStats.ghostKinds")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    keys = sum(len(s) for s in SENTENCES)
    print(f"keystrokes             {keys} ({args.delay_ms:.0f} ms apart)")
    for kind in ("fetched", "kept", "all"):
        values = [m for m, k in zip(ms, kinds, strict=True) if kind in (k, "all")]
        if not values:
            print(f"{kind:8s} ghosts       0")
            continue
        print(
            f"{kind:8s} ghosts       {len(values):4d}  key-to-ghost ms: "
            f"p50 {statistics.median(values):.0f}  p90 {percentile(values, 0.9):.0f}  "
            f"max {max(values):.0f}"
        )


if __name__ == "__main__":
    main()
