#!/usr/bin/env bash
# One call on the GPU machine that re-runs every `gpu`-marked test and the benchmarks whose numbers
# are recorded in docs/BENCHMARKS.md, inside a wall-time budget, keeping partial results:
#   bash bench/device_session.sh OUTDIR BUDGET_SECONDS
# OUTDIR receives at most 8 files (the device tool's limit): logs and one tarball of bake-off results.
set -u
OUT=${1:?usage: device_session.sh OUTDIR BUDGET_SECONDS}
BUDGET=${2:-450}
START=$(date +%s)
left() { echo $(( BUDGET - ($(date +%s) - START) )); }
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 COLUMNS=150
[ -d .whl ] && python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl \
  && export PYTHONPATH=$PYTHONPATH:/tmp/site
{ date -Is; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader;
  python3 -c "import sys,torch,triton;print('python',sys.version.split()[0],'torch',torch.__version__,'triton',triton.__version__)"; } > "$OUT/env.txt" 2>&1
python3 -m gpudiag info > "$OUT/info.txt" 2>&1
timeout 200 python3 -m pytest -q -p no:cacheprovider -m gpu tests/ > "$OUT/gpu_tests.txt" 2>&1
echo "gpu tests rc=$? at $(( $(date +%s) - START )) s" >> "$OUT/env.txt"
{ timeout 40 python3 bench/explain_speed.py --latency-only; timeout 60 python3 bench/explain_speed.py --size-mb 256; } > "$OUT/explain_bench.txt" 2>&1
timeout 50 python3 bench/tiles_speed.py --jobs 16 --out "$OUT/tiles_bench.json" > "$OUT/tiles_bench.txt" 2>&1
echo "benches done at $(( $(date +%s) - START )) s" >> "$OUT/env.txt"
L=$(left)
if [ "$L" -gt 60 ]; then
  mkdir -p /tmp/bk
  bash bench/bakeoff_device_run.sh /tmp/bk "$((L - 10))" &
  P=$!
  while kill -0 $P 2>/dev/null; do sleep 10; tar czf "$OUT/bakeoff.tgz" -C /tmp bk 2>/dev/null; done
  tar czf "$OUT/bakeoff.tgz" -C /tmp bk
fi
echo "all done at $(( $(date +%s) - START )) s" >> "$OUT/env.txt"
