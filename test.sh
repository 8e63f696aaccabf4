#!/usr/bin/env bash
# Lint (ruff), types (mypy) and the fast tests. Extra arguments go to pytest:
#   ./test.sh            fast tier (tiny models, a few minutes)
#   ./test.sh -m slow    real-size conversions (GPT-2 124M shapes; minutes and GBs)
set -euo pipefail
cd "$(dirname "$0")"
.venv/bin/ruff check src tests
.venv/bin/ruff format --check src tests
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
