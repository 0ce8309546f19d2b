#!/usr/bin/env python3
"""llama.cpp side of scripts/verify-adapters.sh (run with .venv-bench/bin/python): loads the base GGUF
with a LoRA GGUF from `tailor export-adapter --format gguf` in llama-cpp-python
(`Llama(model_path, lora_path=...)`) and compares the logits of every prompt position with Tailor's.

llama.cpp does not compute what Tailor computes bit for bit: for Q4_1 weights its CPU matmul quantizes
the activations to Q8_1 blocks before the integer dot products (Q8_0 for the Q8_0 output matrix); the
LoRA matmuls run in F32. The KV cache is set to F32 here (its F16 default adds more noise). The gap
this leaves is measured on the base model alone (no adapter): about 0.85 max, 0.19 RMS on logits of
magnitude ~30. The adapted comparison passes when its max gap is within TOL, its RMS gap within twice
the no-adapter RMS gap, and the adapter's effect on llama.cpp's logits is at least 5x the RMS gap (a
dropped adapter, a wrong scale or mis-ordered q/k rows fail that). Argmax agreement is printed but not
required: with noise of this size a near-tie can flip.

  --model GGUF                   the base model
  --base FILE                    Tailor's logits without an adapter (`tailor generate --logits-out`)
  --case NAME LORA_GGUF FILE     llama.cpp with LORA_GGUF vs Tailor's logits FILE; repeatable
  --merged NAME MERGED_GGUF FILE llama.cpp runs MERGED_GGUF (`tailor merge`) alone vs Tailor's logits on it
                                 (FILE), with the same tolerances and effect check; repeatable
Prints one PASS/FAIL line per check and exits 1 if any failed.
"""
import argparse
import os
import sys

import llama_cpp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import compare, load_logits  # noqa: E402

# Max |diff| allowed, base or adapted (measured ~0.85-1.1 with llama-cpp-python 0.3.36, AVX-512 CPU).
TOL = 1.5
MIN_EFFECT_RATIO = 5


def logits(model_path, ids, lora=None):
    llm = llama_cpp.Llama(model_path=model_path, lora_path=lora, n_ctx=max(64, len(ids) + 8), n_batch=512,
                          n_threads=2, n_threads_batch=2, logits_all=True, verbose=False,
                          type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32)
    llm.eval(ids)
    out = np.array(llm.scores[: len(ids)], dtype=np.float32)
    llm.close()
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--base", required=True)
    p.add_argument("--case", nargs=3, action="append", default=[], metavar=("NAME", "LORA", "FILE"))
    p.add_argument("--merged", nargs=3, action="append", default=[], metavar=("NAME", "GGUF", "FILE"))
    args = p.parse_args()
    base_ids, tailor_base = load_logits(args.base)
    base = logits(args.model, base_ids)
    noise = compare("llama.cpp/base: llama-cpp-python vs tailor generate, no adapter", base, tailor_base, TOL,
                    require_argmax=False)
    ok = noise["pass"]
    for name, lora, tailor_file in args.case:
        ids, tailor = load_logits(tailor_file)
        without = base if ids == base_ids else logits(args.model, ids)
        ref = logits(args.model, ids, lora=lora)
        ok &= compare(f"llama.cpp/{name}: Llama(lora_path=) vs tailor generate --adapter", ref, tailor, TOL,
                      base=without, min_effect_ratio=MIN_EFFECT_RATIO, require_argmax=False,
                      noise_rms=noise.get("rms_diff"))["pass"]
    for name, merged, tailor_file in args.merged:
        ids, tailor = load_logits(tailor_file)
        without = base if ids == base_ids else logits(args.model, ids)
        ok &= compare(f"llama.cpp/{name}: llama-cpp-python runs the merged GGUF vs tailor generate on it",
                      logits(merged, ids), tailor, TOL, base=without, min_effect_ratio=MIN_EFFECT_RATIO,
                      require_argmax=False, noise_rms=noise.get("rms_diff"))["pass"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
