#!/usr/bin/env bash
# TensorFlow Lite 2.12, the runtime the seed's Android app ships, in its own environment
# (.venv-tflite212, about 2 GB): TensorFlow 2.12.1 and tensorflow-text 2.12.1 from PyPI,
# with every package pinned (constraints-tflite212.txt).
# The tests run app-format files on it as the app does (tests/oracles/seed_app_runtime.py).
#   scripts/install-tflite212.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv-tflite212/bin/python ] || "$PYTHON" -m venv .venv-tflite212
.venv-tflite212/bin/python -m pip install --quiet --upgrade pip
.venv-tflite212/bin/python -m pip install --quiet -c constraints-tflite212.txt \
    "tensorflow==2.12.1" "tensorflow-text==2.12.1"
.venv-tflite212/bin/python -c 'import tensorflow as tf; assert tf.__version__ == "2.12.1", tf.__version__'
echo "TensorFlow Lite 2.12 installed in .venv-tflite212" >&2
