#!/usr/bin/env bash
# Build llama-cpp-python into .venv for `litecomplete bench --vs-llamacpp` (about 5 minutes).
#
# llama.cpp's AMX kernels crash on Q8_0 weights on CPUs that have AMX (upstream issue
# ggml-org/llama.cpp#20824, "segfault in ggml_backend_amx_mul_mat"); a native build
# enables them wherever the CPU has them. This build targets AVX-512 explicitly and
# leaves AMX out, so Q8_0 runs.
set -euo pipefail
cd "$(dirname "$0")/.."
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AMX_INT8=OFF}"
else
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=ON -DGGML_AMX_INT8=OFF}"
fi
# No wheel cache: a cached build made without these flags would be reused.
.venv/bin/python -m pip install --quiet --no-cache-dir -c constraints.txt -e ".[llamacpp]"
.venv/bin/python -c "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"
