#!/usr/bin/env bash
# Do other tools load Tailor's adapters and merged models, and Tailor their adapters? (issue 6, item 4;
# run by scripts/test.sh)
#
#   1. `tailor train` makes a small adapter (all seven linears of blocks 0, 1, 7, 15, 29: a block subset,
#      so layers_to_transform is exercised), and `tailor generate --logits-out` scores a prompt with and
#      without it.
#   2. PEFT: PeftModel.from_pretrained loads it on the transformers model (the same GGUF, dequantized)
#      and its logits equal Tailor's within 2e-3 (scripts/verify/peft_logits.py).
#   3. llama.cpp: `tailor export-adapter --format gguf` converts it; llama-cpp-python loads the base GGUF
#      with that LoRA and agrees within llama.cpp's own quantization noise
#      (scripts/verify/llamacpp_logits.py states how that is measured).
#   4. mlx-lm: `tailor export-adapter --format mlx` converts it; mlx-lm's load_adapters applies it to the
#      same base (as a Hugging Face checkpoint: scripts/verify/make_hf_checkpoint.py) on mlx's CPU
#      build and agrees within 2e-3 (scripts/verify/mlx_logits.py).
#   5. The other way round: PEFT makes an adapter (scripts/verify/make_peft_adapter.py: rsLoRA, q/k only,
#      seeded nonzero B); Tailor's logits with it equal PEFT's, its GGUF and mlx exports agree in
#      llama.cpp and mlx-lm, and `tailor train` with `lora.init_from` starts from it (step-0 validation
#      loss = PEFT's NLL) and trains on; PEFT loads the continued adapter and agrees again.
#   6. Merged models: `tailor merge` folds the Tailor-trained adapter into the base (f32 and f16 GGUFs);
#      PEFT's merge_and_unload of the same adapter gives the logits Tailor gives on its f32 merge,
#      transformers loads that GGUF and agrees, and llama-cpp-python runs the f16 merge and agrees within
#      its own quantization noise.
#
# Virtual environments (git-ignored): .venv-ref (scripts/golden/setup-venv.sh: torch, transformers,
# peft, gguf), .venv-bench (scripts/bench/setup-llamacpp.sh: llama-cpp-python built for this CPU; its
# wheel is cached in $TAILOR_WHEEL_CACHE, default ~/.cache/tailor/wheels, so fresh clones on the same
# machine do not rebuild it) and .venv-mlx (scripts/verify/setup-mlx-venv.sh: mlx[cpu], mlx-lm).
# Creating them takes several minutes the first time, seconds after.
# Uses .build/release/tailor (override with TAILOR=path), building it if missing.
# Prints one PASS/FAIL line per check; exits 1 if any check failed.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
TAILOR=${TAILOR:-.build/release/tailor}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
export TAILOR_WHEEL_CACHE=${TAILOR_WHEEL_CACHE:-$HOME/.cache/tailor/wheels}
# Quiet Python: no deprecation warnings or progress bars between the PASS/FAIL lines.
export PYTHONWARNINGS=ignore HF_HUB_DISABLE_PROGRESS_BARS=1 TRANSFORMERS_VERBOSITY=error TQDM_DISABLE=1

scripts/fetch-model.sh
bash scripts/golden/setup-venv.sh
bash scripts/bench/setup-llamacpp.sh
bash scripts/verify/setup-mlx-venv.sh
if [[ ! -x "$TAILOR" ]]; then
    swift build -c release -Xswiftc -enable-testing --product tailor -j 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tailor-verify-adapters.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PY_REF=.venv-ref/bin/python
PY_LLAMA=.venv-bench/bin/python
PY_MLX=.venv-mlx/bin/python
PROMPT="The support desk answers questions about invoices, currencies and refunds. How do I change the currency of an invoice?"
VALID_TEXT="Brindlepay invoices can use any of 38 currencies; each invoice keeps its own currency."
step() { echo "verify-adapters: $*" >&2; }
logits() {  # logits OUT [--adapter DIR] [--prompt TEXT]: the prompt's logits as Tailor computes them
    local out=$1; shift
    "$TAILOR" generate -m "$MODEL" --max-tokens 0 --threads 2 --logits-out "$out" "$@" >/dev/null
}
merged_logits() {  # merged_logits MERGED_GGUF OUT: the prompt's logits on a merged model
    "$TAILOR" generate -m "$1" --max-tokens 0 --threads 2 --logits-out "$2" --prompt "$PROMPT" >/dev/null
}

step "1. a Tailor adapter (tailor train, 6 steps)"
cat > "$WORK/tailor.yaml" <<YAML
name: verify-tailor
model: $MODEL
output: $WORK/tailor-adapter
data:
  train: datasets/acme-support/text/train.jsonl
lora:
  rank: 4
  alpha: 8
  targets: all-linear
  layers: [0, 1, 7, 15, 29]
train:
  steps: 6
  batch_size: 2
  max_seq_len: 64
  lr: 1.0e-2
  schedule: constant
  seed: 7
  threads: 2
YAML
"$TAILOR" train "$WORK/tailor.yaml" 2>"$WORK/train-tailor.log" || { cat "$WORK/train-tailor.log" >&2; exit 1; }
logits "$WORK/base.safetensors" --prompt "$PROMPT"
logits "$WORK/tailor.safetensors" --prompt "$PROMPT" --adapter "$WORK/tailor-adapter"
"$TAILOR" export-adapter "$WORK/tailor-adapter" --format gguf --out "$WORK/tailor-lora.gguf" >&2
"$TAILOR" export-adapter "$WORK/tailor-adapter" --format mlx --out "$WORK/tailor-mlx" >&2
for q in f32 f16; do
    "$TAILOR" merge -m "$MODEL" --adapter "$WORK/tailor-adapter" --out "$WORK/merged-$q.gguf" --quant $q --threads 2 >&2
    merged_logits "$WORK/merged-$q.gguf" "$WORK/merged-$q.safetensors"
done

step "2. a PEFT adapter (PEFT's save_pretrained), loaded, exported and trained on by Tailor"
"$PY_REF" scripts/verify/make_peft_adapter.py --model "$MODEL" --out "$WORK/peft-adapter" >&2
logits "$WORK/peft.safetensors" --prompt "$PROMPT" --adapter "$WORK/peft-adapter"
"$TAILOR" export-adapter "$WORK/peft-adapter" --model "$MODEL" --format gguf --out "$WORK/peft-lora.gguf" >&2
"$TAILOR" export-adapter "$WORK/peft-adapter" --model "$MODEL" --format mlx --out "$WORK/peft-mlx" >&2
printf '{"text": "%s"}\n' "$VALID_TEXT" > "$WORK/valid.jsonl"
cat > "$WORK/continue.yaml" <<YAML
name: verify-continue
model: $MODEL
output: $WORK/continued-adapter
data:
  train: $WORK/valid.jsonl
  valid: $WORK/valid.jsonl
lora:
  rank: 4
  alpha: 8
  use_rslora: true
  targets: [q_proj, k_proj]
  layers: all
  init_from: $WORK/peft-adapter
train:
  steps: 3
  batch_size: 1
  max_seq_len: 64
  lr: 1.0e-3
  schedule: constant
  seed: 1
  threads: 2
YAML
"$TAILOR" train "$WORK/continue.yaml" --json >"$WORK/continue.json" 2>"$WORK/train-continue.log" \
    || { cat "$WORK/train-continue.log" >&2; exit 1; }
logits "$WORK/valid-ids.safetensors" --prompt "$VALID_TEXT"
logits "$WORK/continued.safetensors" --prompt "$PROMPT" --adapter "$WORK/continued-adapter"

step "3. PEFT (transformers + peft in .venv-ref)"
status=0
"$PY_REF" scripts/verify/peft_logits.py --model "$MODEL" --base "$WORK/base.safetensors" \
    --case tailor-trained "$WORK/tailor-adapter" "$WORK/tailor.safetensors" \
    --case peft-made "$WORK/peft-adapter" "$WORK/peft.safetensors" \
    --case continued "$WORK/continued-adapter" "$WORK/continued.safetensors" \
    --init-from init-from-peft "$WORK/peft-adapter" "$WORK/valid-ids.safetensors" "$WORK/continue.json" \
    --merged merged-f32 "$WORK/tailor-adapter" "$WORK/merged-f32.gguf" "$WORK/merged-f32.safetensors" \
    || status=1

step "4. llama.cpp (llama-cpp-python in .venv-bench)"
"$PY_LLAMA" scripts/verify/llamacpp_logits.py --model "$MODEL" --base "$WORK/base.safetensors" \
    --case tailor-trained "$WORK/tailor-lora.gguf" "$WORK/tailor.safetensors" \
    --case peft-made "$WORK/peft-lora.gguf" "$WORK/peft.safetensors" \
    --merged merged-f16 "$WORK/merged-f16.gguf" "$WORK/merged-f16.safetensors" || status=1

step "5. mlx-lm (mlx CPU build in .venv-mlx)"
"$PY_REF" scripts/verify/make_hf_checkpoint.py --model "$MODEL" --out "$WORK/hf-checkpoint" >&2
"$PY_MLX" scripts/verify/mlx_logits.py --checkpoint "$WORK/hf-checkpoint" --base "$WORK/base.safetensors" \
    --case tailor-trained "$WORK/tailor-mlx" "$WORK/tailor.safetensors" \
    --case peft-made "$WORK/peft-mlx" "$WORK/peft.safetensors" || status=1

elapsed=$(( $(date +%s) - start ))
if [[ $status == 0 ]]; then
    echo "verify-adapters: every check agrees (${elapsed} s)"
else
    echo "verify-adapters: FAILED: see the FAIL lines above (${elapsed} s)"
fi
exit $status
