"""Shared by the scripts/verify checks: Tailor's logits files, comparisons and PASS/FAIL lines.

A Tailor logits file is what `tailor generate --logits-out FILE` writes: safetensors with
`logits` F32 [T, vocab] (row t scores token t + 1) and `ids` I32 [T] (the prompt's token ids).
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F16": np.float16, "I32": np.int32, "I64": np.int64}


def read_safetensors(path):
    """{name: array} of a safetensors file (SPEC.md section 6), with numpy only: the llama.cpp venv has
    no safetensors package."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(body[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return out


def load_logits(path):
    """(ids as a list of ints, logits [T, vocab] float32) from a `tailor generate --logits-out` file."""
    t = read_safetensors(path)
    return [int(i) for i in t["ids"]], t["logits"].astype(np.float32)


def rms(x):
    return float(np.sqrt(np.mean(np.square(np.asarray(x, dtype=np.float64)))))


def compare(name, ref, tailor, tol, base=None, min_effect_ratio=None, require_argmax=True, noise_rms=None):
    """Prints one PASS/FAIL line comparing logits [T, vocab] of a reference and of Tailor; returns the
    measurements (dict, with "pass").

    Passes when max |ref - tailor| <= tol and (with require_argmax) every position's argmax agrees.
    With `base` (the reference without the adapter) it also needs the adapter to matter: the RMS of
    its effect on the logits (ref - base) must be at least `min_effect_ratio` times the RMS of the
    disagreement, so agreement is not agreement about nothing and a dropped or mis-permuted adapter
    fails. With `noise_rms` (the disagreement measured without an adapter) the RMS disagreement must
    stay within twice it.
    """
    ref = np.asarray(ref, dtype=np.float64)
    tailor = np.asarray(tailor, dtype=np.float64)
    if ref.shape != tailor.shape:
        print(f"FAIL {name}: shapes differ: reference {ref.shape}, tailor {tailor.shape}")
        return {"pass": False}
    m = {"max_abs_diff": float(np.abs(ref - tailor).max()), "rms_diff": rms(ref - tailor),
         "argmax_agree": int((ref.argmax(-1) == tailor.argmax(-1)).sum()), "positions": int(ref.shape[0])}
    ok = m["max_abs_diff"] <= tol and (not require_argmax or m["argmax_agree"] == m["positions"])
    text = (f"max|diff| {m['max_abs_diff']:.3g} (tolerance {tol:g}), RMS diff {m['rms_diff']:.3g}, "
            f"argmax agrees at {m['argmax_agree']}/{m['positions']} positions")
    if noise_rms is not None:
        ok = ok and m["rms_diff"] <= 2 * noise_rms
        text += f" (no-adapter RMS diff {noise_rms:.3g})"
    if base is not None:
        effect = ref - np.asarray(base, dtype=np.float64)
        m["effect_max"], m["effect_rms"] = float(np.abs(effect).max()), rms(effect)
        ratio = m["effect_rms"] / max(m["rms_diff"], 1e-30)
        ok = ok and (min_effect_ratio is None or ratio >= min_effect_ratio)
        text += (f"; the adapter moves logits by up to {m['effect_max']:.3g} (RMS {m['effect_rms']:.3g}, "
                 f"{ratio:.0f}x the RMS diff, need >= {min_effect_ratio:g}x)")
    m["pass"] = bool(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name}: {ref.shape[0]}x{ref.shape[1]} logits: {text}")
    sys.stdout.flush()
    return m


def mean_nll(logits, ids):
    """Mean negative log-likelihood of ids[1:] under logits[:-1] (float64 log-softmax)."""
    x = np.asarray(logits, dtype=np.float64)[:-1]
    m = x.max(-1, keepdims=True)
    lse = (m + np.log(np.exp(x - m).sum(-1, keepdims=True)))[:, 0]
    tgt = np.asarray(ids[1:])
    return float((lse - x[np.arange(len(tgt)), tgt]).mean())


def write_result(path, results):
    with open(path, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
