#!/usr/bin/env bash
# Lint (ruff), types (mypy) and the fast tests. Extra arguments go to pytest:
#   ./test.sh            fast tier (tiny models, two processes, a few minutes)
#   ./test.sh -m slow    real-size conversions (GPT-2 124M shapes; minutes and GBs)
#   ./test.sh -m slow tests/slow/test_memory.py ...   those slow modules only
set -euo pipefail
cd "$(dirname "$0")"
.venv/bin/ruff check src tests
.venv/bin/ruff format --check src tests
.venv/bin/mypy
if [ "${1:-}" = "-m" ] && [ "${2:-}" = "slow" ]; then
    shift 2
    modules=("$@")
    [ "${#modules[@]}" -gt 0 ] || modules=(tests/slow/test_*.py)
    # One process per real-size module: memory TensorFlow takes for one module is not
    # given back to the system, and together the modules outgrow a 24 GB machine.
    # Files two modules read are converted once (tests/slow/shared_files.py).
    LITECOMPLETE_TEST_FILES="$(mktemp -d)"
    export LITECOMPLETE_TEST_FILES
    trap 'rm -rf "$LITECOMPLETE_TEST_FILES"' EXIT
    status=0
    for module in "${modules[@]}"; do
        .venv/bin/python -m pytest -m slow "$module" || status=1
    done
    exit "$status"
fi
# The fast tier keeps its data (packed weights, converted models) in a folder of its
# own unless LITECOMPLETE_HOME is set, as CI's is: its tiny models' packed weights would
# push the user's own out of the data directory's weights cache (it keeps 16).
if [ -z "${LITECOMPLETE_HOME:-}" ]; then
    LITECOMPLETE_HOME="$(mktemp -d)"
    export LITECOMPLETE_HOME
    trap 'rm -rf "$LITECOMPLETE_HOME"' EXIT
fi
# The fast tier in two processes, a test file in one (its fixtures built once): the
# tests convert tiny models one core at a time. Arguments given replace that.
if [ "$#" -eq 0 ]; then
    set -- -n 2 --dist loadfile
fi
.venv/bin/python -m pytest "$@"
