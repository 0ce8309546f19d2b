#!/usr/bin/env python3
"""Makes a LoRA adapter with PEFT itself (not Tailor), for the check that Tailor loads and continues
training adapters other tools made.

The base is SmolLM2-135M-Instruct's architecture (config from the GGUF; the weights do not matter for
the adapter file, so the model is built from the config with random weights). PEFT wraps it with
LoraConfig(r=4, lora_alpha=8, use_rslora=True, target_modules q_proj/k_proj, every layer), so the
scale is alpha / sqrt(r) = 4, unlike Tailor's default; then every lora_A and lora_B is set to seeded
normal values (B nonzero: PEFT's own init has B = 0, which would prove nothing) and the adapter is saved
with save_pretrained (adapter_config.json + adapter_model.safetensors, PEFT's key names).

Only q_proj and k_proj are adapted on purpose: their lora_B rows are the ones whose order differs
between Hugging Face (rotate-half RoPE) and GGUF (interleaved), so the whole effect of this adapter
depends on Tailor getting that permutation right, both reading PEFT's file and exporting to llama.cpp.

Usage: .venv-ref/bin/python scripts/verify/make_peft_adapter.py --model models/X.gguf --out DIR
"""
import argparse
import os

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoConfig, AutoModelForCausalLM

R, ALPHA = 4, 8
TARGETS = ["q_proj", "k_proj"]
B_STD = 0.15


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="the base model GGUF")
    p.add_argument("--out", required=True, help="adapter directory to write")
    p.add_argument("--seed", type=int, default=1234)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    cfg = AutoConfig.from_pretrained(os.path.dirname(os.path.abspath(args.model)),
                                     gguf_file=os.path.basename(args.model))
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    peft_model = get_peft_model(model, LoraConfig(
        r=R, lora_alpha=ALPHA, use_rslora=True, lora_dropout=0.0, target_modules=TARGETS, bias="none",
        task_type="CAUSAL_LM"))
    gen = torch.Generator().manual_seed(args.seed)
    n = 0
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_A" in name:
                param.copy_(torch.randn(param.shape, generator=gen) / param.shape[1] ** 0.5)
                n += 1
            elif "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=gen) * B_STD)
                n += 1
    peft_model.save_pretrained(args.out)
    print(f"make_peft_adapter: wrote {n} tensors (r={R}, lora_alpha={ALPHA}, use_rslora, {', '.join(TARGETS)}) "
          f"to {args.out}")


if __name__ == "__main__":
    main()
