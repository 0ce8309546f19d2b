#!/usr/bin/env bash
# Create (or reuse) the git-ignored reference venv /work/main/.venv-ref (repo-root/.venv-ref) with the
# pinned packages in scripts/golden/requirements.txt. Idempotent: if the venv exists and was built from
# the same requirements.txt, it only checks the imports and exits (about a second).
#
# torch: requirements.txt pins torch==2.13.0+cpu. That build is not on PyPI itself; here it comes from
# pip's configured find-links (/opt/wheels on these machines). If it cannot be found, the plain PyPI
# torch==2.13.0 wheel is installed instead (same numerics on CPU, but a much larger download).
#
# Usage: scripts/golden/setup-venv.sh [--force]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$ROOT/.venv-ref"
REQ="$HERE/requirements.txt"
STAMP="$VENV/.golden-requirements.sha256"
PY="${PYTHON:-python3}"

want="$(sha256sum "$REQ" | cut -d' ' -f1)"
check_imports() {
    "$VENV/bin/python" -c 'import torch, transformers, gguf, numpy, safetensors, accelerate, peft' >/dev/null 2>&1
}

if [[ "${1:-}" != "--force" && -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] && check_imports; then
    echo "setup-venv: $VENV is up to date"
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "setup-venv: creating $VENV with $("$PY" --version)"
    "$PY" -m venv "$VENV"
fi

PIP=("$VENV/bin/pip" install --disable-pip-version-check --progress-bar off)

if ! "${PIP[@]}" -r "$REQ"; then
    echo "setup-venv: torch==2.13.0+cpu not installable here; falling back to PyPI torch==2.13.0" >&2
    tmp="$(mktemp)"
    trap 'rm -f "$tmp"' EXIT
    sed -E 's/^torch==2\.13\.0\+cpu$/torch==2.13.0/' "$REQ" > "$tmp"
    "${PIP[@]}" -r "$tmp"
fi

check_imports || { echo "setup-venv: imports failed after install" >&2; exit 1; }
echo "$want" > "$STAMP"
"$VENV/bin/python" -c 'import torch, transformers, gguf, numpy; from importlib.metadata import version as v; print("setup-venv: ok torch", torch.__version__, "transformers", transformers.__version__, "gguf", v("gguf"), "numpy", numpy.__version__)'
