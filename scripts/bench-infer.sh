#!/usr/bin/env bash
# Inference benchmark: Tailor vs llama.cpp (llama-cpp-python) on CPU, SmolLM2-135M-Instruct Q4_1, 2 threads.
#
#   pp256: prompt processing of exactly 256 tokens (scripts/bench/prompt256.txt), tokens/s
#   tg64:  64 greedy generated tokens, tokens/s (decode steps only)
# Each side: 1 warm-up + N measured runs (default 5), medians. The two sides run one after the other.
#
# Setup (idempotent): scripts/fetch-model.sh, scripts/bench/setup-llamacpp.sh (.venv-bench; builds
# llama.cpp natively once, ~10 min on 2 cores, then cached), `swift build -c release --product tailor`.
#
# Tailor side contract: `.build/release/tailor generate --model M --prompt-file F --max-tokens 64 --temp 0
# --ignore-eos --json` prints one JSON object on stdout with
#   "timings": {"prompt_tokens": N, "prompt_ms": x, "generated_tokens": 64, "generate_ms": y}.
# It runs with OPENBLAS_NUM_THREADS=2. llama.cpp runs with n_threads = n_threads_batch = 2.
#
# Its tg64 runs after the 256-token prompt; the llama.cpp tg64 reference runs after a short prompt, so
# the table also shows llama.cpp's tg64 after the same 256-token prompt ("tg64 @ctx256").
#
# Results: a table on stdout, and everything as JSON in .cache/bench-infer.json.
#
# Other processes on the machine skew the numbers: before each side it waits (up to --wait-idle seconds,
# default 300) for the CPUs to be idle, and it records each run's CPU share (process CPU time over
# 2 x wall time; well below 1 means the run did not have both cores).
#
# Usage: scripts/bench-infer.sh [--reps N] [--wait-idle SECONDS] [--llamacpp-only] [--no-build]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

REPS=5
WAIT_IDLE=300
LLAMA_ONLY=0
BUILD=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --reps) REPS="$2"; shift 2 ;;
        --wait-idle) WAIT_IDLE="$2"; shift 2 ;;
        --llamacpp-only) LLAMA_ONLY=1; shift ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) echo "bench-infer: unknown argument $1" >&2; exit 2 ;;
    esac
done

MODEL="$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf"
PROMPT="$ROOT/scripts/bench/prompt256.txt"
TAILOR="${TAILOR:-$ROOT/.build/release/tailor}"  # override for testing
PYB="$ROOT/.venv-bench/bin/python"
OUT="$ROOT/.cache/bench-infer.json"
mkdir -p "$ROOT/.cache"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
die() { echo "bench-infer: error: $*" >&2; exit 1; }

# ---- setup -------------------------------------------------------------------------------------------
echo "== setup" >&2
"$ROOT/scripts/fetch-model.sh"
"$ROOT/scripts/bench/setup-llamacpp.sh" >&2

if [[ ! -f "$PROMPT" ]]; then
    PROMPT="$tmp/prompt256.txt"
    "$PYB" "$ROOT/scripts/bench/llamacpp_bench.py" --model "$MODEL" --write-prompt "$PROMPT"
fi
ntok="$("$PYB" "$ROOT/scripts/bench/llamacpp_bench.py" --model "$MODEL" --count-tokens "$PROMPT")"
[[ "$ntok" == 256 ]] || die "$PROMPT tokenizes to $ntok tokens, expected 256 (regenerate with llamacpp_bench.py --write-prompt)"

if [[ $LLAMA_ONLY == 0 ]]; then
    if [[ $BUILD == 1 ]]; then
        echo "== swift build -c release --product tailor" >&2
        t0=$(date +%s)
        swift build -c release --product tailor >"$tmp/swift-build.log" 2>&1 || {
            tail -30 "$tmp/swift-build.log" >&2
            die "swift build -c release of the Tailor CLI failed (see above); use --llamacpp-only for the reference side alone"
        }
        echo "   built in $(( $(date +%s) - t0 )) s" >&2
    fi
    [[ -x "$TAILOR" ]] || die "$TAILOR not found; build it, or use --llamacpp-only"
    OPENBLAS_NUM_THREADS=2 "$TAILOR" generate --help >/dev/null 2>&1 \
        || die "'tailor generate' is not available in $TAILOR (the CLI contract is not implemented yet); use --llamacpp-only"
fi

# ---- Tailor ------------------------------------------------------------------------------------------
# Other work on this machine (builds, test runs) skews both sides: wait for idle CPUs before each side.
wait_idle() { "$PYB" "$ROOT/scripts/bench/llamacpp_bench.py" --wait-idle "$WAIT_IDLE"; }
: >"$tmp/tailor.jsonl"
if [[ $LLAMA_ONLY == 0 ]]; then
    wait_idle
    echo "== Tailor: 1 warm-up + $REPS runs" >&2
    OPENBLAS_NUM_THREADS=2 "$PYB" - "$TAILOR" "$MODEL" "$PROMPT" "$REPS" "$tmp" >"$tmp/tailor.jsonl" <<'EOF' \
        || die "Tailor benchmark failed (see above)"
import json, os, resource, subprocess, sys, time
tailor, model, prompt, reps, tmp = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
cmd = [tailor, "generate", "--model", model, "--prompt-file", prompt, "--max-tokens", "64", "--temp", "0",
       "--ignore-eos", "--json"]
def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
for i in range(reps + 1):
    c0, t0 = child_cpu(), time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, child_cpu() - c0
    open(os.path.join(tmp, f"tailor-{i}.err"), "w").write(p.stderr)
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-3000:])
        sys.exit(f"bench-infer: error: tailor generate exited with {p.returncode} (run {i}): {' '.join(cmd)}")
    obj = None
    try:
        obj = json.loads(p.stdout)
    except ValueError:  # tolerate stray lines around the object
        for line in reversed(p.stdout.splitlines()):
            try:
                obj = json.loads(line); break
            except ValueError:
                pass
    t = obj.get("timings") if isinstance(obj, dict) else None
    missing = [k for k in ("prompt_tokens", "prompt_ms", "generated_tokens", "generate_ms") if not t or k not in t]
    if missing:
        sys.exit(f"bench-infer: error: tailor generate printed no JSON object with timings {missing} (run {i}); "
                 f"stdout starts: {p.stdout[:400]!r}")
    rec = {k: t[k] for k in ("prompt_tokens", "prompt_ms", "generated_tokens", "generate_ms")}
    rec["process_wall_s"], rec["process_cpu_share"] = round(wall, 3), round(cpu / (2 * wall), 3)
    print(json.dumps(rec), flush=True)
    print(f"   run {i}{' (warm-up)' if i == 0 else ''}: {json.dumps(rec)}", file=sys.stderr)
EOF
fi

# ---- llama.cpp ---------------------------------------------------------------------------------------
wait_idle
echo "== llama.cpp (llama-cpp-python): 1 warm-up + $REPS runs each" >&2
"$PYB" "$ROOT/scripts/bench/llamacpp_bench.py" --model "$MODEL" --prompt-file "$PROMPT" --reps "$REPS" --warmup 1 \
    >"$tmp/llamacpp.json" || die "llama.cpp benchmark failed"

# ---- report ------------------------------------------------------------------------------------------
"$PYB" - "$tmp/tailor.jsonl" "$tmp/llamacpp.json" "$OUT" "$LLAMA_ONLY" <<'EOF'
import json, os, platform, statistics, subprocess, sys, time
tailor_path, llama_path, out_path, llama_only = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
L = json.load(open(llama_path))
runs = [json.loads(l) for l in open(tailor_path) if l.strip()][1:]  # drop the warm-up
T = None
if runs:
    pp = [r["prompt_tokens"] / r["prompt_ms"] * 1e3 for r in runs]
    tg = [r["generated_tokens"] / r["generate_ms"] * 1e3 for r in runs]
    T = {"process_cpu_share": [r["process_cpu_share"] for r in runs], "pp_tokens": runs[0]["prompt_tokens"], "pp_tps_median": round(statistics.median(pp), 2),
         "pp_tps_all": [round(x, 2) for x in pp], "tg_tokens": runs[0]["generated_tokens"],
         "tg_tps_median": round(statistics.median(tg), 2), "tg_tps_all": [round(x, 2) for x in tg], "timings": runs}
    if T["pp_tokens"] != 256 or T["tg_tokens"] != 64:
        print(f"bench-infer: warning: Tailor reported prompt_tokens={T['pp_tokens']}, generated_tokens={T['tg_tokens']} "
              "(expected 256 and 64)", file=sys.stderr)

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()

def rev():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return None

rows = [("pp256 tok/s", "pp", "pp"), ("tg64 tok/s", "tg", "tg"), ("tg64 @ctx256 tok/s", "tg", "tg_ctx256")]
ratios = {}
def spread(xs):
    return f"{min(xs):.1f}-{max(xs):.1f}"
print()
print(f"{'':20} {'Tailor':>10} {'(min-max)':>15} {'llama.cpp':>10} {'(min-max)':>15} {'Tailor/llama':>13}")
for label, tk, lk in rows:
    lv, lall = L[f"{lk}_tps_median"], L[f"{lk}_tps_all"]
    if T:
        tv, tall = T[f"{tk}_tps_median"], T[f"{tk}_tps_all"]
        r = tv / lv
        ratios[lk] = round(r, 3)
        print(f"{label:20} {tv:10.1f} {spread(tall):>15} {lv:10.1f} {spread(lall):>15} {r:12.2f}x")
    else:
        print(f"{label:20} {'n/a':>10} {'':>15} {lv:10.1f} {spread(lall):>15} {'n/a':>13}")
print()
print(f"llama.cpp: llama-cpp-python {L['llama_cpp_python']}, llama.cpp {L.get('llama_cpp_commit')}, "
      f"2 threads, flash_attn={L['flash_attn']}; llama perf cross-check: pp {L['pp_llama_perf_tps_median']}, "
      f"tg {L['tg_llama_perf_tps_median']} tok/s")
print(f"llama.cpp reps discarded as contended and redone: {L.get('contended_reps_discarded')}")
print(f"llama.cpp tg64 runs after a {L['tg_prompt_tokens']}-token prompt; tg64 @ctx256 runs after the 256-token prompt "
      "(Tailor's tg64 always runs after the 256-token prompt)")
print(f"system_info: {L['system_info']}")
shares = {"llama.cpp pp": L["pp_cpu_share"], "llama.cpp tg": L["tg_cpu_share"]}
if T:
    shares["Tailor (whole process)"] = T["process_cpu_share"]
print("CPU share per run (1.0 = both cores, lower = contended or idle threads): "
      + "; ".join(f"{k} {min(v):.2f}-{max(v):.2f}" for k, v in shares.items()))
contended = sorted(k for k in ("pp", "tg", "tg_ctx256") if min(L[f"{k}_cpu_share"]) < 0.9)
if contended:
    print(f"WARNING: llama.cpp runs with CPU share < 0.9 ({', '.join(contended)}): other work on the machine "
          "competed for the cores during this benchmark; rerun when it is idle")
res = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "git_rev": rev(), "cpu": cpu_model(), "nproc": os.cpu_count(),
       "reps": L["reps"], "llamacpp_contended": contended, "tailor": T, "llamacpp": L, "ratios_tailor_over_llamacpp": ratios}
with open(out_path, "w") as f:
    json.dump(res, f, indent=1)
print(f"results: {out_path}")
EOF
if [[ $LLAMA_ONLY == 1 ]]; then echo "bench-infer: llama.cpp side only (--llamacpp-only)" >&2; fi
