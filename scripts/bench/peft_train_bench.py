#!/usr/bin/env python3
"""PyTorch + PEFT reference side of scripts/bench-train.sh (run with .venv-ref/bin/python).

Training benchmark: LoRA on SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized by transformers to float32), the
same settings as the Tailor side: LoraConfig(r=8, lora_alpha=16, lora_dropout=0, bias="none",
target_modules=q,k,v,o,gate,up,down_proj) on all 30 layers; torch.optim.AdamW(lr 1e-4, betas 0.9/0.999,
eps 1e-8, weight_decay 0) over the trainable parameters; global gradient-norm clipping to 1.0 (Tailor's
default train.max_grad_norm); torch.set_num_threads(2). Each step is one batch of 4 rows x 256 tokens,
labels = input ids (full supervision: transformers shifts them, 255 predictions per row), no padding.
--warmup (2) unmeasured steps, then --steps (8) measured ones; step k uses examples 4k..4k+3 of the
data file, in file order. tokens/s per step = 4*256 / step wall time (zero_grad + forward + backward +
clip + AdamW step); CPU share per step = process CPU time / (threads x wall) (1.0: both cores busy all
the time; clearly lower: other work took the cores, or the threads idled); others_load per step = CPU
time other processes used over that step, as a share of all CPUs (/proc/stat; about 0 when idle).

Memory: peak_rss_bytes = resource.getrusage(RUSAGE_SELF).ru_maxrss * 1024 at the end (the whole
process: imports, GGUF load and dequantization, training). The GGUF loader's transient peak can exceed
the training peak, so the training phase is also measured alone: after loading, the kernel's RSS
high-water mark is reset (write "5" to /proc/self/clear_refs) and peak_rss_train_bytes is ru_maxrss at
the end (null when the reset is not permitted).

Prints one JSON object to stdout; progress on stderr. Other modes:
  --write-data FILE   write the benchmark JSONL ({"text": ...} lines; each tokenizes to well over 257
                      tokens; paragraphs of Tests/TailorKitTests/Fixtures/ppl_text.txt) and exit.
  --sgemm             SGEMM roofline with numpy (its BLAS, see numpy.show_config()) at SmolLM2 shapes;
                      set OPENBLAS_NUM_THREADS=2 in the environment. Median GFLOP/s over `reps` calls with
                      CPU share >= 0.8 (contended calls are redone, at most 10 x reps calls). JSON to stdout.
  --wait-idle S       wait (at most S seconds) until other work uses under 10% of the CPUs for 2 s; exit.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_MODEL = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
TEXT = os.path.join(ROOT, "Tests", "TailorKitTests", "Fixtures", "ppl_text.txt")
MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def log(msg):
    print(f"peft_train_bench: {msg}", file=sys.stderr, flush=True)


# ---- benchmark data ----------------------------------------------------------------------------------

def write_data(path, n, paragraphs_per_example=4):
    """n examples; example i is 4 paragraphs of ppl_text.txt, starting at paragraph i mod P with stride
    1 + i // P (so the first P examples are consecutive runs and later ones interleave)."""
    with open(TEXT, encoding="utf-8") as f:
        paras = [p.strip().replace("\n", " ") for p in f.read().split("\n\n") if p.strip()]
    paras = [p for p in paras if len(p) > 200]  # drop the title line
    P = len(paras)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            start, stride = i % P, 1 + (i // P) % 4
            text = "\n\n".join(paras[(start + j * stride) % P] for j in range(paragraphs_per_example))
            f.write(json.dumps({"text": text}) + "\n")
    log(f"wrote {path}: {n} examples from {P} paragraphs of {os.path.relpath(TEXT, ROOT)}")


def read_texts(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l)["text"] for l in f if l.strip()]


# ---- CPU idleness ------------------------------------------------------------------------------------

def cpu_busy(seconds=1.0):
    """Fraction of all CPU time that was non-idle over `seconds` (from /proc/stat); 0 when unavailable."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait
    try:
        t0, i0 = snap(); time.sleep(seconds); t1, i1 = snap()
    except OSError:
        return 0.0
    return max(0.0, 1.0 - (i1 - i0) / max(1, t1 - t0))


def busy_seconds():
    """CPU seconds all CPUs spent non-idle since boot (/proc/stat; steal counts as busy), or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # user..steal, less idle and iowait


def others_load(busy0, busy1, own_cpu, wall):
    """Share of the machine's CPUs used by other processes over `wall` s: (all busy time - own CPU time) /
    (CPUs x wall). About 0 when the benchmark had the machine to itself."""
    if busy0 is None or busy1 is None:
        return None
    return round(max(0.0, (busy1 - busy0) - own_cpu) / ((os.cpu_count() or 1) * wall), 3)


def wait_idle(limit, threshold=0.10):
    """Returns (seconds waited, busy fraction of the last sample, whether it went idle)."""
    t_start = time.time()
    quiet, warned = 0, False
    while True:
        busy = cpu_busy(1.0)
        quiet = quiet + 1 if busy < threshold else 0
        if quiet >= 2:
            return time.time() - t_start, busy, True
        if time.time() - t_start >= limit:
            log(f"CPUs still {busy:.0%} busy with other work after {limit:.0f} s; going on anyway (numbers will be skewed)")
            return time.time() - t_start, busy, False
        if not warned and busy >= threshold:
            log(f"CPUs {busy:.0%} busy with other work; waiting up to {limit:.0f} s for them to go idle")
            warned = True


# ---- SGEMM roofline ----------------------------------------------------------------------------------

SGEMM_SHAPES = [  # (M, K, N): [M,K] x [K,N]; M = 4 x 256 tokens
    (1024, 576, 1536),   # gate/up forward; down backward-data
    (1024, 1536, 576),   # down forward; gate/up backward-data
]


def sgemm(reps, warmup):
    import numpy as np
    rng = np.random.default_rng(0)
    out = {"library": "numpy", "numpy": np.__version__, "blas": _numpy_blas(),
           "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"), "shapes": []}
    tot_flop, tot_s = 0.0, 0.0
    for M, K, N in SGEMM_SHAPES:
        a = rng.standard_normal((M, K), dtype=np.float32)
        b = rng.standard_normal((K, N), dtype=np.float32)
        c = np.empty((M, N), dtype=np.float32)
        for _ in range(warmup):
            np.matmul(a, b, out=c)
        # Reps during which other work took a core (CPU share < 0.8) are left out and redone: up to 10 x reps
        # calls until `reps` uncontended ones; with fewer than max(5, reps/4) of those, the median of all.
        times, shares, good = [], [], []
        while len(good) < reps and len(times) < 10 * reps:
            c0, t0 = time.process_time(), time.perf_counter()
            np.matmul(a, b, out=c)
            dt = time.perf_counter() - t0
            times.append(dt); shares.append((time.process_time() - c0) / (2 * dt))
            if shares[-1] >= 0.8:
                good.append(dt)
        med = statistics.median(good if len(good) >= max(5, reps // 4) else times)
        flop = 2.0 * M * K * N
        tot_flop += flop; tot_s += med
        out["shapes"].append({"m": M, "k": K, "n": N, "gflops_median": round(flop / med / 1e9, 2),
                              "gflops_best": round(flop / min(times) / 1e9, 2),
                              "cpu_share_median": round(statistics.median(shares), 3),
                              "reps_uncontended": len(good), "calls": len(times)})
    # Both shapes, equal counts: total flop / total median time (medians over the uncontended reps).
    out["gflops"] = round(tot_flop / tot_s / 1e9, 2)
    out["reps"], out["warmup"] = reps, warmup
    return out


def _numpy_blas():
    import numpy as np
    try:
        cfg = np.show_config(mode="dicts")
        b = cfg["Build Dependencies"]["blas"]
        return {"name": b.get("name"), "version": b.get("version"), "openblas_configuration": b.get("openblas configuration")}
    except Exception as e:  # noqa: BLE001
        return {"error": str(e)}


# ---- training ----------------------------------------------------------------------------------------

def rss_now():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


def maxrss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def train(args):
    import numpy as np
    import torch
    import transformers
    import peft
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import warnings
    from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model_dir, model_file = os.path.dirname(os.path.abspath(args.model)), os.path.basename(args.model)
    n_steps = args.warmup + args.steps
    B, T = args.batch_size, args.seq_len

    t_load = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(model_dir, gguf_file=model_file)
    texts = read_texts(args.data)
    if len(texts) < n_steps * B:
        raise SystemExit(f"{args.data}: {len(texts)} examples, need {n_steps * B} ({n_steps} steps x batch {B})")
    ids = [tok(t, add_special_tokens=False).input_ids for t in texts[: n_steps * B]]
    short = [i for i, x in enumerate(ids) if len(x) < T + 1]
    if short:
        raise SystemExit(f"{args.data}: examples {short} tokenize to fewer than {T + 1} tokens")
    res = {"token_counts": [len(x) for x in ids]}
    if args.tailor_ids:
        # The same rows on both sides: Tailor's tokenizer (tailor tokenize --add-special) vs transformers'.
        with open(args.tailor_ids) as f:
            tids = [json.loads(l) for l in f if l.strip()]
        n_cmp = min(len(tids), len(ids))
        mism = [i for i in range(n_cmp) if tids[i][: T + 1] != ids[i][: T + 1]]
        res["tailor_ids_checked"], res["tailor_ids_mismatch"] = n_cmp, mism
        if mism:
            log(f"warning: Tailor's and transformers' first {T + 1} token ids differ for examples {mism}")
    batches = [torch.tensor([x[:T] for x in ids[s * B:(s + 1) * B]], dtype=torch.long) for s in range(n_steps)]

    model = AutoModelForCausalLM.from_pretrained(model_dir, gguf_file=model_file, dtype=torch.float32)
    model.config.use_cache = False
    cfg = LoraConfig(r=args.rank, lora_alpha=args.alpha, lora_dropout=0.0, target_modules=MODULES, bias="none",
                     task_type="CAUSAL_LM")
    model = get_peft_model(model, cfg)
    model.train()
    n_lora = sum(1 for n, _ in model.named_parameters() if "lora_" in n)
    n_layers = model.base_model.model.config.num_hidden_layers
    assert n_lora == 2 * len(MODULES) * n_layers, n_lora
    params = [p for p in model.parameters() if p.requires_grad]
    trainable = sum(p.numel() for p in params)
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    load_s = time.perf_counter() - t_load
    res.update({"load_seconds": round(load_s, 2), "rss_after_load_bytes": rss_now(), "peak_rss_load_bytes": maxrss()})
    log(f"loaded in {load_s:.1f} s; {trainable} trainable parameters; attention {model.config._attn_implementation}; "
        f"RSS {res['rss_after_load_bytes'] / 2**20:.0f} MiB (peak so far {res['peak_rss_load_bytes'] / 2**20:.0f} MiB)")
    reset_ok = reset_peak_rss()

    steps = []
    for s in range(n_steps):
        x = batches[s]
        b0, c0, t0 = busy_seconds(), time.process_time(), time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(input_ids=x, labels=x).loss
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, args.max_grad_norm)
        opt.step()
        dt = time.perf_counter() - t0
        cpu = time.process_time() - c0
        share = cpu / (args.threads * dt)
        other = others_load(b0, busy_seconds(), cpu, dt)
        rec = {"step": s + 1, "warmup": s < args.warmup, "loss": round(loss.item(), 5), "grad_norm": round(float(norm), 5),
               "seconds": round(dt, 4), "tokens_per_second": round(B * T / dt, 2), "cpu_share": round(share, 3),
               "others_load": other}
        steps.append(rec)
        log(f"step {s + 1}/{n_steps}{' (warm-up)' if rec['warmup'] else ''}  loss {rec['loss']:.4f}  "
            f"{rec['tokens_per_second']:.0f} tok/s  cpu share {share:.2f}  others {other}  RSS {rss_now() / 2**20:.0f} MiB")
    measured = [r for r in steps if not r["warmup"]]
    tps = [r["tokens_per_second"] for r in measured]
    peak_train = maxrss() if reset_ok else None
    res.update({
        "tokens_per_step": B * T, "batch_size": B, "seq_len": T, "warmup_steps": args.warmup, "measured_steps": args.steps,
        "tps_median": round(statistics.median(tps), 2), "tps_all": tps,
        "cpu_share": [r["cpu_share"] for r in measured], "others_load": [r["others_load"] for r in measured],
        "steps": steps,
        "peak_rss_bytes": max(res["peak_rss_load_bytes"], maxrss()),
        "peak_rss_train_bytes": peak_train,
        "trainable_parameters": trainable, "lora_tensors": n_lora, "layers": n_layers,
        "lora": {"r": args.rank, "alpha": args.alpha, "dropout": 0.0, "targets": MODULES},
        "optimizer": {"name": "torch.optim.AdamW", "lr": args.lr, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
                      "max_grad_norm": args.max_grad_norm},
        "threads": torch.get_num_threads(), "attn_implementation": model.config._attn_implementation,
        "dtype": "float32", "torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
        "numpy": np.__version__, "torch_blas": _torch_blas(torch),
        "mean_loss_all_steps": round(statistics.fmean(r["loss"] for r in steps), 5),
    })
    return res


def _torch_blas(torch):
    cfg = torch.__config__.show()
    for part in cfg.replace("\n", ",").split(","):
        if "BLAS_INFO" in part:
            return part.strip()
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--data", help="JSONL of {\"text\": ...} examples (see --write-data)")
    ap.add_argument("--tailor-ids", help="JSONL, one JSON id array per example from `tailor tokenize --add-special`: "
                                         "checked against transformers' tokenization")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8, help="measured steps (after --warmup)")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=16)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--write-data", metavar="FILE")
    ap.add_argument("--examples", type=int, default=40, help="examples written by --write-data")
    ap.add_argument("--sgemm", action="store_true")
    ap.add_argument("--sgemm-reps", type=int, default=20)
    ap.add_argument("--wait-idle", type=float, metavar="SECONDS")
    args = ap.parse_args()

    if args.wait_idle is not None:
        waited, busy, idle = wait_idle(args.wait_idle)
        print(json.dumps({"waited_s": round(waited, 1), "busy": round(busy, 3), "idle": idle}))
        return
    if args.write_data:
        write_data(args.write_data, args.examples)
        return
    if args.sgemm:
        print(json.dumps(sgemm(args.sgemm_reps, warmup=3)))
        return
    if not args.data:
        ap.error("--data is required")
    busy = cpu_busy()
    if busy > 0.10:
        log(f"warning: the CPUs were {busy:.0%} busy with other work just before the run; the numbers will be skewed")
    res = train(args)
    res["cpu_busy_before"] = round(busy, 3)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
