#!/usr/bin/env python3
"""Golden fixtures for the optimizer pieces: AdamW, LR schedules, global-norm gradient clipping.

Writes Tests/TailorKitTests/Fixtures/optim.safetensors. Everything runs in PyTorch on CPU with
default options, the way the HF Trainer uses it (torch.optim.AdamW -> `_single_tensor_adam` on CPU;
transformers.get_scheduler; torch.nn.utils.clip_grad_norm_). No model is needed.

AdamW (betas 0.9/0.999, eps 1e-8), 3 parameter tensors with shapes SHAPES, 20 steps. Gradients are
fixed and seeded (numpy default_rng(SEED)); their scale differs per tensor and per step, and
tensor 1 has an exactly-zero gradient element on every step. The lr follows the cosine schedule with
warm-up 3 of 20 steps and base lr 1e-2, read from the optimizer's param group before each step (so
step 0 runs with lr 0). Two runs: weight decay 0.1 ("decay") and 0 ("nodecay"):

  adamw.init.{i}              F32 shape_i       parameters before step 1
  adamw.grads.{i}             F32 [20, *shape_i]  gradient given at each step
  adamw.lr                    F64 [20]          lr used at each step
  adamw.{run}.params.{i}      F32 [20, *shape_i]  parameters after each step
  adamw.{run}.exp_avg.{i}     F32 shape_i       first moment after step 20
  adamw.{run}.exp_avg_sq.{i}  F32 shape_i       second moment after step 20

Schedules, transformers get_{constant,linear,cosine}_schedule_with_warmup (num_cycles 0.5):

  schedule.{kind}.warmup3     F64 [21]  lambda(step) for step 0..20, warm-up 3, total 20
  schedule.{kind}.warmup0     F64 [21]  same with warm-up 0
  schedule.{kind}.warmup3.lr  F64 [20]  lr a real LambdaLR gave the optimizer at updates 0..19 (base 3e-4)

Clipping, clip_grad_norm_(max_norm) over 3 gradient tensors (shapes CLIP_SHAPES):

  clip.grads.{i}              F32       the gradients before clipping
  clip.{case}.max_norm        F64 [1]   max_norm
  clip.{case}.norm            F32 [1]   the returned total norm (PyTorch, float32)
  clip.{case}.grads.{i}       F32       the gradients after clipping
  clip.norm64                 F64 [1]   the same norm summed in float64 by numpy
  case "clip" clips (max_norm 0.5 < norm ~0.9), case "noclip" does not (max_norm 1e3).

Run with the reference venv: .venv-ref/bin/python scripts/golden/optim.py
"""
import json
import os
import sys
from importlib.metadata import version

import numpy as np
import torch
from safetensors.numpy import save_file
from transformers import get_scheduler
from st_util import canonicalize_header  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "TailorKitTests", "Fixtures", "optim.safetensors")
SEED = 20240611
SHAPES = [(2, 3), (5,), (4, 6)]
STEPS = 20
BASE_LR = 1e-2
WARMUP, TOTAL = 3, 20
CLIP_SHAPES = [(8, 16), (37,), (3, 50)]


def adamw_goldens(rng, tensors, meta):
    init = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = []
    for i, s in enumerate(SHAPES):
        g = np.empty((STEPS, *s), dtype=np.float32)
        for t in range(STEPS):
            scale = np.float32(10.0 ** rng.uniform(-3, 1))
            g[t] = rng.standard_normal(s).astype(np.float32) * scale
        if i == 1:
            g[:, 2] = 0.0
        grads.append(g)
    for i in range(len(SHAPES)):
        tensors[f"adamw.init.{i}"] = init[i]
        tensors[f"adamw.grads.{i}"] = grads[i]

    lrs = None
    for run, wd in [("decay", 0.1), ("nodecay", 0.0)]:
        params = [torch.tensor(x.copy(), requires_grad=True) for x in init]
        opt = torch.optim.AdamW(params, lr=BASE_LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
        sched = get_scheduler("cosine", opt, num_warmup_steps=WARMUP, num_training_steps=TOTAL)
        hist = [np.empty((STEPS, *s), dtype=np.float32) for s in SHAPES]
        used = []
        for t in range(STEPS):
            for i, p in enumerate(params):
                p.grad = torch.tensor(grads[i][t])
            used.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
            for i, p in enumerate(params):
                hist[i][t] = p.detach().numpy()
        assert opt.param_groups[0]["foreach"] is None and opt.param_groups[0]["fused"] is None
        for i, p in enumerate(params):
            st = opt.state[p]
            assert float(st["step"]) == STEPS
            tensors[f"adamw.{run}.params.{i}"] = hist[i]
            tensors[f"adamw.{run}.exp_avg.{i}"] = st["exp_avg"].numpy().copy()
            tensors[f"adamw.{run}.exp_avg_sq.{i}"] = st["exp_avg_sq"].numpy().copy()
        assert lrs is None or lrs == used
        lrs = used
    tensors["adamw.lr"] = np.array(lrs, dtype=np.float64)
    meta["adamw"] = json.dumps({
        "shapes": SHAPES, "steps": STEPS, "betas": [0.9, 0.999], "eps": 1e-8,
        "weight_decay": {"decay": 0.1, "nodecay": 0.0},
        "schedule": {"kind": "cosine", "base_lr": BASE_LR, "warmup": WARMUP, "total": TOTAL},
        "implementation": "torch.optim.AdamW defaults on CPU (foreach=None, fused=None -> _single_tensor_adam)",
        "zero_gradient": "tensor 1, element 2, every step",
    })
    print("adamw: lrs", [round(x, 6) for x in lrs])


def schedule_goldens(tensors, meta):
    base = 3e-4
    for kind in ["constant", "linear", "cosine"]:
        for warmup in [3, 0]:
            name = "constant_with_warmup" if kind == "constant" else kind
            p = torch.nn.Parameter(torch.zeros(1))
            opt = torch.optim.AdamW([p], lr=base)
            sched = get_scheduler(name, opt, num_warmup_steps=warmup, num_training_steps=TOTAL)
            lam = sched.lr_lambdas[0]
            tensors[f"schedule.{kind}.warmup{warmup}"] = np.array([lam(s) for s in range(TOTAL + 1)], dtype=np.float64)
            if warmup == 3:
                used = []
                for _ in range(TOTAL):
                    used.append(opt.param_groups[0]["lr"])
                    opt.step()
                    sched.step()
                tensors[f"schedule.{kind}.warmup3.lr"] = np.array(used, dtype=np.float64)
            print(f"schedule {kind} warmup {warmup}:", [round(float(x), 4) for x in tensors[f"schedule.{kind}.warmup{warmup}"]])
    meta["schedule"] = json.dumps({
        "total": TOTAL, "warmups": [3, 0], "steps": "lambda for step 0..20", "lr_base": base,
        "lr": "param_groups[0]['lr'] before optimizer.step() k, scheduler.step() after it (HF Trainer order)",
        "functions": "transformers.get_scheduler('constant_with_warmup' | 'linear' | 'cosine')",
    })


def clip_goldens(rng, tensors, meta):
    grads = [(rng.standard_normal(s) * 0.05).astype(np.float32) for s in CLIP_SHAPES]
    for i, g in enumerate(grads):
        tensors[f"clip.grads.{i}"] = g
    norm64 = np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads))
    tensors["clip.norm64"] = np.array([norm64], dtype=np.float64)
    info = {}
    for case, max_norm in [("clip", 0.5), ("noclip", 1e3)]:
        params = [torch.nn.Parameter(torch.zeros(s)) for s in CLIP_SHAPES]
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g.copy())
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        tensors[f"clip.{case}.max_norm"] = np.array([max_norm], dtype=np.float64)
        tensors[f"clip.{case}.norm"] = np.array([norm.item()], dtype=np.float32)
        for i, p in enumerate(params):
            tensors[f"clip.{case}.grads.{i}"] = p.grad.numpy().copy()
        changed = any(not np.array_equal(p.grad.numpy(), g) for p, g in zip(params, grads))
        assert changed == (case == "clip"), case
        info[case] = {"max_norm": max_norm, "norm": norm.item(), "clipped": changed}
        print(f"clip {case}: norm {norm.item():.9g} (float64 {norm64:.12g}), clipped {changed}")
    meta["clip"] = json.dumps({"shapes": CLIP_SHAPES, "cases": info, "norm_type": 2.0,
                               "function": "torch.nn.utils.clip_grad_norm_ defaults (foreach on CPU)"})


def main():
    torch.set_num_threads(1)
    rng = np.random.default_rng(SEED)
    tensors, meta = {}, {}
    adamw_goldens(rng, tensors, meta)
    schedule_goldens(tensors, meta)
    clip_goldens(rng, tensors, meta)
    meta["seed"] = str(SEED)
    meta["generator"] = "scripts/golden/optim.py"
    meta["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    meta["versions"] = json.dumps({p: version(p) for p in ["torch", "transformers", "numpy", "safetensors"]}
                                  | {"python": sys.version.split()[0]})
    save_file(tensors, OUT, metadata=meta)
    canonicalize_header(OUT)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
