#!/usr/bin/env bash
# Every --from-triton-cache measurement of docs/BENCHMARKS.md on the GPU machine, inside a budget:
#   validate: bench/tiles/cache_validate.py on tests/data/triton_cache_h200 (recompile all 43 kernels for
#             sm_90 and compare with what the H200 recorded, then the sm_80/86/89/120 matrix);
#   speed:    bench/tiles/cache_speed.py on the same cache (cold, warm, 20 copies), if time is left.
# Usage (from the repository root): bash bench/tiles/cache_device_run.sh OUTDIR [BUDGET_SECONDS]
# OUTDIR receives 8 files (the device tool's limit): progress.txt (machine, versions, step timings),
# log.txt, validate/{env.txt,reproduce.json,matrix.json,matrix.txt,summary.md} and speed.json.
set -u
OUT=${1:?usage: tiles_cache_device_run.sh OUTDIR [BUDGET_SECONDS]}
BUDGET=${2:-300}
START=$(date +%s)
left() { echo $(( BUDGET - ($(date +%s) - START) )); }
mkdir -p "$OUT/validate"
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
{ date -Is; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader;
  python3 -c "import sys,torch,triton;print('python',sys.version.split()[0],'torch',torch.__version__,'triton',triton.__version__)"
  echo "cores $(nproc)"; } > "$OUT/progress.txt" 2>&1
timeout -s INT "$(left)" python3 -m bench.tiles.cache_validate "$OUT/validate" > "$OUT/log.txt" 2>&1
echo "validate: rc=$? at $(( $(date +%s) - START )) s" >> "$OUT/progress.txt"
L=$(left)
if [ "$L" -gt 60 ]; then
  timeout -s INT "$L" python3 -m bench.tiles.cache_speed --cache tests/data/triton_cache_h200 --copies 20 \
    --out "$OUT/speed.json" >> "$OUT/log.txt" 2>&1
  echo "speed: rc=$? at $(( $(date +%s) - START )) s" >> "$OUT/progress.txt"
else
  echo "speed: not run, ${L} s left" >> "$OUT/progress.txt"
fi
