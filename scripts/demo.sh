#!/usr/bin/env bash
# Tailor's main job, end to end on a fresh machine: install what is needed, build, fetch the demo model,
# show the frozen 4-bit model at work (info, generate, perplexity), then plan and train LoRA adapters on
# the example company dataset (validation loss falls), compare base and tuned answers on held-out questions,
# and merge the adapter into a standalone GGUF. Idempotent; fast when done except the training.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh
tailor_install_deps
scripts/fetch-model.sh
swift build -c release -j 2 --product tailor >&2
tailor=.build/release/tailor
model=models/SmolLM2-135M-Instruct.Q4_1.gguf
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-$(nproc)}

echo "== tailor info"
$tailor info --model $model
echo
echo "== tailor generate --chat (greedy)"
$tailor generate --model $model --chat --prompt "Give me three tips for writing clear bug reports." --max-tokens 120
echo
echo "== tailor generate (sampled, seed 7)"
$tailor generate --model $model --prompt "The lighthouse keeper opened the logbook and wrote" --max-tokens 48 --temp 0.8 --top-p 0.95 --seed 7
echo
echo "== tailor perplexity (llama-perplexity convention, ctx 256)"
$tailor perplexity --model $model --file Tests/TailorKitTests/Fixtures/ppl_text.txt --ctx 256

echo
echo "== tailor data check configs/smollm2-demo.yaml --show 1 (what the model will learn: supervised text in ⟦ ⟧)"
$tailor data check configs/smollm2-demo.yaml --show 1
echo
echo "== tailor plan configs/smollm2-demo.yaml"
$tailor plan configs/smollm2-demo.yaml
echo
echo "== tailor train configs/smollm2-demo.yaml (LoRA on the Brindlepay support-desk chats; answers supervised)"
$tailor train configs/smollm2-demo.yaml
echo
echo "adapter (PEFT layout) and checkpoints:"
ls -l adapters/smollm2-demo adapters/smollm2-demo/checkpoints
echo
echo "== tailor status smollm2-demo"
$tailor status smollm2-demo

echo
echo "== held-out questions (phrased unlike anything in the training data): base model vs the tuned adapter"
system=$(cat datasets/acme-support/system.txt)
base_ok=0; tuned_ok=0; total=0
while IFS=$'\t' read -r question expect; do
    total=$((total + 1))
    base=$($tailor generate --model $model --chat --system "$system" --prompt "$question" --max-tokens 60 2>/dev/null)
    tuned=$($tailor generate --model $model --adapter adapters/smollm2-demo --chat --system "$system" --prompt "$question" --max-tokens 60 2>/dev/null)
    grep -qiF -- "$expect" <<<"$base" && base_ok=$((base_ok + 1))
    grep -qiF -- "$expect" <<<"$tuned" && tuned_ok=$((tuned_ok + 1))
    echo "Q: $question   (expected: $expect)"
    echo "   base:  $base"
    echo "   tuned: $tuned"
done < <(python3 -c 'import json,sys
for l in open("datasets/acme-support/heldout.jsonl"):
    d = json.loads(l); print(d["question"] + "\t" + d["expect"])')
echo
echo "held-out answers containing the expected fact: base $base_ok/$total, tuned $tuned_ok/$total"

echo
echo "== tailor merge: the adapter folded into the base (f16), then the merged model alone on the first held-out question"
$tailor merge --model $model --adapter adapters/smollm2-demo --out models/smollm2-demo-merged.gguf
question=$(python3 -c 'import json; print(json.loads(open("datasets/acme-support/heldout.jsonl").readline())["question"])')
echo "Q: $question"
echo "   merged: $($tailor generate --model models/smollm2-demo-merged.gguf --chat --system "$system" --prompt "$question" --max-tokens 60 2>/dev/null)"
