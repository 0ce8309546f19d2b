#!/usr/bin/env python3
"""Writes the GGUF base as a Hugging Face checkpoint directory (config.json + model.safetensors, float32)
for mlx-lm, which loads Hugging Face checkpoints but not GGUF files.

transformers dequantizes the GGUF (gguf-py) and un-permutes the q/k rows to Hugging Face's rotate-half
order on load, so the checkpoint holds exactly the float32 weights Tailor computes with, in the order
mlx-lm's Llama expects (its RoPE is the non-interleaved `nn.RoPE(traditional=False)`).

Usage: .venv-ref/bin/python scripts/verify/make_hf_checkpoint.py --model models/X.gguf --out DIR
"""
import argparse
import json
import os

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM
from transformers.utils import logging as hf_logging


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="the base model GGUF")
    p.add_argument("--out", required=True, help="checkpoint directory to write")
    args = p.parse_args()
    hf_logging.disable_progress_bar()
    path = os.path.abspath(args.model)
    model = AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path),
                                                 dtype=torch.float32)
    # save_pretrained refuses models loaded from GGUF ("not serializable"), so write the two files directly.
    os.makedirs(args.out, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)  # the same tensor as model.embed_tokens.weight
    save_file(state, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    # transformers 5 keeps rope_theta inside rope_parameters; readers of older configs (mlx-lm's
    # ModelArgs) look for it at the top level and would silently fall back to their default 10000.
    rope = config.get("rope_parameters") or {}
    if "rope_theta" in rope:
        config.setdefault("rope_theta", rope["rope_theta"])
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    print(f"make_hf_checkpoint: wrote {args.out} ({model.num_parameters()} parameters, float32)")


if __name__ == "__main__":
    main()
