#!/usr/bin/env python3
"""PEFT LoRA gradient-parity fixture for SmolLM2-135M-Instruct (Q4_1 GGUF).

Writes Tests/TailorKitTests/Fixtures/peft_grads_smollm2.safetensors: the gradients PEFT + transformers
compute for every LoRA A and B of layers 0, 15 and 29, for one fixed batch, with LoRA weights set by a
deterministic rule that the Swift side regenerates (so they are not stored).

Model: transformers loads the GGUF in float32 exactly as forward.py does (gguf-py dequantization,
q/k rows un-permuted to Hugging Face rotate_half order, eager attention). PEFT wraps it with
LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, bias="none", task_type="CAUSAL_LM",
target_modules=q,k,v,o,gate,up,down_proj) on all 30 layers; scale s = alpha / r = 2.

LoRA weights (PEFT/HF coordinates: lora_A [r, in], lora_B [out, r], both row-major): for layer L and
module index M (q_proj 0, k_proj 1, v_proj 2, o_proj 3, gate_proj 4, up_proj 5, down_proj 6),
    A = values(seed = 1000*L + 10*M + 0, count = r*in,  scale = 1.0 / math.sqrt(in))
    B = values(seed = 1000*L + 10*M + 1, count = out*r, scale = 0.05)
where values() is SplitMix64 (see `splitmix_values`): state = seed; for each value
    state = (state + 0x9E3779B97F4A7C15) mod 2^64
    z = state; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 mod 2^64
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB mod 2^64; z ^= z >> 31
    value = float32(((z >> 40) / 2^24 * 2 - 1) * scale)   # float64 arithmetic, one rounding to float32

Batch: 2 rows x 48 tokens, two sentences of an original paragraph (SENTENCES), tokenized with the GGUF
tokenizer (add_special_tokens=False: no BOS), truncated to 48, no padding, no attention mask.
labels = input_ids with positions 0..11 of each row set to -100. loss = model(input_ids,
labels=labels).loss: transformers shifts the labels, so it is the mean cross-entropy of the
2 * 36 = 72 next-token predictions at positions 11..46 (predicting tokens 12..47). Then backward.

Tensors:
    input_ids                   I32 [2, 48]
    labels                      I32 [2, 48]
    loss                        F32 [1]      with LoRA (A and B as above)
    loss_base                   F32 [1]      the same batch on the model without LoRA
    grad.{L}.{module}.lora_A    F32 [r, in]  for L in 0, 15, 29 and all 7 modules
    grad.{L}.{module}.lora_B    F32 [out, r]
    check.values                F32 [16]     values(seed 12345, count 16, scale 0.5)

q_proj/k_proj: HF rows are in rotate_half order; llama.cpp's GGUF has them permuted to interleaved
order. For q with n_head heads of dim hd (k the same with n_kv_head), GGUF row h*hd + 2i + j is HF row
h*hd + j*hd/2 + i (i < hd/2, j in {0, 1}). A consumer that runs on GGUF-ordered q/k weights must
permute the rows of q_proj/k_proj lora_B (and of their gradients) with that map; lora_A and every
other module are unaffected.

Sanity checks run here (results in the metadata): the LoRA model with B = 0 gives exactly loss_base;
a central finite difference in float64 of one lora_A and one lora_B entry agrees with float64
autograd (relative ~4e-9); the stored float32 gradients are compared with float64 autograd
(`float32_vs_float64`: per tensor max |g32 - g64| / max |g64|, the float32 noise floor).

Run with the reference venv: .venv-ref/bin/python scripts/golden/peft_grads.py   (~2 min on 2 cores)
"""
import json
import math
import os
import sys
from importlib.metadata import version

import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from forward import check_unpermuted  # noqa: E402
from st_util import canonicalize_header  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL_DIR = os.path.join(ROOT, "models")
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
OUT = os.path.join(ROOT, "Tests", "TailorKitTests", "Fixtures", "peft_grads_smollm2.safetensors")

R, ALPHA = 8, 16
MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
STORED_LAYERS = [0, 15, 29]
SEQ, MASKED = 48, 12
B_SCALE = 0.05
SENTENCES = [
    "On the morning the river froze, the miller's daughter walked across the ice to the far bank, counting "
    "her steps aloud so that she would remember exactly how many it took to reach the old stone chapel where "
    "her grandmother had once taught the village children to read.",
    "By noon the sun had softened the surface into grey slush, and half the town gathered along the shore to "
    "argue about whether the crossing had been brave, foolish, or simply the kind of thing that happens once "
    "in a lifetime, before the spring floods carry the memory away.",
]

MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def splitmix_values_reference(seed, count, scale):
    """The rule, written out with Python integers (used to check the vectorized version)."""
    state, out = seed & MASK64, []
    for _ in range(count):
        state = (state + GAMMA) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        z ^= z >> 31
        out.append(np.float32(((z >> 40) / 2.0**24 * 2.0 - 1.0) * scale))
    return np.array(out, dtype=np.float32)


def splitmix_values(seed, count, scale):
    """Vectorized: after k draws the state is seed + k*GAMMA mod 2^64 (uint64 arithmetic wraps)."""
    with np.errstate(over="ignore"):
        k = np.arange(1, count + 1, dtype=np.uint64)
        z = np.uint64(seed) + k * np.uint64(GAMMA)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float64) / 2.0**24  # exact: < 2^24
    return ((u * 2.0 - 1.0) * scale).astype(np.float32)


def lora_modules(peft_model, layer):
    blk = peft_model.base_model.model.model.layers[layer]
    return {m: getattr(blk.self_attn if m.endswith(("q_proj", "k_proj", "v_proj", "o_proj")) else blk.mlp, m)
            for m in MODULES}


def set_lora(peft_model, n_layers, zero_b=False):
    for L in range(n_layers):
        for M, (name, mod) in enumerate(lora_modules(peft_model, L).items()):
            a, b = mod.lora_A["default"].weight, mod.lora_B["default"].weight
            r, d_in = a.shape
            d_out, _ = b.shape
            assert r == R and b.shape[1] == R, (L, name, a.shape, b.shape)
            va = splitmix_values(1000 * L + 10 * M + 0, r * d_in, 1.0 / math.sqrt(d_in)).reshape(r, d_in)
            vb = splitmix_values(1000 * L + 10 * M + 1, d_out * r, B_SCALE).reshape(d_out, r)
            with torch.no_grad():
                a.copy_(torch.from_numpy(va))
                b.copy_(torch.zeros_like(b) if zero_b else torch.from_numpy(vb))


def main():
    torch.set_num_threads(2)
    torch.manual_seed(0)
    from peft import LoraConfig, get_peft_model

    for seed, n, scale in [(12345, 16, 0.5), (0, 5, 1.0), (29061, 7, 0.05), (2**63 + 5, 3, 0.3)]:
        assert np.array_equal(splitmix_values(seed, n, scale), splitmix_values_reference(seed, n, scale)), seed
    check = splitmix_values(12345, 16, 0.5)
    print("check.values:", check.tolist())

    tok = AutoTokenizer.from_pretrained(MODEL_DIR, gguf_file=MODEL_FILE)
    model = AutoModelForCausalLM.from_pretrained(MODEL_DIR, gguf_file=MODEL_FILE, dtype=torch.float32,
                                                 attn_implementation="eager")
    model.eval()
    cfg = model.config
    perm = check_unpermuted(model, cfg)
    assert all(v["equals_unpermuted_gguf"] for v in perm.values()), perm

    rows = []
    for s in SENTENCES:
        ids = tok(s, add_special_tokens=False).input_ids
        assert len(ids) >= SEQ, (len(ids), s)
        rows.append(ids[:SEQ])
    input_ids = torch.tensor(rows, dtype=torch.long)
    labels = input_ids.clone()
    labels[:, :MASKED] = -100

    with torch.no_grad():
        loss_base = model(input_ids=input_ids, labels=labels).loss
    print(f"loss_base {loss_base.item():.8f}")

    config = LoraConfig(r=R, lora_alpha=ALPHA, lora_dropout=0.0, target_modules=MODULES, bias="none",
                        task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, config)
    n_layers = cfg.num_hidden_layers
    n_lora = sum(1 for n, _ in peft_model.named_parameters() if "lora_" in n)
    assert n_lora == 2 * 7 * n_layers, n_lora
    assert all(("lora_" in n) == p.requires_grad for n, p in peft_model.named_parameters())
    mod0 = lora_modules(peft_model, 0)["q_proj"]
    assert mod0.scaling["default"] == ALPHA / R and isinstance(mod0.lora_dropout["default"], torch.nn.Identity)
    peft_model.print_trainable_parameters()

    # B = 0: the adapter adds exactly zero, so the loss must equal the base model's.
    set_lora(peft_model, n_layers, zero_b=True)
    with torch.no_grad():
        loss_b0 = peft_model(input_ids=input_ids, labels=labels).loss
    print(f"loss with B = 0 {loss_b0.item():.8f} (base {loss_base.item():.8f})")
    assert loss_b0.item() == loss_base.item(), (loss_b0.item(), loss_base.item())

    set_lora(peft_model, n_layers)
    peft_model.zero_grad(set_to_none=True)
    out = peft_model(input_ids=input_ids, labels=labels)
    loss = out.loss
    manual = shifted_ce(out.logits.detach(), labels)
    assert abs(manual.item() - loss.item()) <= 1e-6, (manual.item(), loss.item())
    loss.backward()
    print(f"loss with LoRA {loss.item():.8f} (own shifted mean CE {manual.item():.8f})")

    tensors = {
        "input_ids": input_ids.numpy().astype(np.int32),
        "labels": labels.numpy().astype(np.int32),
        "loss": np.array([loss.item()], dtype=np.float32),
        "loss_base": np.array([loss_base.item()], dtype=np.float32),
        "check.values": check,
    }
    norms = {}
    for L in STORED_LAYERS:
        for name, mod in lora_modules(peft_model, L).items():
            ga = mod.lora_A["default"].weight.grad.detach().numpy().astype(np.float32).copy()
            gb = mod.lora_B["default"].weight.grad.detach().numpy().astype(np.float32).copy()
            tensors[f"grad.{L}.{name}.lora_A"] = ga
            tensors[f"grad.{L}.{name}.lora_B"] = gb
            norms[f"{L}.{name}"] = [float(np.linalg.norm(ga.astype(np.float64))), float(np.linalg.norm(gb.astype(np.float64)))]
            print(f"grad norm layer {L:2d} {name:9s} A {norms[f'{L}.{name}'][0]:.6e}  B {norms[f'{L}.{name}'][1]:.6e}"
                  f"  shapes {list(ga.shape)} {list(gb.shape)}")
    total = math.sqrt(sum(float((p.grad.double() ** 2).sum()) for n, p in peft_model.named_parameters() if p.grad is not None))
    print(f"global grad norm (all 420 LoRA tensors) {total:.6e}")

    fd, precision = finite_difference_check(peft_model, input_ids, labels, tensors)

    meta = {
        "model_file": MODEL_FILE,
        "generator": "scripts/golden/peft_grads.py",
        "sentences": json.dumps(SENTENCES),
        "tokenization": "GGUF tokenizer via transformers AutoTokenizer(gguf_file=...), add_special_tokens=False (no BOS), "
                        f"first {SEQ} tokens of each sentence, no padding, no attention mask",
        "labels": f"input_ids with positions 0..{MASKED - 1} of each row set to -100",
        "loss": "transformers LlamaForCausalLM loss: labels shifted by one, mean cross-entropy over the "
                f"{2 * (SEQ - MASKED)} unmasked next-token predictions of the batch (float32)",
        "lora": json.dumps({"r": R, "alpha": ALPHA, "scale": ALPHA / R, "dropout": 0.0, "bias": "none",
                            "target_modules": MODULES, "layers": "all", "num_layers": n_layers,
                            "use_rslora": False, "peft_class": type(mod0).__module__ + "." + type(mod0).__name__}),
        "init_rule": json.dumps({
            "module_index": {m: i for i, m in enumerate(MODULES)},
            "lora_A": "shape [r, in]; seed 1000*L + 10*M + 0; scale 1.0/math.sqrt(in) (float64)",
            "lora_B": f"shape [out, r]; seed 1000*L + 10*M + 1; scale {B_SCALE}",
            "values": "SplitMix64 from state=seed: per value state += 0x9E3779B97F4A7C15 (mod 2^64); z = state; "
                      "z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB; "
                      "z ^= z >> 31 (all mod 2^64); value = float32(((z >> 40) / 2^24 * 2 - 1) * scale) computed "
                      "in float64 with one final rounding to float32; filled row-major",
            "check": "check.values = values(seed 12345, count 16, scale 0.5)",
        }),
        "stored_layers": json.dumps(STORED_LAYERS),
        "grad_layout": "grad.{L}.{module}.lora_A F32 [r, in], grad.{L}.{module}.lora_B F32 [out, r], PEFT/HF coordinates",
        "qk_row_order": "HF q_proj/k_proj rows (and so their lora_B rows and lora_B gradients) are in rotate_half order. "
                        "llama.cpp GGUF q/k rows are interleaved: for n_head heads of dim hd (k: n_kv_head), GGUF row "
                        "h*hd + 2i + j is HF row h*hd + j*hd/2 + i (i < hd/2, j in {0,1}). Permute lora_B rows of "
                        "q_proj and k_proj with this map to use them with GGUF-ordered weights; lora_A is unaffected.",
        "qk_unpermute_check": json.dumps(perm),
        "config": json.dumps({"hidden_size": cfg.hidden_size, "intermediate_size": cfg.intermediate_size,
                              "num_hidden_layers": n_layers, "num_attention_heads": cfg.num_attention_heads,
                              "num_key_value_heads": cfg.num_key_value_heads,
                              "head_dim": getattr(cfg, "head_dim", cfg.hidden_size // cfg.num_attention_heads),
                              "rms_norm_eps": cfg.rms_norm_eps, "tie_word_embeddings": bool(cfg.tie_word_embeddings),
                              "attn_implementation": "eager", "dtype": "float32"}),
        "sanity": json.dumps({"loss_base": loss_base.item(), "loss_with_B_zero": loss_b0.item(),
                              "loss_with_B_zero_equals_base": True, "loss": loss.item(),
                              "global_grad_norm_all_layers": total, "finite_difference": fd}),
        "float32_vs_float64": json.dumps(precision),
        "grad_norms": json.dumps(norms),
        "versions": json.dumps({p: version(p) for p in ["torch", "transformers", "peft", "gguf", "numpy",
                                                        "safetensors", "tokenizers", "accelerate"]}
                               | {"python": sys.version.split()[0]}),
    }
    save_file(tensors, OUT, metadata=meta)
    canonicalize_header(OUT)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


def shifted_ce(logits, labels):
    """Mean cross-entropy of logits[:, t] against labels[:, t+1] over labels != -100, in the logits'
    dtype (transformers' own loss upcasts logits to float32, so the float64 check uses this)."""
    return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                             labels[:, 1:].reshape(-1), ignore_index=-100, reduction="mean")


class Float64Everywhere:
    """transformers computes LlamaRMSNorm and the eager attention softmax in float32 whatever the model
    dtype; their rounding (~1e-7 relative) would swamp a finite difference. Inside this context both
    keep float64 inputs in float64 (the float32 model is unaffected: same ops for float32 inputs)."""

    def __enter__(self):
        from transformers.models.llama import modeling_llama
        self.norm_cls, self.norm_forward = modeling_llama.LlamaRMSNorm, modeling_llama.LlamaRMSNorm.forward
        self.softmax = torch.nn.functional.softmax
        softmax = self.softmax

        def norm_forward(module, x):
            variance = x.pow(2).mean(-1, keepdim=True)
            return module.weight * (x * torch.rsqrt(variance + module.variance_epsilon))

        def softmax64(input, dim=None, _stacklevel=3, dtype=None):
            return softmax(input, dim=dim, dtype=None if input.dtype == torch.float64 else dtype)

        self.norm_cls.forward = norm_forward
        torch.nn.functional.softmax = softmax64
        return self

    def __exit__(self, *exc):
        self.norm_cls.forward = self.norm_forward
        torch.nn.functional.softmax = self.softmax
        return False


def finite_difference_check(peft_model, input_ids, labels, tensors):
    """Float64 central differences of two entries against float64 autograd, and float32 autograd
    against float64 autograd, on the largest-gradient entries of layer 15 v_proj lora_B and
    layer 0 down_proj lora_A."""
    with Float64Everywhere():
        return _finite_difference_check(peft_model, input_ids, labels, tensors)


def _finite_difference_check(peft_model, input_ids, labels, tensors):
    picks = [(15, "v_proj", "lora_B"), (0, "down_proj", "lora_A")]
    g32 = {}
    for L, m, which in picks:
        w = getattr(lora_modules(peft_model, L)[m], which)["default"].weight
        idx = np.unravel_index(int(w.grad.abs().argmax()), tuple(w.shape))
        g32[(L, m, which)] = (idx, float(w.grad[idx]))
    peft_model.double()
    peft_model.zero_grad(set_to_none=True)
    logits64 = peft_model(input_ids=input_ids).logits
    assert logits64.dtype == torch.float64
    loss64 = shifted_ce(logits64, labels)
    loss64.backward()
    # How far the stored float32 gradients are from float64 ones: the noise floor a float32
    # reimplementation cannot beat. Per tensor: max |g32 - g64| / max |g64|.
    precision = {"loss64": loss64.item()}
    for L in STORED_LAYERS:
        for name, mod in lora_modules(peft_model, L).items():
            for which in ["lora_A", "lora_B"]:
                exact = getattr(mod, which)["default"].weight.grad.numpy()
                stored = tensors[f"grad.{L}.{name}.{which}"].astype(np.float64)
                precision[f"{L}.{name}.{which}"] = float(np.abs(stored - exact).max() / np.abs(exact).max())
    worst = max(v for k, v in precision.items() if k != "loss64")
    print(f"float32 vs float64 autograd: worst max|diff|/max|g64| over stored tensors {worst:.2e}; "
          f"loss64 {loss64.item():.10f}")
    results = []
    h = 1e-5
    for (L, m, which), (idx, gf32) in g32.items():
        w = getattr(lora_modules(peft_model, L)[m], which)["default"].weight
        g64 = float(w.grad[idx])
        with torch.no_grad():
            orig = w[idx].item()
            w[idx] = orig + h
            lp = shifted_ce(peft_model(input_ids=input_ids).logits, labels).item()
            w[idx] = orig - h
            lm = shifted_ce(peft_model(input_ids=input_ids).logits, labels).item()
            w[idx] = orig
        fd = (lp - lm) / (2 * h)
        rel_fd = abs(fd - g64) / abs(g64)
        rel_32 = abs(gf32 - g64) / abs(g64)
        print(f"finite difference layer {L} {m} {which}{list(map(int, idx))}: fd64 {fd:.10e} autograd64 {g64:.10e} "
              f"(rel {rel_fd:.2e}); autograd32 {gf32:.8e} (rel {rel_32:.2e})")
        assert rel_fd < 1e-6 and rel_32 < 1e-3, (rel_fd, rel_32)
        results.append({"entry": f"grad.{L}.{m}.{which}{list(map(int, idx))}", "h": h, "fd64": fd,
                        "autograd64": g64, "autograd32": gf32, "rel_fd_vs_autograd64": rel_fd,
                        "rel_autograd32_vs_64": rel_32})
    peft_model.float()
    return results, precision


if __name__ == "__main__":
    main()
