#!/usr/bin/env bash
# Build llama-cpp-python into .venv for `litecomplete bench --vs-llamacpp` (about 5 minutes).
#
# Built for the instruction sets this CPU has, without AMX: scripts/llamacpp-cpu-flags.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
CMAKE_ARGS="${CMAKE_ARGS:-$(scripts/llamacpp-cpu-flags.sh)}"
export CMAKE_ARGS
echo "building llama-cpp-python with: $CMAKE_ARGS"
# No wheel cache: a cached build made without these flags would be reused.
.venv/bin/python -m pip install --quiet --no-cache-dir -c constraints.txt -e ".[llamacpp]"
.venv/bin/python -c "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"
