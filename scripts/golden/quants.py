#!/usr/bin/env python3
"""Golden fixtures for GGML (de)quantization, made with the PyPI `gguf` package (gguf-py).

Writes Tests/TailorKitTests/Fixtures/quants.safetensors. For each type T in
F16, BF16, Q4_0, Q4_1, Q8_0, Q4_K, Q5_K, Q6_K:

  T.raw     U8  [nbytes]   exact raw bytes of a [4, 512] tensor in type T, row-major
                           (row 0's blocks, then row 1's, ...), as stored in a GGUF data section
  T.values  F32 [4, 512]   gguf.quants.dequantize(raw, T) -- what Tailor's dequantizer must return
  source    F32 [4, 512]   the float32 input that F16/BF16/Q4_0/Q4_1/Q8_0 were quantized from

F16/BF16/Q4_0/Q4_1/Q8_0: raw = gguf.quants.quantize(source, T).
Q4_K/Q5_K/Q6_K: gguf-py 0.19 has no quantizer for K-quants, so the raw super-blocks are
built by hand from seeded random bytes following gguf-py's quants.py layout (sane positive
f16 super-scales, random 6-bit sub-scales/mins, random quants); the last super-block of row 3
is all zero bytes. Their `values` are still gguf-py's dequantization.

The source data: seeded N(0, 1) values, 8 outliers of magnitude 20..60, and one all-zero
32-element block (row 2, elements 64..95).

Run with the reference venv: .venv-ref/bin/python scripts/golden/quants.py
"""
import json
import os
import sys

import gguf
import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES, QK_K
from safetensors.numpy import save_file
from st_util import canonicalize_header  # noqa: E402

SEED = 20240601
ROWS, COLS = 4, 512
TYPES = ["F16", "BF16", "Q4_0", "Q4_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "TailorKitTests", "Fixtures", "quants.safetensors")


def make_source(rng):
    x = rng.standard_normal((ROWS, COLS)).astype(np.float32)
    # a few outliers
    idx = rng.choice(ROWS * COLS, size=8, replace=False)
    mags = rng.uniform(20.0, 60.0, size=8) * rng.choice([-1.0, 1.0], size=8)
    x.reshape(-1)[idx] = mags.astype(np.float32)
    # one all-zero 32-element block (also makes a zero-scale block in Q4_0/Q4_1/Q8_0)
    x[2, 64:96] = 0.0
    return x


def f16_bytes(vals):
    return np.asarray(vals, dtype=np.float16).view(np.uint8)


def random_k_blocks(rng, qtype, n_blocks):
    """Random but valid super-blocks, laid out as gguf-py's quants.py reads them."""
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    assert block_size == QK_K
    out = np.zeros((n_blocks, type_size), dtype=np.uint8)
    for b in range(n_blocks):
        if qtype == T.Q4_K:
            # d (f16), dmin (f16), scales[12] (packed 6-bit sc/min), qs[128] (4-bit)
            d = rng.uniform(0.002, 0.03)
            dmin = rng.uniform(0.002, 0.03)
            blk = np.concatenate([
                f16_bytes([d]), f16_bytes([dmin]),
                rng.integers(0, 256, 12, dtype=np.uint8),
                rng.integers(0, 256, QK_K // 2, dtype=np.uint8),
            ])
        elif qtype == T.Q5_K:
            # d, dmin, scales[12], qh[32] (5th bit), qs[128]
            d = rng.uniform(0.002, 0.03)
            dmin = rng.uniform(0.002, 0.03)
            blk = np.concatenate([
                f16_bytes([d]), f16_bytes([dmin]),
                rng.integers(0, 256, 12, dtype=np.uint8),
                rng.integers(0, 256, QK_K // 8, dtype=np.uint8),
                rng.integers(0, 256, QK_K // 2, dtype=np.uint8),
            ])
        elif qtype == T.Q6_K:
            # ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] (int8), d (f16)
            d = rng.uniform(0.002, 0.03)
            blk = np.concatenate([
                rng.integers(0, 256, QK_K // 2, dtype=np.uint8),
                rng.integers(0, 256, QK_K // 4, dtype=np.uint8),
                rng.integers(-128, 128, QK_K // 16, dtype=np.int8).view(np.uint8),
                f16_bytes([d]),
            ])
        else:
            raise ValueError(qtype)
        assert blk.size == type_size, (qtype, blk.size, type_size)
        out[b] = blk
    out[-1] = 0  # an all-zero super-block
    return out


def main():
    rng = np.random.default_rng(SEED)
    src = make_source(rng)
    tensors = {"source": src}
    sizes = {}
    for name in TYPES:
        qt = T[name]
        if name in ("Q4_K", "Q5_K", "Q6_K"):
            n_blocks = ROWS * COLS // QK_K
            raw = random_k_blocks(rng, qt, n_blocks).reshape(-1)
        else:
            q = gguf.quants.quantize(src, qt)
            raw = np.ascontiguousarray(q).view(np.uint8).reshape(-1)
        block_size, type_size = GGML_QUANT_SIZES[qt]
        assert raw.size == ROWS * COLS // block_size * type_size, (name, raw.size)
        vals = gguf.quants.dequantize(raw.reshape(ROWS, -1), qt).astype(np.float32)
        assert vals.shape == (ROWS, COLS), (name, vals.shape)
        assert np.all(np.isfinite(vals)), name
        tensors[f"{name}.raw"] = raw.copy()
        tensors[f"{name}.values"] = np.ascontiguousarray(vals)
        sizes[name] = int(raw.size)
        if name in ("F16", "BF16", "Q4_0", "Q4_1", "Q8_0"):
            err = np.abs(vals - src).max()
            print(f"{name:5s} raw={raw.size:5d} B  max|deq-src|={err:.4g}")
        else:
            print(f"{name:5s} raw={raw.size:5d} B  (random blocks) value range [{vals.min():.3g}, {vals.max():.3g}]")

    meta = {
        "seed": str(SEED),
        "shape": json.dumps([ROWS, COLS]),
        "types": json.dumps(TYPES),
        "raw_bytes": json.dumps(sizes),
        "k_quants": "random valid raw super-blocks built by hand (gguf-py has no K-quant quantizer); last super-block all zero",
        "generator": "scripts/golden/quants.py",
        "versions": json.dumps({"gguf": gguf.__version__ if hasattr(gguf, "__version__") else _ver("gguf"),
                                "numpy": np.__version__, "safetensors": _ver("safetensors"),
                                "python": sys.version.split()[0]}),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save_file(tensors, OUT, metadata=meta)
    canonicalize_header(OUT)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


def _ver(pkg):
    from importlib.metadata import version
    return version(pkg)


if __name__ == "__main__":
    main()
