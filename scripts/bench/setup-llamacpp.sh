#!/usr/bin/env bash
# Create (or reuse) the git-ignored benchmark venv /work/main/.venv-bench with llama-cpp-python (the
# llama.cpp reference for scripts/bench-infer.sh), built from the PyPI sdist for this machine's CPU.
#
# - llama.cpp is compiled with cmake (pulled from PyPI by pip's build isolation; no apt needed) with
#   GGML_NATIVE=ON (-march=native), GGML_OPENMP=ON (gcc's libgomp), and 2-way build parallelism.
# - The built wheel is cached under .cache/wheels/llama-cpp-python-<key>/ (or $TAILOR_WHEEL_CACHE/...), where
#   <key> hashes the version, cmake args, compiler and CPU flags (a native build must not be reused on a
#   different CPU). A second
#   run with a warm cache installs from it in seconds; a run with the venv already up to date only
#   checks the import (about a second).
# - The vendored llama.cpp commit is read from the sdist's CHANGELOG and baked in via LLAMA_BUILD_COMMIT,
#   so ggml_commit() reports it.
#
# Usage: scripts/bench/setup-llamacpp.sh [--force]   (--force rebuilds the wheel and reinstalls)
set -euo pipefail

LCP_VERSION="0.3.36"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$ROOT/.venv-bench"
CACHE="${TAILOR_WHEEL_CACHE:-$ROOT/.cache/wheels}"
PY="${PYTHON:-python3}"
FORCE=0; [[ "${1:-}" == "--force" ]] && FORCE=1

CMAKE_FLAGS="-DGGML_NATIVE=ON -DGGML_OPENMP=ON -DGGML_BLAS=OFF -DLLAVA_BUILD=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DCMAKE_BUILD_TYPE=Release"
cpu_flags="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)"
cc_ver="$( (cc --version 2>/dev/null || true) | head -1)"
key="$(printf '%s\n%s\n%s\n%s\n%s\n' "$LCP_VERSION" "$CMAKE_FLAGS" "$cc_ver" "$cpu_flags" "$(uname -m)" | sha256sum | cut -c1-12)"
WHEELDIR="$CACHE/llama-cpp-python-$LCP_VERSION-$key"
STAMP="$VENV/.llamacpp-build-key"

report() {
    "$VENV/bin/python" - <<'EOF'
import ctypes, llama_cpp
lib = llama_cpp.llama_cpp._lib
def s(name):
    try:
        f = getattr(lib, name); f.restype = ctypes.c_char_p; return f().decode()
    except AttributeError:
        return "n/a"
import os, sys
cf = os.path.join(sys.prefix, ".llamacpp-commit")
commit = open(cf).read().strip() if os.path.exists(cf) else "?"
print(f"setup-llamacpp: llama-cpp-python {llama_cpp.__version__}, llama.cpp commit {commit} (ggml_commit {s('ggml_commit')}), ggml {s('ggml_version')}")
print("setup-llamacpp: system_info:", llama_cpp.llama_print_system_info().decode().strip())
EOF
}

if [[ $FORCE == 0 && -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$key" ]] \
        && "$VENV/bin/python" -c 'import llama_cpp' >/dev/null 2>&1; then
    echo "setup-llamacpp: $VENV is up to date"
    report
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "setup-llamacpp: creating $VENV with $("$PY" --version)"
    "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/pip" --disable-pip-version-check)

mkdir -p "$WHEELDIR"
SRC="$CACHE/src"
sdist="$SRC/llama_cpp_python-$LCP_VERSION.tar.gz"
llama_commit() {  # the vendored llama.cpp commit, from the release's CHANGELOG ("update llama.cpp to ggml-org/llama.cpp@SHA")
    local c
    c="$(tar -xzOf "$sdist" "llama_cpp_python-$LCP_VERSION/CHANGELOG.md" 2>/dev/null \
        | awk -v v="## [$LCP_VERSION]" '$0==v{f=1;next} f&&/^## \[/{exit} f' \
        | grep -oE 'llama\.cpp@[0-9a-f]{7,40}' | head -1 | cut -d@ -f2 || true)"
    echo "${c:-unknown}"
}
wheel="$(ls "$WHEELDIR"/llama_cpp_python-"$LCP_VERSION"-*.whl 2>/dev/null | head -1 || true)"
if [[ $FORCE == 1 || -z "$wheel" ]]; then
    rm -f "$WHEELDIR"/*.whl
    mkdir -p "$SRC"
    if [[ ! -f "$sdist" ]]; then
        echo "setup-llamacpp: downloading llama-cpp-python==$LCP_VERSION sdist"
        "${PIP[@]}" download --quiet --no-deps --no-binary llama-cpp-python "llama-cpp-python==$LCP_VERSION" -d "$SRC"
    fi
    commit="$(llama_commit)"
    log="$WHEELDIR/build.log"
    echo "setup-llamacpp: building llama-cpp-python $LCP_VERSION (llama.cpp $commit), native CPU, 2 jobs; log: $log"
    t0=$(date +%s)
    if ! CMAKE_ARGS="$CMAKE_FLAGS -DLLAMA_BUILD_COMMIT=$commit" CMAKE_BUILD_PARALLEL_LEVEL=2 FORCE_CMAKE=1 \
            "${PIP[@]}" wheel -v --no-deps -w "$WHEELDIR" "$sdist" >"$log" 2>&1; then
        tail -40 "$log" >&2
        echo "setup-llamacpp: wheel build failed (full log: $log)" >&2
        exit 1
    fi
    echo "setup-llamacpp: built in $(( $(date +%s) - t0 )) s"
    wheel="$(ls "$WHEELDIR"/llama_cpp_python-"$LCP_VERSION"-*.whl | head -1)"
fi

echo "setup-llamacpp: installing $(basename "$wheel")"
"${PIP[@]}" install --quiet --progress-bar off --force-reinstall --no-deps "$wheel"
# Runtime deps (numpy, diskcache, jinja2, typing-extensions) from PyPI; the wheel itself from the cache.
"${PIP[@]}" install --quiet --progress-bar off --find-links "$WHEELDIR" "llama-cpp-python==$LCP_VERSION"
"$VENV/bin/python" -c 'import llama_cpp' || { echo "setup-llamacpp: import llama_cpp failed" >&2; exit 1; }
[[ -f "$sdist" ]] && llama_commit > "$VENV/.llamacpp-commit"
echo "$key" > "$STAMP"
report
