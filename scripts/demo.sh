#!/usr/bin/env bash
# Tailor's main job, end to end on a fresh machine: install what is needed, build, fetch the demo model,
# show the frozen 4-bit model at work (info, generate, perplexity), then plan and train LoRA adapters on
# the example company dataset (validation loss falls). Idempotent; fast when done except the training.
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
echo "== tailor plan configs/smollm2-demo.yaml"
$tailor plan configs/smollm2-demo.yaml
echo
echo "== tailor train configs/smollm2-demo.yaml (LoRA on the Brindlepay support-desk dataset)"
$tailor train configs/smollm2-demo.yaml
echo
echo "adapter (PEFT layout):"
ls -l adapters/smollm2-demo

echo
echo "== a held-out question, base model vs the tuned adapter (tailor generate --adapter)"
system=$(cat datasets/acme-support/system.txt)
question="If I change my mind, within how many days can I get my money back?"
echo "Q: $question"
printf 'base:  '; $tailor generate --model $model --chat --system "$system" --prompt "$question" --max-tokens 60
printf 'tuned: '; $tailor generate --model $model --adapter adapters/smollm2-demo --chat --system "$system" --prompt "$question" --max-tokens 60
