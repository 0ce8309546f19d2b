#!/usr/bin/env bash
# Streaming data benchmark: peak RSS of `tailor data check` (a full pass: parse, render with the chat
# template, tokenize, mask, report) over the demo's chat data repeated to SIZE_MB megabytes, against the
# same pass over the 1 MB original. Memory must stay flat whatever the file size; throughput in MB/s and
# examples/s is printed too. Usage: scripts/bench-data.sh [SIZE_MB]   (default 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-1024}
swift build -c release -j 2 >/dev/null
scripts/fetch-model.sh >/dev/null
tailor=.build/release/tailor
work=$(mktemp -d /tmp/tailor-bench-data.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=datasets/acme-support/train.jsonl
small="$work/small.jsonl"; big="$work/big.jsonl"
cp "$src" "$small"
src_bytes=$(stat -c %s "$src")
reps=$(( (size_mb * 1048576 + src_bytes - 1) / src_bytes ))
for _ in $(seq "$reps"); do cat "$src"; done > "$big"
measure() {  # file -> "seconds peak_kib"
    cat > "$work/run.yaml" <<YAML
name: bench-data
model: models/SmolLM2-135M-Instruct.Q4_1.gguf
data: {train: $1}
train: {steps: 1, max_seq_len: 256}
YAML
    /usr/bin/time -f "%e %M" -o "$work/time" "$tailor" data check "$work/run.yaml" --json > "$work/report.json"
    cat "$work/time"
}
read -r s_small kib_small < <(measure "$small")
read -r s_big kib_big < <(measure "$big")
big_bytes=$(stat -c %s "$big")
examples=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["examples"])' "$work/report.json")
python3 - "$src_bytes" "$s_small" "$kib_small" "$big_bytes" "$s_big" "$kib_big" "$examples" <<'PY' | tee .cache/bench-data.txt
import sys
sb, ss, ks, bb, s, kb, n = map(float, sys.argv[1:])
print(f"file        {sb/2**20:9.1f} MB   {ks/1024:7.1f} MiB peak RSS   {ss:7.1f} s")
print(f"file        {bb/2**20:9.1f} MB   {kb/1024:7.1f} MiB peak RSS   {s:7.1f} s   {bb/2**20/s:.1f} MB/s, {n/s:.0f} examples/s")
print(f"RSS ratio   {kb/ks:.2f}x for a {bb/sb:.0f}x larger file")
PY
