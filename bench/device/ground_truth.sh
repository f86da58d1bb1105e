#!/usr/bin/env bash
# One call on the GPU machine that records ground truth for the tests and the catalogue, within a
# wall-time budget, keeping partial results (everything lands in one tarball under OUTDIR):
#   facts      bench/info/record_facts.py: every driver attribute and NVML fact of the live GPU
#   gpu tests  pytest -m gpu
#   occupancy  bench/tiles/occupancy_ground_truth.py: the driver's blocks per SM for compiled kernels
#   cache      bench/tiles/capture_triton_cache.py: a real Triton cache (FlexAttention, autotune, mm)
#   logs       bench/explain/capture_logs.py: fresh torch.compile logs, one per class of guard failure
#   tiles      bench/tiles/ground_truth.py: launched matmul kernels' shared memory (the live tile table)
#   latency    bench/explain/speed.py --latency-only
# Usage (repository root): bash bench/device/ground_truth.sh OUTDIR [BUDGET_SECONDS]
set -u
OUT=${1:?usage: device_ground_truth.sh OUTDIR [BUDGET_SECONDS]}
BUDGET=${2:-540}
START=$(date +%s)
W=/tmp/gt; rm -rf $W; mkdir -p $W
el() { echo $(( $(date +%s) - START )); }
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 COLUMNS=150 GPUDIAG_CACHE_DIR=$W/gpudiag-cache
pack() { tar czf "$OUT/ground_truth.tgz" -C /tmp gt --exclude='*.llir' --exclude='*.ptx' --exclude='*.cubin' --exclude='*.ttgir' \
  --exclude='gt/cache/inductor' --exclude='gt/gpudiag-cache' 2>/dev/null; }
{ date -Is; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; nproc
  python3 -c "import sys,torch,triton;print('python',sys.version.split()[0],'torch',torch.__version__,'triton',triton.__version__)"; } > $W/env.txt 2>&1
timeout 60 python3 -m bench.info.record_facts --out $W/facts.json > $W/facts.txt 2>&1
python3 -m gpudiag info > $W/info.txt 2>&1; python3 -m gpudiag info --json > $W/info.json 2>&1
echo "facts done at $(el) s" >> $W/env.txt
timeout 200 python3 -m pytest -q -p no:cacheprovider -m gpu tests/ > $W/gpu_tests.txt 2>&1
echo "gpu tests rc=$? at $(el) s" >> $W/env.txt; pack
# compile-heavy work in parallel: the numbers recorded are compiler and driver outputs, not timings
timeout 220 python3 -m bench.tiles.occupancy_ground_truth --out $W/occupancy.json --jobs 8 --deadline 170 > $W/occupancy.txt 2>&1 &
P1=$!
timeout 330 python3 -m bench.tiles.capture_triton_cache $W/cache --timeout 160 > $W/cache.txt 2>&1 &
P2=$!
timeout 300 python3 -m bench.explain.capture_logs --out $W/logs --device cuda --jobs 3 --timeout 150 \
  --only guard_size,guard_module_int,guard_float_arg,guard_object_id,guard_type,guard_dtype,guard_requires_grad,guard_device,guard_grad_mode,guard_autocast,recompile_limit_hard,fail_on_recompile,graph_partition,cpu_tensor,mutated_inputs,recompiles,graph_breaks,fp32_matmul \
  > $W/logs.txt 2>&1 &
P3=$!
wait $P1; echo "occupancy rc=$? at $(el) s" >> $W/env.txt; pack
wait $P3; echo "logs rc=$? at $(el) s" >> $W/env.txt; pack
wait $P2; echo "cache rc=$? at $(el) s" >> $W/env.txt; pack
L=$(( BUDGET - $(el) ))
if [ $L -gt 40 ]; then
  timeout $(( L - 25 )) python3 -m bench.tiles.ground_truth --out $W/h200_tiles_ground_truth.json --jobs 16 > $W/tiles.txt 2>&1
  echo "tiles rc=$? at $(el) s" >> $W/env.txt; pack
fi
L=$(( BUDGET - $(el) ))
[ $L -gt 15 ] && timeout $(( L - 5 )) python3 -m bench.explain.speed --latency-only > $W/latency.txt 2>&1
echo "all done at $(el) s" >> $W/env.txt; pack
cat $W/env.txt; tail -3 $W/gpu_tests.txt; tail -2 $W/occupancy.txt $W/cache.txt $W/logs.txt $W/tiles.txt $W/latency.txt 2>/dev/null
