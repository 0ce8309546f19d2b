#!/usr/bin/env python3
"""Golden forward-pass fixtures for SmolLM2-135M-Instruct (Q4_1 GGUF), made with transformers.

Writes Tests/TailorKitTests/Fixtures/forward_smollm2.safetensors. transformers loads the GGUF,
dequantizes every tensor to float32 with gguf-py (token_embd Q8_0, linears Q4_1, norms F32),
un-permutes attn_q/attn_k rows (undoing llama.cpp convert_hf_to_gguf.py `permute()`), and runs
LlamaForCausalLM in float32 (eager attention, 2 threads). For each prompt i (0..3):

  prompt{i}.ids          I32 [n]      tokenizer(text, add_special_tokens=False).input_ids
  prompt{i}.last_logits  F32 [49152]  logits at the last prompt position
  prompt{i}.nll          F32 [n-1]    -log softmax(logits[t])[ids[t+1]], t = 0..n-2 (float64 log_softmax, then cast)
  prompt{i}.greedy       I32 [k]      new tokens from generate(do_sample=False, max_new_tokens=24);
                                      eos (<|im_end|>, id 2) is not suppressed, so k <= 24 (k in metadata;
                                      a stop on eos keeps the eos token as the last entry)

__metadata__ holds the prompt texts, greedy counts, BOS behaviour, the model config facts and
package versions (all JSON strings).

Run with the reference venv: .venv-ref/bin/python scripts/golden/forward.py
"""
import json
import os
import sys
from importlib.metadata import version

import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer
from st_util import canonicalize_header  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL_DIR = os.path.join(ROOT, "models")
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
OUT = os.path.join(ROOT, "Tests", "TailorKitTests", "Fixtures", "forward_smollm2.safetensors")
MAX_NEW = 24

PROMPTS = [
    "The quick brown fox jumps over the lazy dog while the farmer watches from the porch.",
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "In 2023, the team shipped 47 releases, fixed 1,208 bugs and grew by 12.5%.",
]


def unpermute(w, n_head):
    """Inverse of llama.cpp convert_hf_to_gguf.py permute(): GGUF (adjacent pairs) -> HF (halves)."""
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def check_unpermuted(model, cfg):
    """Compare transformers' q_proj/k_proj with gguf-py's raw dequantized attn_q/attn_k of layer 0."""
    import gguf
    r = gguf.GGUFReader(os.path.join(MODEL_DIR, MODEL_FILE))
    t = {x.name: x for x in r.tensors}
    out = {}
    for gname, hf, n_head in [("blk.0.attn_q.weight", model.model.layers[0].self_attn.q_proj.weight, cfg.num_attention_heads),
                              ("blk.0.attn_k.weight", model.model.layers[0].self_attn.k_proj.weight, cfg.num_key_value_heads)]:
        x = t[gname]
        raw = gguf.quants.dequantize(x.data, x.tensor_type)  # numpy shape [out, in] (GGUF dims reversed)
        hfw = hf.detach().numpy()
        out[gname] = {
            "equals_gguf_as_stored": bool(np.array_equal(hfw, raw)),
            "equals_unpermuted_gguf": bool(np.array_equal(hfw, unpermute(raw, n_head))),
        }
    return out


def main():
    torch.set_num_threads(2)
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float32)

    tok = AutoTokenizer.from_pretrained(MODEL_DIR, gguf_file=MODEL_FILE)
    model = AutoModelForCausalLM.from_pretrained(MODEL_DIR, gguf_file=MODEL_FILE, dtype=torch.float32,
                                                 attn_implementation="eager")
    model.eval()
    cfg = model.config
    rope = getattr(cfg, "rope_parameters", None) or {"rope_theta": getattr(cfg, "rope_theta", None)}
    facts = {
        "model_type": cfg.model_type,
        "rope_theta": rope.get("rope_theta"),
        "rope_type": rope.get("rope_type", "default"),
        "rms_norm_eps": cfg.rms_norm_eps,
        "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads,
        "head_dim": getattr(cfg, "head_dim", cfg.hidden_size // cfg.num_attention_heads),
        "vocab_size": cfg.vocab_size,
        "max_position_embeddings": cfg.max_position_embeddings,
        "tie_word_embeddings": bool(cfg.tie_word_embeddings),
        "lm_head_shares_embedding": model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr(),
        "bos_token_id": cfg.bos_token_id,
        "eos_token_id": cfg.eos_token_id,
        "pad_token_id": cfg.pad_token_id,
        "param_dtype": str(next(model.parameters()).dtype),
        "attn_implementation": cfg._attn_implementation,
    }
    print("config facts:", json.dumps(facts, indent=1))
    perm = check_unpermuted(model, cfg)
    print("q/k un-permute check:", json.dumps(perm))

    with_special = tok(PROMPTS[0]).input_ids
    without = tok(PROMPTS[0], add_special_tokens=False).input_ids
    bos_info = {
        "tokenizer_bos_token": tok.bos_token, "tokenizer_bos_token_id": tok.bos_token_id,
        "tokenizer_eos_token": tok.eos_token, "tokenizer_eos_token_id": tok.eos_token_id,
        "add_special_tokens_true_prepends_bos": bool(len(with_special) == len(without) + 1 and with_special[0] == tok.bos_token_id),
        "add_special_tokens_true_equals_false": with_special == without,
        "gguf_add_bos_token": False,
    }
    print("bos:", bos_info)

    tensors = {}
    greedy_counts = []
    greedy_gaps = []
    for i, text in enumerate(PROMPTS):
        ids = tok(text, add_special_tokens=False).input_ids
        x = torch.tensor([ids], dtype=torch.long)
        with torch.no_grad():
            logits = model(input_ids=x, attention_mask=torch.ones_like(x)).logits[0]  # [n, vocab] f32
            assert logits.dtype == torch.float32
            lp = torch.log_softmax(logits.double(), dim=-1)
            nll = -lp[:-1].gather(1, x[0, 1:].unsqueeze(1)).squeeze(1)
            gen = model.generate(input_ids=x, attention_mask=torch.ones_like(x), do_sample=False,
                                 max_new_tokens=MAX_NEW, pad_token_id=tok.eos_token_id)
        new = gen[0, len(ids):].tolist()
        # Margin check: recompute prompt+continuation in one pass; greedy tokens must be the argmax and
        # the smallest top1-top2 logit gap tells how much numeric slack a reimplementation has.
        with torch.no_grad():
            full = model(input_ids=gen, attention_mask=torch.ones_like(gen)).logits[0, len(ids) - 1:len(ids) - 1 + len(new)]
        top2 = full.topk(2, dim=-1)
        assert top2.indices[:, 0].tolist() == new, i
        greedy_gaps.append(round(float((top2.values[:, 0] - top2.values[:, 1]).min()), 4))
        last = logits[-1].numpy().astype(np.float32)
        assert int(np.argmax(last)) == new[0], (i, int(np.argmax(last)), new[0])
        tensors[f"prompt{i}.ids"] = np.array(ids, dtype=np.int32)
        tensors[f"prompt{i}.last_logits"] = np.ascontiguousarray(last)
        tensors[f"prompt{i}.nll"] = nll.numpy().astype(np.float32)
        tensors[f"prompt{i}.greedy"] = np.array(new, dtype=np.int32)
        greedy_counts.append(len(new))
        print(f"prompt{i}: n={len(ids)} mean_nll={nll.mean().item():.4f} argmax={int(np.argmax(last))} "
              f"greedy({len(new)})={tok.decode(new)!r}")

    meta = {
        "model_file": MODEL_FILE,
        "prompts": json.dumps(PROMPTS),
        "greedy_counts": json.dumps(greedy_counts),
        "greedy_min_top2_logit_gap": json.dumps(greedy_gaps),
        "max_new_tokens": str(MAX_NEW),
        "tokenization": "add_special_tokens=False; special tokens like <|im_start|> in the text are matched as single tokens",
        "bos": json.dumps(bos_info),
        "config": json.dumps(facts),
        "qk_unpermute_check": json.dumps(perm),
        "nll": "per position t: -log_softmax(float64(logits[t]))[ids[t+1]], cast to float32",
        "generator": "scripts/golden/forward.py",
        "versions": json.dumps({p: version(p) for p in ["torch", "transformers", "gguf", "numpy", "safetensors",
                                                        "tokenizers", "accelerate"]} | {"python": sys.version.split()[0]}),
    }
    save_file(tensors, OUT, metadata=meta)
    canonicalize_header(OUT)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
