#!/usr/bin/env python3
"""llama.cpp reference side of scripts/bench-infer.sh (run with .venv-bench/bin/python).

Measures, with llama-cpp-python on CPU (n_threads = n_threads_batch = 2, n_ctx = n_batch = 512):
  pp: prompt processing of exactly 256 tokens, evaluated as one batch into an empty KV cache;
  tg: 64 greedy decode steps (one llama_decode per token, argmax over the last logits) after a short
      prompt; only the 64 steps are timed. Also tg_ctx256: the same 64 steps right after the 256-token
      prompt (the situation `tailor generate --prompt-file prompt256.txt --max-tokens 64` measures).
Each is 1 warm-up + N measured repetitions (default 5); a measured rep whose CPU share (process CPU time
over 2 x wall) is below --min-cpu-share (other work took the cores) is discarded and redone. Wall-clock times come from perf_counter around
the decode calls; llama.cpp's own counters (llama_perf_context) are reported alongside as a cross-check.

Prints one JSON object to stdout. Other modes:
  --write-prompt FILE   write text that tokenizes to exactly 256 SmolLM2 tokens (the detokenized first
                        256 ids of FIXED_TEXT, re-tokenized to confirm) and exit.
  --count-tokens FILE   print the number of tokens FILE's text tokenizes to and exit.
"""
import argparse
import ctypes
import json
import os
import statistics
import sys
import time

import numpy as np
import llama_cpp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_MODEL = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")

# Fixed English text; comfortably longer than 256 SmolLM2 tokens.
FIXED_TEXT = (
    "The history of the lighthouse is, in many ways, the history of coastal trade itself. Long before "
    "electric lamps and rotating lenses, sailors relied on fires lit on hilltops to warn them of rocks "
    "and shallow water. The most famous of the ancient lights stood at the harbor of Alexandria, where "
    "a tall stone tower guided ships into port for more than a thousand years. Travelers described its "
    "beacon as visible from far out at sea, and its image appeared on coins and in the stories of "
    "merchants who crossed the Mediterranean.\n\n"
    "During the Middle Ages, monks and local lords kept small lights burning on dangerous headlands, "
    "often paid for by tolls collected from passing ships. The work was hard and lonely. Keepers carried "
    "coal, wood, or oil up narrow stairs every evening, trimmed wicks through the night, and cleaned "
    "soot from the windows every morning. A single careless night could cost lives, so the job demanded "
    "patience, discipline, and a steady hand.\n\n"
    "The eighteenth and nineteenth centuries brought a wave of engineering progress. Builders learned to "
    "set towers on bare rock in open water, dovetailing granite blocks so that waves could not pull them "
    "apart. Scientists improved the lamps, replacing open flames with brighter oil burners and, later, "
    "with gas and electric light. The greatest change came from a French physicist who designed a lens "
    "made of concentric rings of glass. His design captured light that would otherwise have been lost "
    "and bent it into a narrow, powerful beam that could be seen for more than twenty miles.\n\n"
    "Each lighthouse was given its own pattern of flashes, so that a navigator who counted the seconds "
    "between them could tell exactly which light he was looking at. Charts listed these patterns, and "
    "captains learned them by heart. In fog, when no light could be seen, keepers sounded bells, horns, "
    "or sirens instead, each with its own rhythm.\n\n"
    "Today most lighthouses are automated. Satellite navigation tells a ship its position to within a "
    "few meters, and radar shows the coastline even on the darkest night. Yet many towers still shine, "
    "maintained by volunteers and historical societies, and they remain a reassuring sight for anyone "
    "who has ever watched the shore disappear behind a wave."
)
SHORT_PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."


def load(model, flash_attn=False):
    return llama_cpp.Llama(
        model_path=model, n_threads=2, n_threads_batch=2, n_ctx=512, n_batch=512, n_ubatch=512,
        flash_attn=flash_attn, verbose=False,
    )


def tokenize(llm, text):
    # SmolLM2 has add_bos_token = false; add_bos=True lets the vocab decide (no BOS here), as generation would.
    return llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)


def prompt256_text(llm, n=256):
    ids = tokenize(llm, FIXED_TEXT)
    assert len(ids) >= n, f"FIXED_TEXT is only {len(ids)} tokens"
    text = llm.detokenize(ids[:n]).decode("utf-8")
    got = len(tokenize(llm, text))
    if got != n:
        raise SystemExit(f"detokenized 256-token prefix re-tokenizes to {got} tokens, not {n}")
    return text


class Bench:
    def __init__(self, llm):
        self.llm = llm
        self.ctx = llm._ctx.ctx
        self.n_vocab = llm.n_vocab()

    def clear(self):
        self.llm.reset()  # n_tokens = 0; the next eval removes every KV cell from position 0 on
        mem = llama_cpp.llama_get_memory(self.ctx)
        llama_cpp.llama_memory_clear(mem, True)

    def argmax_last(self):
        p = llama_cpp.llama_get_logits_ith(self.ctx, -1)
        return int(np.argmax(np.ctypeslib.as_array(p, shape=(self.n_vocab,))))

    def perf(self, share):
        d = llama_cpp.llama_perf_context(self.ctx)
        return {"p_eval_ms": d.t_p_eval_ms, "n_p_eval": d.n_p_eval, "eval_ms": d.t_eval_ms, "n_eval": d.n_eval,
                "cpu_share": share}

    def pp(self, ids):
        """Evaluate ids as one batch into an empty cache; returns (seconds, llama perf)."""
        self.clear()
        llama_cpp.llama_perf_context_reset(self.ctx)
        c0 = time.process_time()
        t0 = time.perf_counter()
        self.llm.eval(ids)
        llama_cpp.llama_synchronize(self.ctx)  # eval() reads no logits; sync so the timing and perf counters are complete
        dt = time.perf_counter() - t0
        return dt, self.perf(cpu_share(c0, dt))

    def tg(self, prompt_ids, n):
        """Eval prompt (untimed), then time n greedy single-token decode steps."""
        self.clear()
        self.llm.eval(prompt_ids)
        tok = self.argmax_last()
        out = []
        llama_cpp.llama_perf_context_reset(self.ctx)
        c0 = time.process_time()
        t0 = time.perf_counter()
        for _ in range(n):
            self.llm.eval([tok])
            tok = self.argmax_last()
            out.append(tok)
        dt = time.perf_counter() - t0
        return dt, self.perf(cpu_share(c0, dt)), out


def cpu_share(c0, wall, threads=2):
    """Process CPU time since c0 over (wall * threads): about 1.0 when the threads had the cores to
    themselves (ggml's OpenMP threads spin between ops), clearly lower when other work took CPU time."""
    return round((time.process_time() - c0) / (wall * threads), 3)


def measure(fn, args, discarded, name):
    """args.warmup unmeasured calls, then args.reps results; a result whose cpu_share is below
    args.min_cpu_share is discarded and redone (at most 2 * reps extra calls; then the contended ones are kept)."""
    for _ in range(args.warmup):
        fn()
    good, bad = [], []
    for _ in range(3 * args.reps):
        r = fn()
        (good if r[1]["cpu_share"] >= args.min_cpu_share else bad).append(r)
        if len(good) == args.reps:
            break
    discarded[name] = len(bad)
    if len(good) < args.reps:
        print(f"llamacpp_bench: warning: {name}: only {len(good)} of {args.reps} reps ran uncontended", file=sys.stderr)
        good += bad[: args.reps - len(good)]
    return good


def summarize(name, n_tok, times, perfs, key_ms, key_n):
    tps = [n_tok / t for t in times]
    ll = [p[key_n] / p[key_ms] * 1e3 if p[key_ms] > 0 else None for p in perfs]
    return {
        f"{name}_tokens": n_tok,
        f"{name}_tps_median": round(statistics.median(tps), 2),
        f"{name}_tps_all": [round(x, 2) for x in tps],
        f"{name}_llama_perf_tps_median": round(statistics.median([x for x in ll if x]), 2) if any(ll) else None,
        f"{name}_llama_perf_n": [p[key_n] for p in perfs],
        f"{name}_cpu_share": [p["cpu_share"] for p in perfs],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--prompt-file", help="use this file's text as the pp prompt (must tokenize to 256 tokens)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--pp-tokens", type=int, default=256)
    ap.add_argument("--tg-tokens", type=int, default=64)
    ap.add_argument("--min-cpu-share", type=float, default=0.9,
                    help="a measured rep whose CPU share is below this (other work took the cores) is discarded and "
                         "redone, at most 2*reps extra times (0 disables)")
    ap.add_argument("--flash-attn", action="store_true", help="enable flash attention (llama-cpp-python default: off)")
    ap.add_argument("--write-prompt", metavar="FILE")
    ap.add_argument("--count-tokens", metavar="FILE")
    ap.add_argument("--wait-idle", type=float, metavar="SECONDS",
                    help="wait (at most SECONDS) until other work uses under 10%% of the CPUs for 2 s, then exit")
    args = ap.parse_args()

    if args.wait_idle is not None:
        wait_idle(args.wait_idle)
        return

    llm = load(args.model, args.flash_attn)
    if args.write_prompt:
        text = prompt256_text(llm, args.pp_tokens)
        with open(args.write_prompt, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {args.write_prompt}: {args.pp_tokens} tokens, {len(text)} chars", file=sys.stderr)
        return
    if args.count_tokens:
        with open(args.count_tokens, encoding="utf-8") as f:
            print(len(tokenize(llm, f.read())))
        return

    if args.prompt_file:
        with open(args.prompt_file, encoding="utf-8") as f:
            pp_ids = tokenize(llm, f.read())
        if len(pp_ids) != args.pp_tokens:
            raise SystemExit(f"{args.prompt_file} tokenizes to {len(pp_ids)} tokens, expected {args.pp_tokens}")
    else:
        pp_ids = tokenize(llm, FIXED_TEXT)[: args.pp_tokens]
        assert len(pp_ids) == args.pp_tokens
    short_ids = tokenize(llm, SHORT_PROMPT)

    busy = cpu_busy()
    if busy > 0.10:
        print(f"llamacpp_bench: warning: the CPUs were {busy:.0%} busy with other work just before the run; "
              "the numbers will be skewed", file=sys.stderr)
    b = Bench(llm)
    res = {"cpu_busy_before": round(busy, 3)}

    discarded = {}
    pp = measure(lambda: b.pp(pp_ids), args, discarded, "pp")
    res.update(summarize("pp", args.pp_tokens, [t for t, _ in pp], [p for _, p in pp], "p_eval_ms", "n_p_eval"))

    tg = measure(lambda: b.tg(short_ids, args.tg_tokens), args, discarded, "tg")
    outs = {tuple(o) for _, _, o in tg}
    res.update(summarize("tg", args.tg_tokens, [t for t, _, _ in tg], [p for _, p, _ in tg], "eval_ms", "n_eval"))
    res["tg_prompt_tokens"] = len(short_ids)
    res["tg_deterministic"] = len(outs) == 1
    res["tg_text"] = llm.detokenize(tg[0][2]).decode("utf-8", errors="replace")

    tgc = measure(lambda: b.tg(pp_ids, args.tg_tokens), args, discarded, "tg_ctx256")
    res["contended_reps_discarded"] = discarded
    res.update(summarize("tg_ctx256", args.tg_tokens, [t for t, _, _ in tgc], [p for _, p, _ in tgc], "eval_ms", "n_eval"))

    res.update({
        "reps": args.reps, "warmup": args.warmup, "n_threads": 2, "n_threads_batch": 2, "n_ctx": 512,
        "n_batch": 512, "flash_attn": args.flash_attn, "model": os.path.basename(args.model),
        "llama_cpp_python": llama_cpp.__version__,
        "llama_cpp_commit": _llama_commit(), "ggml_commit": _cstr("ggml_commit"), "ggml_version": _cstr("ggml_version"),
        "system_info": llama_cpp.llama_print_system_info().decode("utf-8").strip(),
    })
    print(json.dumps(res))


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


def wait_idle(limit, threshold=0.10):
    t_end = time.time() + limit
    quiet, busy, warned = 0, 0.0, False
    while True:
        busy = cpu_busy(1.0)
        quiet = quiet + 1 if busy < threshold else 0
        if quiet >= 2:
            return
        if time.time() >= t_end:
            print(f"llamacpp_bench: CPUs still {busy:.0%} busy with other work after {limit:.0f} s; going on anyway "
                  "(numbers will be skewed)", file=sys.stderr)
            return
        if not warned and busy >= threshold:
            print(f"llamacpp_bench: CPUs {busy:.0%} busy with other work; waiting up to {limit:.0f} s for them to go idle",
                  file=sys.stderr)
            warned = True


def _llama_commit():
    """llama.cpp commit vendored by this llama-cpp-python release (written by setup-llamacpp.sh from the
    release's CHANGELOG); ggml_commit() is only the abbreviated hash of the sdist's git metadata."""
    p = os.path.join(sys.prefix, ".llamacpp-commit")
    if os.path.exists(p):
        with open(p) as f:
            return f.read().strip()
    return _cstr("ggml_commit")


def _cstr(name):
    try:
        f = getattr(llama_cpp.llama_cpp._lib, name)
    except AttributeError:
        return None
    f.restype = ctypes.c_char_p
    return f().decode()


if __name__ == "__main__":
    main()
