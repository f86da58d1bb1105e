#!/usr/bin/env bash
# Every bake-off measurement of docs/BENCHMARKS.md, inside a wall-time budget, keeping partial results:
#   checks:    bench/bakeoff/checks.py on the small MLP (launch-bound) and on rmsnorm prefill
#              (GPU-bound control): checks (a) and (b) and the harness overhead;
#   workloads: the six bench/workloads/ scripts (decode + prefill each) with --quick, modes only (the knobs are
#              bakeoff_gpu_session.sh's), tables and JSON.
# Usage (from the repository root): bash bench/bakeoff/device_run.sh OUTDIR [BUDGET_SECONDS] [checks|workloads|all]
# WORKLOADS="rope swiglu" picks and orders the workloads.
set -u
OUT=${1:?usage: device_run.sh OUTDIR [BUDGET_SECONDS] [checks|workloads|all]}
BUDGET=${2:-560}
PART=${3:-all}
START=$(date +%s)
left() { echo $(( BUDGET - ($(date +%s) - START) )); }
mkdir -p "$OUT"
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
{ date -Is; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv;
  python3 -c "import sys,torch,triton;print('python',sys.version.split()[0],'torch',torch.__version__,'cuda',torch.version.cuda,'triton',triton.__version__)"; nproc; } > "$OUT/env.txt" 2>&1
if [ "$PART" != workloads ]; then
  timeout -s INT "$(left)" python3 -m bench.bakeoff.checks --device cuda --out "$OUT" --tag mlp > "$OUT/mlp.log" 2>&1
  echo "checks mlp: rc=$? at $(( $(date +%s) - START )) s" >> "$OUT/progress.txt"
  timeout -s INT "$(left)" python3 -m bench.bakeoff.checks --device cuda --out "$OUT" --tag control \
    --script bench/workloads/kernelbench/rmsnorm_prefill.py > "$OUT/control.log" 2>&1
  echo "checks control: rc=$? at $(( $(date +%s) - START )) s" >> "$OUT/progress.txt"
fi
if [ "$PART" != checks ]; then
  for w in ${WORKLOADS:-rope small_mlp swiglu patch_embed rmsnorm softmax_vocab}; do
    L=$(left)
    if [ "$L" -lt 40 ]; then echo "$w: not run, out of time" >> "$OUT/progress.txt"; continue; fi
    COLUMNS=160 timeout -s INT "$L" python3 -m gpudiag bakeoff "bench/workloads/$w.py" --device cuda --quick \
      --knobs none --timeout 150 --output "$OUT/wl_$w.json" > "$OUT/wl_$w.txt" 2> "$OUT/wl_$w.err"
    echo "$w: rc=$? at $(( $(date +%s) - START )) s" >> "$OUT/progress.txt"
  done
fi
