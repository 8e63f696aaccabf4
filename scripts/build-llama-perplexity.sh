#!/usr/bin/env bash
# Build llama.cpp's perplexity tool (llama-perplexity) and its quantizer (llama-quantize,
# for Q4_0 / Q4_K_M files of the same weights) into .venv/bin, from the llama.cpp
# sources vendored in the llama-cpp-python sdist that the llamacpp extra pins (a few
# minutes). Used to check `litecomplete eval` against llama.cpp (docs/quantization.md).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(grep -i '^llama-cpp-python==' constraints.txt | cut -d= -f3)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/python -m pip download --quiet --no-deps --no-binary :all: \
  "llama-cpp-python==$version" -d "$work"
tar xzf "$work"/llama_cpp_python-"$version".tar.gz -C "$work"
src="$work/llama_cpp_python-$version/vendor/llama.cpp"
# Same CPU flags as scripts/install-llamacpp.sh.
flags=$(scripts/llamacpp-cpu-flags.sh)
# shellcheck disable=SC2086
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
  $flags >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }
cmake --build "$work/build" --target llama-perplexity llama-quantize -j "$(nproc)" \
  >>"$work/build.log" 2>&1 || { grep -B2 -A8 "error" "$work/build.log" | tail -40; exit 1; }
for tool in llama-perplexity llama-quantize; do
  install -m 755 "$work/build/bin/$tool" ".venv/bin/$tool"
done
echo "built .venv/bin/llama-perplexity and llama-quantize (llama.cpp from llama-cpp-python $version)"
