#!/usr/bin/env bash
# Issue 13 on the GPU, in one call, inside a wall-time budget, keeping partial results:
#   1 knobs: the fp32 GEMM of the issue (bench/workloads/kernelbench/gemm_fp32_prefill.py, 1024x8192x8192 +
#            GELU): eager and default, then the knobs its signals call for (TF32 must appear and be measured);
#            the report at 80 columns and its JSON;
#   2 gate:  the same GEMM with one torch setting as the baseline (TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1: cuBLAS
#            in TF32) and a run with another (the default, full fp32): --baseline --max-regression 5 must fail
#            with exit 1 and one line; the other gates (--max-graph-breaks, --max-recompiles,
#            --max-compile-s) pass;
#   3 checks: bench/bakeoff/checks.py (medians against a plain and a hand-written do_bench, the same bake-off
#            twice, and the gate of run 2 against run 1) on a GPU-bound workload, RMSNorm prefill;
#   4 launch-bound gate, if time is left: the small MLP at decode size twice, gated on each other.
# Usage (repository root): bash bench/bakeoff/gpu_session.sh OUTDIR [BUDGET_SECONDS=280] [DEVICE=cuda]
# OUTDIR gets at most 7 files: env.txt, progress.txt, knobs_80col.txt, knobs.json, gate.txt,
# checks_summary.json and raw.tgz (every JSON document, report and log). DEVICE=cpu is the dry run
# (with GEMM=bench/workloads/kernelbench/gemm_fp32_decode.py, or smaller, on a small machine).
set -u
OUT=${1:?usage: gpu_session.sh OUTDIR [BUDGET_SECONDS] [DEVICE]}
BUDGET=${2:-280}
DEVICE=${3:-cuda}
START=$(date +%s)
RAW=$(mktemp -d "${TMPDIR:-/tmp}/gpudiag-session-XXXXXX")
mkdir -p "$OUT"
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
left() { echo $(( BUDGET - ($(date +%s) - START) )); }
log() { echo "$1 at $(( $(date +%s) - START )) s" >> "$OUT/progress.txt"; }
pack() { tar czf "$OUT/raw.tgz.part" -C "$RAW" . && mv "$OUT/raw.tgz.part" "$OUT/raw.tgz"; }
trap 'pack; rm -rf "$RAW"' EXIT
GEMM=${GEMM:-bench/workloads/kernelbench/gemm_fp32_prefill.py}  # GEMM=FILE: another workload for a dry run
upto() { local l; l=$(left); echo $(( l < $1 ? (l > 1 ? l : 1) : $1 )); }  # a step's limit: its own, or what is left
bake() { local limit=$1; shift; timeout -s TERM -k 10 "$(upto "$limit")" python3 -m gpudiag bakeoff "$@" \
  --device "$DEVICE" --quick; }

{ date -Is; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv 2>&1;
  python3 -c "import sys,torch,triton;print('python',sys.version.split()[0],'torch',torch.__version__,'cuda',torch.version.cuda,'triton',triton.__version__)";
  nproc; git rev-parse HEAD 2>/dev/null; } > "$OUT/env.txt" 2>&1

# 1 knobs: the report at 80 columns (what a pipe gets) and its JSON
COLUMNS=80 bake 150 "$GEMM" --modes default --output "$OUT/knobs.json" > "$OUT/knobs_80col.txt" 2> "$RAW/knobs.err"
log "1 knobs: rc=$?"
pack

# 2 gate: a baseline with cuBLAS in TF32, then the default setting (full fp32) against it
TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 bake 60 "$GEMM" --modes default --knobs none --output "$RAW/gate_baseline.json" \
  > "$RAW/gate_baseline.txt" 2>&1
log "2a gate baseline (TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1): rc=$?"
COLUMNS=80 bake 60 "$GEMM" --modes default --knobs none --output "$RAW/gate_run.json" --baseline "$RAW/gate_baseline.json" \
  --max-regression 5 --max-graph-breaks 0 --max-recompiles 0 --max-compile-s 120 > "$RAW/gate_run.txt" 2> "$OUT/gate.txt"
log "2b gate run (full fp32 against the TF32 baseline; expect rc=1): rc=$?"
pack

# 3 the honesty checks on a GPU-bound workload (and the gate of its run 2 against its run 1)
if [ "$(left)" -gt 100 ]; then
  timeout -s TERM -k 10 "$(( $(left) - 20 ))" python3 -m bench.bakeoff.checks --device "$DEVICE" --quick --out "$RAW" \
    --tag control --script bench/workloads/kernelbench/rmsnorm_prefill.py > "$RAW/checks.log" 2>&1
  log "3 checks (rmsnorm prefill, --quick): rc=$?"
  cp "$RAW/control_summary.json" "$OUT/checks_summary.json" 2>/dev/null
else
  log "3 checks: not run, out of time"
fi
pack

# 4 a launch-bound workload gated on itself, if time is left
if [ "$(left)" -gt 45 ]; then
  MLP=bench/workloads/kernelbench/small_mlp_decode.py
  bake 25 "$MLP" --modes default --knobs none --output "$RAW/mlp_baseline.json" > "$RAW/mlp_baseline.txt" 2>&1
  log "4a launch-bound baseline: rc=$?"
  bake 25 "$MLP" --modes default --knobs none --baseline "$RAW/mlp_baseline.json" --max-regression 3 \
    --output "$RAW/mlp_run.json" > "$RAW/mlp_run.txt" 2>&1
  log "4b launch-bound run gated at 3% (beyond the spread): rc=$?"
else
  log "4 launch-bound gate: not run, out of time"
fi
log "done"
