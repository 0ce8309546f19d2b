#!/usr/bin/env python3
"""mlx-lm side of scripts/verify-adapters.sh (run with .venv-mlx/bin/python): loads the base checkpoint
(scripts/verify/make_hf_checkpoint.py) with mlx-lm, applies adapters from `tailor export-adapter
--format mlx` with mlx-lm's own `load_adapters` (which reads adapter_config.json's num_layers and
lora_parameters and loads adapters.safetensors), and compares the logits of every prompt position with
Tailor's. mlx runs on the CPU here (the mlx[cpu] wheel), in float32 like Tailor, on the same dequantized
weights: the tolerance is 2e-3, as for PEFT.

  --checkpoint DIR               the Hugging Face checkpoint of the base
  --base FILE                    Tailor's logits without an adapter (`tailor generate --logits-out`)
  --case NAME ADAPTER_DIR FILE   mlx-lm with ADAPTER_DIR vs Tailor's logits FILE; repeatable
Prints one PASS/FAIL line per check and exits 1 if any failed.
"""
import argparse
import os
import sys
from pathlib import Path

import mlx.core as mx
import numpy as np
from mlx_lm.utils import load_adapters, load_model

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import compare, load_logits  # noqa: E402

TOL = 2e-3
MIN_EFFECT_RATIO = 100


def logits(checkpoint, ids, adapter=None):
    model, _ = load_model(Path(checkpoint))
    if adapter is not None:
        model = load_adapters(model, adapter)
    model.eval()
    out = model(mx.array([ids]))
    return np.array(out[0].astype(mx.float32))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--base", required=True)
    p.add_argument("--case", nargs=3, action="append", default=[], metavar=("NAME", "ADAPTER", "FILE"))
    args = p.parse_args()
    base_ids, tailor_base = load_logits(args.base)
    base = logits(args.checkpoint, base_ids)
    ok = compare("mlx-lm/base: mlx-lm vs tailor generate, no adapter", base, tailor_base, TOL)["pass"]
    for name, adapter, tailor_file in args.case:
        ids, tailor = load_logits(tailor_file)
        without = base if ids == base_ids else logits(args.checkpoint, ids)
        ref = logits(args.checkpoint, ids, adapter=adapter)
        ok &= compare(f"mlx-lm/{name}: load_adapters vs tailor generate --adapter", ref, tailor, TOL, base=without,
                      min_effect_ratio=MIN_EFFECT_RATIO)["pass"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
