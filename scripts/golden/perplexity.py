#!/usr/bin/env python3
"""Reference perplexity of SmolLM2-135M-Instruct (Q4_1 GGUF) on Fixtures/ppl_text.txt, following
llama.cpp `llama-perplexity` (tools/perplexity/perplexity.cpp, function `perplexity()`, the default
path with ppl_stride = 0, no --kl-divergence) with `-c 256`.

Convention implemented (each step mirrors llama.cpp):
  1. Text: the file is read whole; ONE trailing '\\n' is removed (common/arg.cpp `-f` handler:
     `if (!params.prompt.empty() && params.prompt.back() == '\\n') params.prompt.pop_back();`).
  2. Tokens: `common_tokenize(ctx, prompt, add_special=true)` with parse_special=false, so BOS is
     prepended only if the vocab says add_bos (GGUF `tokenizer.ggml.add_bos_token`; for SmolLM2 it is
     false, so no BOS). Here: the Hugging Face tokenizer transformers builds from the GGUF,
     add_special_tokens=False, plus an explicit BOS iff add_bos. The text has no special-token strings.
  3. n_chunk = n_tokens // n_ctx (integer division; the tail is dropped). Chunk i covers tokens
     [i*n_ctx, (i+1)*n_ctx), evaluated from an empty KV cache at positions 0..n_ctx-1. If add_bos, the
     chunk's first token is replaced by BOS for evaluation only (targets keep the original token).
  4. first = n_ctx/2. Scored: logits at positions j = first .. n_ctx-2 predicting token j+1, i.e.
     n_ctx-1-first = 127 predictions per chunk (positions first+1 .. n_ctx-1 of the chunk).
  5. Per prediction (perplexity.cpp `log_softmax`): max in float32, sum_exp = sum of float32
     expf(logit - max) accumulated in double, logprob = (logit[tok] - max) - log(sum_exp) in double;
     nll += -logprob, nll2 += logprob^2, count += 1 (double accumulators).
  6. After each chunk the running PPL exp(nll/count) is printed (`[i]ppl,`): stored as chunk_ppl.
  7. Final: mean = nll/count; ppl = exp(mean); var = nll2/count - mean^2;
     ppl_err = sqrt(var/(count-1)) * ppl  ("Final estimate: PPL = %.4lf +/- %.5lf").

The logits come from transformers' LlamaForCausalLM in float32 (weights dequantized from the GGUF by
gguf-py), not from ggml, so llama.cpp's own number differs slightly (it quantizes activations
to Q8 for its Q4_1 dot products). Tailor, computing in float32 like transformers, should match this
file to about 1e-3 relative.

Writes Tests/TailorKitTests/Fixtures/ppl_smollm2.json. Run: .venv-ref/bin/python scripts/golden/perplexity.py
"""
import json
import math
import os
import sys
from importlib.metadata import version

import gguf
import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL_DIR = os.path.join(ROOT, "models")
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
FIX = os.path.join(ROOT, "Tests", "TailorKitTests", "Fixtures")
TEXT = os.path.join(FIX, "ppl_text.txt")
OUT = os.path.join(FIX, "ppl_smollm2.json")
N_CTX = 256


def llama_cpp_logprob(logits_row: np.ndarray, tok: int) -> float:
    """perplexity.cpp log_softmax(): float32 max and expf, double sum and log."""
    row = logits_row.astype(np.float32, copy=False)
    mx = np.float32(row.max())
    shifted = (row - mx).astype(np.float32)          # float32 subtraction
    sum_exp = float(np.exp(shifted, dtype=np.float32).astype(np.float64).sum())
    return float(shifted[tok]) - math.log(sum_exp)


def main():
    torch.set_num_threads(2)
    reader = gguf.GGUFReader(os.path.join(MODEL_DIR, MODEL_FILE))
    f = reader.fields
    add_bos = bool(f["tokenizer.ggml.add_bos_token"].contents()) if "tokenizer.ggml.add_bos_token" in f else False
    bos_id = int(f["tokenizer.ggml.bos_token_id"].contents())

    with open(TEXT, "r", encoding="utf-8") as fh:
        text = fh.read()
    if text.endswith("\n"):
        text = text[:-1]  # llama.cpp -f strips exactly one trailing newline

    tok = AutoTokenizer.from_pretrained(MODEL_DIR, gguf_file=MODEL_FILE)
    tokens = tok(text, add_special_tokens=False).input_ids
    if add_bos:
        tokens = [bos_id] + tokens
    n_tokens = len(tokens)
    assert n_tokens >= 2 * N_CTX, n_tokens

    model = AutoModelForCausalLM.from_pretrained(MODEL_DIR, gguf_file=MODEL_FILE, dtype=torch.float32,
                                                 attn_implementation="eager")
    model.eval()

    n_chunk = n_tokens // N_CTX
    first = N_CTX // 2
    nll = 0.0
    nll2 = 0.0
    count = 0
    chunk_ppl = []
    chunk_nll_sum = []
    for i in range(n_chunk):
        start = i * N_CTX
        chunk = list(tokens[start:start + N_CTX])
        if add_bos:
            chunk[0] = bos_id
        x = torch.tensor([chunk], dtype=torch.long)
        with torch.no_grad():
            logits = model(input_ids=x, attention_mask=torch.ones_like(x)).logits[0].numpy()
        assert logits.dtype == np.float32
        s = 0.0
        for j in range(first, N_CTX - 1):
            lp = llama_cpp_logprob(logits[j], tokens[start + j + 1])
            v = -lp
            nll += v
            nll2 += v * v
            s += v
        count += N_CTX - first - 1
        chunk_nll_sum.append(s)
        chunk_ppl.append(math.exp(nll / count))
        print(f"[{i + 1}]{chunk_ppl[-1]:.4f},", end="", flush=True)
    print()

    mean_nll = nll / count
    ppl = math.exp(mean_nll)
    var = nll2 / count - mean_nll * mean_nll
    ppl_err = math.sqrt(var / (count - 1)) * ppl if var > 0 else float("nan")
    print(f"Final estimate: PPL = {ppl:.4f} +/- {ppl_err:.5f}  (n_tokens={n_tokens}, n_chunks={n_chunk}, count={count})")

    out = {
        "model_file": MODEL_FILE,
        "text_file": "ppl_text.txt",
        "ctx": N_CTX,
        "n_tokens": n_tokens,
        "n_chunks": n_chunk,
        "add_bos": add_bos,
        "bos_token_id": bos_id,
        "first": first,
        "scored_per_chunk": N_CTX - first - 1,
        "count": count,
        "chunk_ppl": chunk_ppl,
        "chunk_nll_sum": chunk_nll_sum,
        "ppl": ppl,
        "ppl_err": ppl_err,
        "mean_nll": mean_nll,
        "convention": "llama.cpp tools/perplexity/perplexity.cpp perplexity(): strip one trailing newline; "
                      "tokenize whole text (BOS iff add_bos); n_chunk = n_tokens // ctx; each chunk evaluated "
                      "from scratch (first token -> BOS iff add_bos); score logits at positions ctx/2..ctx-2 "
                      "against the next token; ppl = exp(sum nll / count); ppl_err = sqrt((mean(nll^2) - "
                      "mean(nll)^2)/(count-1)) * ppl",
        "logits_from": "transformers LlamaForCausalLM float32, eager attention, weights dequantized by gguf-py",
        "tokens": tokens,
        "versions": {p: version(p) for p in ["torch", "transformers", "gguf", "numpy", "tokenizers"]}
                    | {"python": sys.version.split()[0]},
    }
    with open(OUT, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
