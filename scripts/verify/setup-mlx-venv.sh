#!/usr/bin/env bash
# Create (or reuse) the git-ignored venv .venv-mlx (repo root) with mlx (CPU build) and mlx-lm, pinned by
# scripts/verify/requirements-mlx.txt, for scripts/verify/mlx_logits.py. Idempotent: if the venv exists
# and was built from the same requirements file, it only checks the imports (about a second).
# Usage: scripts/verify/setup-mlx-venv.sh [--force]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$ROOT/.venv-mlx"
REQ="$HERE/requirements-mlx.txt"
STAMP="$VENV/.mlx-requirements.sha256"
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
check_imports() { "$VENV/bin/python" -c 'import mlx.core, mlx_lm' >/dev/null 2>&1; }
if [[ "${1:-}" != "--force" && -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] && check_imports; then
    echo "setup-mlx-venv: $VENV is up to date"
    exit 0
fi
[[ -x "$VENV/bin/python" ]] || "${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/pip" install --disable-pip-version-check --progress-bar off -q -r "$REQ"
check_imports || { echo "setup-mlx-venv: imports failed after install" >&2; exit 1; }
echo "$want" > "$STAMP"
"$VENV/bin/python" -c 'from importlib.metadata import version as v; print("setup-mlx-venv: ok mlx", v("mlx"), "mlx-lm", v("mlx-lm"))'
