#!/usr/bin/env bash
# llama.cpp in .venv, from one build of the sources vendored in the llama-cpp-python sdist
# that constraints.txt pins:
#   - llama-cpp-python, for `litecomplete bench --vs-llamacpp`, the report's llama.cpp rows
#     and the tests that compare against llama.cpp;
#   - llama-perplexity, to check `litecomplete eval` against llama.cpp's own tool, and
#     llama-quantize, for Q4_0 / Q4_K_M files of the same weights (docs/quantization.md).
#
# Built for the instruction sets this CPU has, without AMX: scripts/llamacpp-cpu-flags.sh
# (or CMAKE_ARGS, if set). The binding is installed without a build of its own
# (LLAMA_BUILD=OFF) and loads the shared libraries built here from its package's `lib`
# folder; the two tools sit beside them there (their RPATH is $ORIGIN), linked from
# .venv/bin. One build instead of two: the binding's own build compiled the same library
# again, and its multimodal library, which nothing here uses.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(grep -i '^llama-cpp-python==' constraints.txt | cut -d= -f3)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/python -m pip download --quiet --no-deps --no-binary :all: \
  "llama-cpp-python==$version" -d "$work"
tar xzf "$work/llama_cpp_python-$version.tar.gz" -C "$work"
sdist="$work/llama_cpp_python-$version"
flags="${CMAKE_ARGS:-$(scripts/llamacpp-cpu-flags.sh)}"
echo "building llama.cpp (llama-cpp-python $version) with: $flags"
# shellcheck disable=SC2086,SC2016
cmake -S "$sdist/vendor/llama.cpp" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=ON -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON -DCMAKE_INSTALL_RPATH='$ORIGIN' \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=ON \
  $flags >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }
cmake --build "$work/build" --target llama llama-perplexity llama-quantize -j "$(nproc)" \
  >>"$work/build.log" 2>&1 || { grep -B2 -A8 "error" "$work/build.log" | tail -40; exit 1; }

# The binding without its build: no wheel cache, so a wheel with a library of its own is
# never reused.
CMAKE_ARGS="-DLLAMA_BUILD=OFF -DLLAVA_BUILD=OFF" .venv/bin/python -m pip install --quiet \
  --no-cache-dir --no-deps "$sdist"
.venv/bin/python -m pip install --quiet --no-cache-dir -c constraints.txt -e ".[llamacpp]"
lib=$(.venv/bin/python -c 'import importlib.util as u, pathlib as p
print(p.Path(u.find_spec("llama_cpp").submodule_search_locations[0]) / "lib")')
mkdir -p "$lib"
cp -P "$work"/build/bin/lib*.so* "$lib/"
for tool in llama-perplexity llama-quantize; do
  install -m 755 "$work/build/bin/$tool" "$lib/$tool"
  ln -sf "$lib/$tool" ".venv/bin/$tool"
done
# (ldd on the links would look for $ORIGIN's libraries in .venv/bin; running them does not.)
if ldd "$lib/llama-perplexity" "$lib/llama-quantize" | grep "not found"; then
  exit 1
fi
.venv/bin/llama-perplexity --help >/dev/null
.venv/bin/python -c "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"
echo "installed llama-cpp-python $version, .venv/bin/llama-perplexity and llama-quantize"
