#!/usr/bin/env python3
"""PEFT side of scripts/verify-adapters.sh: loads adapters with PeftModel.from_pretrained on the
transformers model and compares its logits with Tailor's.

The base is the GGUF itself, loaded by transformers (gguf-py dequantizes it to float32 and un-permutes
the q/k rows to Hugging Face's rotate-half order), with eager attention. Tailor runs the same
dequantized weights in float32, so the two differ only by float32 rounding in different summation
orders: the tolerance is 2e-3 on logits of magnitude ~30 (the measured gap is ~1e-4).

  --base FILE                     Tailor's logits without an adapter (`tailor generate --logits-out`)
  --case NAME ADAPTER_DIR FILE    PeftModel.from_pretrained(base, ADAPTER_DIR) vs Tailor's logits FILE
                                  (computed on FILE's prompt ids); repeatable
  --init-from NAME ADAPTER_DIR FILE SUMMARY
                                  a `tailor train --json` run (SUMMARY) that started from ADAPTER_DIR
                                  (`lora.init_from`) with FILE's text as its validation set: its step-0
                                  validation loss must equal PEFT's mean NLL of FILE's ids + EOS (the
                                  text as `tailor train` tokenizes it), and its last validation loss
                                  must be lower (training went on from the adapter); repeatable
  --merged NAME ADAPTER_DIR MERGED_GGUF FILE
                                  `tailor merge --quant f32` of ADAPTER_DIR (MERGED_GGUF) and Tailor's logits
                                  on it (FILE): PEFT's merge_and_unload() of the same adapter on the float32
                                  base must give the same logits (two merges, one reference), and transformers
                                  must load MERGED_GGUF itself and agree too; repeatable
Prints one PASS/FAIL line per check and exits 1 if any failed.
"""
import argparse
import json
import os
import sys

import gguf
import numpy as np
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM
from transformers.utils import logging as hf_logging

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import compare, load_logits, mean_nll  # noqa: E402

TOL = 2e-3
MIN_EFFECT_RATIO = 100
NLL_TOL = 1e-4


def logits_of(model, ids):
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids], dtype=torch.long)).logits[0].numpy()


def valid_losses(summary_file):
    """{step: validation loss} from `tailor train --json` (Swift encodes [Int: Double] as [k, v, k, v...])."""
    with open(summary_file) as f:
        v = json.load(f)["validLosses"]
    if isinstance(v, dict):
        return {int(k): float(x) for k, x in v.items()}
    return {int(v[i]): float(v[i + 1]) for i in range(0, len(v), 2)}


def eos_id(model_path):
    field = gguf.GGUFReader(model_path).fields["tokenizer.ggml.eos_token_id"]
    return int(field.parts[field.data[0]][0])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="the base model GGUF")
    p.add_argument("--base", required=True)
    p.add_argument("--case", nargs=3, action="append", default=[], metavar=("NAME", "ADAPTER", "FILE"))
    p.add_argument("--init-from", nargs=4, action="append", default=[],
                   metavar=("NAME", "ADAPTER", "FILE", "SUMMARY"))
    p.add_argument("--merged", nargs=4, action="append", default=[], metavar=("NAME", "ADAPTER", "GGUF", "FILE"))
    args = p.parse_args()
    torch.set_num_threads(2)
    hf_logging.disable_progress_bar()
    path = os.path.abspath(args.model)
    model = AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path),
                                                 dtype=torch.float32, attn_implementation="eager")
    model.eval()
    ok = True
    base_ids, tailor_base = load_logits(args.base)
    base = logits_of(model, base_ids)
    ok &= compare("peft/base: transformers vs tailor generate, no adapter", base, tailor_base, TOL)["pass"]
    eos = eos_id(path)
    for name, adapter, tailor_file in args.case:
        ids, tailor = load_logits(tailor_file)
        peft_model = PeftModel.from_pretrained(model, adapter)
        peft_model.eval()
        ref = logits_of(peft_model, ids)
        without = base if ids == base_ids else logits_of(model, ids)
        model = peft_model.unload()  # the plain base again, for the next adapter
        ok &= compare(f"peft/{name}: PeftModel.from_pretrained vs tailor generate --adapter", ref, tailor, TOL,
                      base=without, min_effect_ratio=MIN_EFFECT_RATIO)["pass"]
    for name, adapter, tailor_file, summary_file in args.init_from:
        ids, _ = load_logits(tailor_file)
        ids = ids + [eos]
        peft_model = PeftModel.from_pretrained(model, adapter)
        peft_model.eval()
        ref = mean_nll(logits_of(peft_model, ids), ids)
        model = peft_model.unload()
        losses = valid_losses(summary_file)
        first, last = losses[0], losses[max(losses)]
        diff = abs(ref - first)
        good = diff <= NLL_TOL * max(1.0, abs(ref))
        print(f"{'PASS' if good else 'FAIL'} peft/{name}: tailor train's step-0 validation loss {first:.6f} "
              f"(starting from the adapter) vs PEFT's mean NLL {ref:.6f} over {len(ids) - 1} tokens: "
              f"|diff| {diff:.2g} (tolerance {NLL_TOL:g} relative)")
        went_on = last < first
        print(f"{'PASS' if went_on else 'FAIL'} tailor/{name}: training went on from the adapter: validation "
              f"loss {first:.4f} at step 0 -> {last:.4f} at step {max(losses)}")
        ok &= good and went_on
    for name, adapter, merged_gguf, tailor_file in args.merged:
        ids, tailor = load_logits(tailor_file)
        without = base if ids == base_ids else logits_of(model, ids)
        peft_model = PeftModel.from_pretrained(model, adapter)
        folded = peft_model.merge_and_unload()  # W += s B A in float32, in place
        folded.eval()
        ref = logits_of(folded, ids)
        ok &= compare(f"peft/{name}: PEFT merge_and_unload vs tailor merge (f32 GGUF, tailor generate)", ref, tailor,
                      TOL, base=without, min_effect_ratio=MIN_EFFECT_RATIO)["pass"]
        del folded, peft_model
        model = AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path),
                                                     dtype=torch.float32, attn_implementation="eager")
        model.eval()
        mpath = os.path.abspath(merged_gguf)
        loaded = AutoModelForCausalLM.from_pretrained(os.path.dirname(mpath), gguf_file=os.path.basename(mpath),
                                                      dtype=torch.float32, attn_implementation="eager")
        loaded.eval()
        ok &= compare(f"transformers/{name}: transformers loads the merged GGUF vs tailor generate on it",
                      logits_of(loaded, ids), tailor, TOL, base=without, min_effect_ratio=MIN_EFFECT_RATIO)["pass"]
        del loaded
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
