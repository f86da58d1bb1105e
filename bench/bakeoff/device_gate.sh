#!/usr/bin/env bash
# Issue 21 on the GPU host, in one call, well under 5 minutes (--quick budgets, modes eager and default,
# no knobs), keeping partial results:
#   1 GPU-bound:    two identical bake-offs of bench/workloads/kernelbench/gemm_fp32_prefill.py (the
#                   1024x8192x8192 fp32 GEMM + GELU, ~2.7 ms a call on an H100/H200), the second gated on the
#                   first with the default gate (--baseline, 5%): must exit 0, every row compared;
#   2 launch-bound: the same with bench/workloads/kernelbench/small_mlp_decode.py (1x1024 MLP, every mode
#                   launch-bound): must exit 0, its rows gated beyond both runs' spread;
#   3 disabled:     TORCH_COMPILE_DISABLE=1 with the MLP: must never recommend compiling (it is refused: exit 2,
#                   one line); then TORCHINDUCTOR_MAX_AUTOTUNE=1 with --modes default: default is not measured
#                   (status overridden) and nothing recommends torch.compile;
#   4 the gpu-marked bake-off tests (tests/test_bakeoff_gpu.py), if time is left.
# Usage (repository root): bash bench/bakeoff/device_gate.sh OUTDIR [BUDGET_SECONDS=280] [DEVICE=cuda]
# OUTDIR gets at most 6 files: summary.txt (one PASS/FAIL line per check, then the gate lines), env.txt,
# gpu_gate.txt and launch_gate.txt (the gated runs' reports at 80 columns), gpu_tests.txt and raw.tgz (every
# JSON document and log). DEVICE=cpu with GEMM=... MLP=... smaller workloads is the dry run.
set -u
OUT=${1:?usage: device_gate.sh OUTDIR [BUDGET_SECONDS] [DEVICE]}
BUDGET=${2:-280}
DEVICE=${3:-cuda}
START=$(date +%s)
RAW=$(mktemp -d "${TMPDIR:-/tmp}/gpudiag-gate-XXXXXX")
mkdir -p "$OUT"
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
unset TORCHDYNAMO_DISABLE TORCH_COMPILE_DISABLE TORCHINDUCTOR_MAX_AUTOTUNE  # only where a check sets them
GEMM=${GEMM:-bench/workloads/kernelbench/gemm_fp32_prefill.py}
MLP=${MLP:-bench/workloads/kernelbench/small_mlp_decode.py}
left() { echo $(( BUDGET - ($(date +%s) - START) )); }
upto() { local l; l=$(left); echo $(( l < $1 ? (l > 1 ? l : 1) : $1 )); }  # a step's limit: its own, or what is left
note() { echo "$1 at $(( $(date +%s) - START )) s" >> "$RAW/progress.txt"; }
verdict() { echo "$1 $2" >> "$OUT/summary.txt"; note "$1 $2"; }
pack() { tar czf "$OUT/raw.tgz.part" -C "$RAW" . && mv "$OUT/raw.tgz.part" "$OUT/raw.tgz"; }
trap 'pack; rm -rf "$RAW"' EXIT
bake() { local limit=$1; shift; timeout -s TERM -k 10 "$(upto "$limit")" python3 -m gpudiag bakeoff "$@" \
  --device "$DEVICE" --quick --knobs none --timeout 150; }
: > "$OUT/summary.txt"
{ date -Is; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv 2>&1;
  python3 -c "import sys,torch,triton;print('python',sys.version.split()[0],'torch',torch.__version__,'cuda',torch.version.cuda,'triton',triton.__version__)";
  echo "cores $(nproc)"; git rev-parse HEAD 2>/dev/null; } > "$OUT/env.txt" 2>&1

# 1 and 2: two identical runs, the second gated on the first with the default gate
pair() {  # pair NAME SCRIPT
  local name=$1 script=$2
  bake 100 "$script" --modes default --output "$RAW/${name}_run1.json" > "$RAW/${name}_run1.txt" 2>&1
  local rc1=$?
  COLUMNS=80 bake 100 "$script" --modes default --output "$RAW/${name}_run2.json" --baseline "$RAW/${name}_run1.json" \
    > "$OUT/${name}_gate.txt" 2> "$RAW/${name}_run2.err"
  local rc2=$?
  local checked
  checked=$(python3 -c "import json,sys; g=json.load(open(sys.argv[1]))['gates']['gates'][0]; print(g['checked'], 'row(s):', g['passed'])" \
    "$RAW/${name}_run2.json" 2>/dev/null)
  if [ "$rc1" = 0 ] && [ "$rc2" = 0 ]; then verdict PASS "$name: two identical runs, default gate rc=0 ($checked)"
  else verdict FAIL "$name: run 1 rc=$rc1, gated run 2 rc=$rc2 ($checked)"; fi
  grep -h "gate \|gpudiag:" "$OUT/${name}_gate.txt" "$RAW/${name}_run2.err" >> "$OUT/summary.txt" 2>/dev/null
  pack
}
pair gpu "$GEMM"
pair launch "$MLP"

# 3 compilation disabled: refused, never a recommendation to compile
TORCH_COMPILE_DISABLE=1 bake 60 "$MLP" --modes default --json > "$RAW/disabled.json" 2> "$RAW/disabled.err"
rc=$?
if [ "$rc" = 2 ] && ! grep -q "torch.compile(" "$RAW/disabled.json" && [ "$(grep -c '^gpudiag:' "$RAW/disabled.err")" = 1 ]; then
  verdict PASS "TORCH_COMPILE_DISABLE=1: refused (rc=2), no recommendation to compile: $(grep '^gpudiag:' "$RAW/disabled.err")"
else verdict FAIL "TORCH_COMPILE_DISABLE=1: rc=$rc"; fi
TORCHINDUCTOR_MAX_AUTOTUNE=1 bake 100 "$MLP" --modes default --json > "$RAW/max_autotune.json" 2> "$RAW/max_autotune.err"
rc=$?
status=$(python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
rows = {r['label']: r['status'] for r in d['rows']}
print(rows.get('default'), 'Use torch.compile' in d['summary']['recommendation'])" "$RAW/max_autotune.json" 2>/dev/null)
if [ "$rc" = 0 ] && [ "$status" = "overridden False" ]; then
  verdict PASS "TORCHINDUCTOR_MAX_AUTOTUNE=1 under default: default overridden, not recommended"
else verdict FAIL "TORCHINDUCTOR_MAX_AUTOTUNE=1 under default: rc=$rc, default/recommends compile: $status"; fi
pack

# 4 the gpu-marked bake-off tests
if [ "$DEVICE" = cuda ] && [ "$(left)" -gt 90 ]; then
  COLUMNS=80 timeout "$(upto 200)" python3 -m pytest -q -p no:cacheprovider -m gpu tests/test_bakeoff_gpu.py \
    > "$OUT/gpu_tests.txt" 2>&1
  rc=$?
  if [ "$rc" = 0 ]; then verdict PASS "gpu tests: $(tail -1 "$OUT/gpu_tests.txt")"
  else verdict FAIL "gpu tests rc=$rc: $(tail -1 "$OUT/gpu_tests.txt")"; fi
else
  note "gpu tests: not run (device $DEVICE, $(left) s left)"
fi
note "done"
cat "$OUT/summary.txt"
