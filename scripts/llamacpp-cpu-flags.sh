#!/usr/bin/env bash
# Print the CMake options that build llama.cpp for exactly the instruction sets this CPU
# has (read from /proc/cpuinfo), with AMX left out.
#
# Why not GGML_NATIVE: a native build enables llama.cpp's AMX kernels wherever the CPU has
# AMX, and they crash on Q8_0 weights (upstream issue ggml-org/llama.cpp#20824,
# "segfault in ggml_backend_amx_mul_mat"). Why not a fixed list: an instruction the CPU
# lacks stops the process with "Illegal instruction" (a list of AVX-512 with VBMI, VNNI
# and BF16, right for the AMD EPYC here, did so on a CI machine).
set -euo pipefail
if [ "$(uname -m)" != x86_64 ]; then
  echo "-DGGML_NATIVE=ON" # AMX and these x86 options do not apply
  exit 0
fi
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() {
  local flag
  for flag in "$@"; do
    [[ "$flags" == *" $flag "* ]] || return 1
  done
}
option() { # option NAME cpuinfo-flag...
  local name=$1
  shift
  if has "$@"; then echo -n " -D$name=ON"; else echo -n " -D$name=OFF"; fi
}
echo -n "-DGGML_NATIVE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_BF16=OFF"
option GGML_SSE42 sse4_2
option GGML_AVX avx
option GGML_AVX2 avx2
option GGML_FMA fma
option GGML_F16C f16c
option GGML_BMI2 bmi2
option GGML_AVX_VNNI avx_vnni
option GGML_AVX512 avx512f avx512cd avx512vl avx512dq avx512bw
option GGML_AVX512_VBMI avx512vbmi
option GGML_AVX512_VNNI avx512_vnni
option GGML_AVX512_BF16 avx512_bf16
echo
