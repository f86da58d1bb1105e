#!/usr/bin/env bash
# The team's call on the GPU machine, in two parts that each fit one device call (10 minutes), keeping
# partial results; everything lands in OUTDIR/session.tgz plus OUTDIR/summary.txt (the tool's 8-file limit):
#   checks   the gpu-marked tests; the live facts as a catalogue row (bench/info/record_facts.py); `info` at
#            80 columns; explain-warning's one-line latency, log-scan throughput and its source citations
#            checked against this torch; --from-triton-cache on the H200 cache (bench/tiles/cache_validate.py);
#            the live tile table again (bench/tiles/ground_truth.py); the driver's occupancy for the maxnreg
#            sweep again, with shared-memory sizes that tell the 128- and 256-byte allocation units apart;
#            then, one at a time, --from-triton-cache's and check-tiles' speed on the 16 cores
#   bakeoff  bench/bakeoff/gpu_session.sh (knobs on the fp32 GEMM, the gate across two torch settings, the
#            honesty checks on a GPU-bound workload), alone on the machine so its timings are quiet
#   explain  the gpu tests, explain-warning's latency, scan and source citations on this host
#   knobs    the gpu tests, every knob asked by name (dynamic and static included), --from-triton-cache
#            on the H200 cache for sm_90 and sm_120
#   startup  the gpu tests; start-up of every command (bench/startup/startup.py), after and, where
#            .before/gpudiag holds a copy of the earlier code (carried), before; where each live
#            command's time goes (bench/startup/trace.py, 3 runs each); `info`, live `check-tiles` and
#            one explain line at 80 columns; explain's Triton/torch release history against the
#            host's torch and Triton
#   final    after the last changes: the gpu tests, the honesty checks with full budgets on
#            softmax_llama3_vocab prefill (GPU-bound on the H200), explain's sources against this torch,
#            and the launch-bound gate of two identical small-MLP runs
# Usage (repository root): bash bench/device/session.sh OUTDIR checks|bakeoff|final|knobs|explain|startup [BUDGET_SECONDS]
# Carry .whl (jsonschema and its needs for Python 3.12) so the schema checks in the gpu tests run there.
set -u
OUT=${1:?usage: device_session.sh OUTDIR checks|bakeoff|final|knobs|explain [BUDGET_SECONDS]}
PART=${2:?checks, bakeoff, final, knobs, explain or startup}
BUDGET=${3:-540}
START=$(date +%s)
W=/tmp/session-$PART; rm -rf "$W"; mkdir -p "$W"
el() { echo $(( $(date +%s) - START )); }
left() { echo $(( BUDGET - $(el) )); }
note() { echo "$1 at $(el) s" | tee -a "$W/progress.txt"; }
pack() { tar czf "$OUT/session.tgz" -C /tmp "session-$PART" 2>/dev/null; }
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
{ date -Is; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; echo "cores $(nproc)"
  python3 -c "import sys,torch,triton;print('python',sys.version.split()[0],'torch',torch.__version__,'triton',triton.__version__)"
  python3 -c "import jsonschema; print('jsonschema', jsonschema.__version__)" 2>&1 | tail -1; } > "$W/env.txt" 2>&1
case $PART in
checks)
  # A: the gpu-marked tests, alone
  COLUMNS=80 timeout 200 python3 -m pytest -q -p no:cacheprovider -m gpu tests/ > "$W/gpu_tests.txt" 2>&1
  note "gpu tests rc=$?"; pack
  # B: quiet, short measurements and facts
  timeout 60 python3 -m bench.info.record_facts --out "$W/facts" > "$W/facts.txt" 2>&1; note "facts rc=$?"
  COLUMNS=80 python3 -m gpudiag info > "$W/info80.txt" 2>&1; python3 -m gpudiag info --json > "$W/info.json" 2>&1
  timeout 60 python3 -m bench.explain.speed --latency-only > "$W/explain_latency.txt" 2>&1; note "explain latency rc=$?"
  timeout 90 python3 -m bench.explain.speed --size-mb 512 > "$W/explain_scan.txt" 2>&1; note "explain scan rc=$?"
  timeout 90 python3 -m pytest -q -p no:cacheprovider tests/test_explain_catalog.py tests/test_explain_registry.py \
    > "$W/explain_sources.txt" 2>&1; note "explain sources on this torch rc=$?"; pack
  # C: compiler and driver outputs, not timings: in parallel
  mkdir -p "$W/tiles_cache"
  timeout 200 python3 -m bench.tiles.cache_validate "$W/tiles_cache" --jobs 8 > "$W/tiles_cache/log.txt" 2>&1 &
  P1=$!
  timeout 180 python3 -m bench.tiles.ground_truth --out "$W/h200_tiles_ground_truth.json" --jobs 4 > "$W/tiles_gt.txt" 2>&1 &
  P2=$!
  timeout 150 python3 -m bench.tiles.occupancy_ground_truth --out "$W/occupancy_regs.json" --jobs 4 --kinds regs \
    --deadline 110 > "$W/occupancy_regs.txt" 2>&1 &
  P3=$!
  wait $P1; note "tiles cache validate rc=$?"; wait $P2; note "tiles ground truth rc=$?"
  wait $P3; note "occupancy regs rc=$?"; pack
  # D: speeds, one at a time
  L=$(left)
  [ "$L" -gt 60 ] && { timeout $(( L / 2 )) python3 -m bench.tiles.cache_speed --cache tests/data/triton_cache_h200 \
    --copies 20 --jobs 16 --out "$W/tiles_cache_speed.json" > "$W/tiles_cache_speed.txt" 2>&1; note "tiles cache speed rc=$?"; }
  L=$(left)
  [ "$L" -gt 30 ] && { timeout $(( L - 10 )) python3 -m bench.tiles.speed --jobs 16 --out "$W/tiles_speed.json" \
    > "$W/tiles_speed.txt" 2>&1; note "tiles speed rc=$?"; }
  ;;
final)
  # FINAL_GPU_TESTS="FILE [FILE]" runs only those gpu-marked test files (a re-run after a fix)
  # after the last changes: the gpu tests again; the honesty checks with full timing budgets on a
  # workload that is GPU-bound in every mode on the H200 (softmax over Llama 3's vocabulary, 512 MiB in,
  # 1 GiB out); explain's source citations against this torch; the launch-bound gate of two identical
  # small-MLP runs under the default limits (shown, not gated: expect rc=0)
  COLUMNS=80 timeout 200 python3 -m pytest -q -p no:cacheprovider -m gpu ${FINAL_GPU_TESTS:-tests/} \
    > "$W/gpu_tests.txt" 2>&1
  note "gpu tests rc=$?"; pack
  mkdir -p "$W/checks"
  timeout -s TERM -k 10 $(( $(left) - 80 )) python3 -m bench.bakeoff.checks --device cuda --out "$W/checks" \
    --tag softmax_llama3 --script bench/workloads/kernelbench/softmax_llama3_vocab_prefill.py > "$W/checks/checks.log" 2>&1
  note "checks (softmax_llama3_vocab prefill, full budgets) rc=$?"; pack
  timeout 40 python3 -m pytest -q -p no:cacheprovider tests/test_explain_catalog.py tests/test_explain_registry.py \
    > "$W/explain_sources.txt" 2>&1; note "explain sources on this torch rc=$?"; pack
  L=$(left)
  if [ "$L" -gt 45 ]; then
    MLP=bench/workloads/kernelbench/small_mlp_decode.py
    timeout $(( L / 2 )) python3 -m gpudiag bakeoff "$MLP" --quick --modes default --knobs none \
      --output "$W/mlp_baseline.json" > "$W/mlp_baseline.txt" 2>&1; note "mlp baseline rc=$?"
    timeout $(( $(left) - 5 )) python3 -m gpudiag bakeoff "$MLP" --quick --modes default --knobs none \
      --baseline "$W/mlp_baseline.json" --max-regression 3 --output "$W/mlp_run.json" > "$W/mlp_run.txt" 2>&1
    note "mlp gated run (launch-bound rows shown, not gated: expect rc=0) rc=$?"
  fi
  ;;
explain)
  # after the explain catalogue and the GPU catalogue grew: the gpu tests, explain-warning's one-line
  # latency and log scan on this host, and its source citations against this torch
  COLUMNS=80 timeout 200 python3 -m pytest -q -p no:cacheprovider -m gpu tests/ > "$W/gpu_tests.txt" 2>&1
  note "gpu tests rc=$?"; pack
  timeout 60 python3 -m bench.explain.speed --latency-only > "$W/explain_latency.txt" 2>&1; note "explain latency rc=$?"
  timeout 120 python3 -m bench.explain.speed --size-mb 512 > "$W/explain_scan.txt" 2>&1; note "explain scan rc=$?"
  timeout 60 python3 -m pytest -q -p no:cacheprovider tests/test_explain_catalog.py tests/test_explain_registry.py \
    > "$W/explain_sources.txt" 2>&1; note "explain sources on this torch rc=$?"
  ;;
knobs)
  # the gpu tests; every knob asked by name on the H200 (dynamic and static included, which a
  # workload only calls for when it recompiles), on the small MLP at prefill size; --from-triton-cache
  # on the H200's own cache for sm_90 and sm_120 with 16 jobs
  COLUMNS=80 timeout 200 python3 -m pytest -q -p no:cacheprovider -m gpu tests/ > "$W/gpu_tests.txt" 2>&1
  note "gpu tests rc=$?"; pack
  for K in tf32,coordinate_descent_tuning,freezing,dynamic static; do  # dynamic and static contradict: two runs
    COLUMNS=80 timeout $(( $(left) - 60 )) python3 -m gpudiag bakeoff bench/workloads/kernelbench/small_mlp_prefill.py \
      --quick --modes default --knobs "$K" --output "$W/knobs_${K%%,*}.json" > "$W/knobs_${K%%,*}.txt" 2>&1
    note "knobs $K rc=$?"; pack
  done
  COLUMNS=80 timeout $(( $(left) - 5 )) python3 -m gpudiag check-tiles --from-triton-cache tests/data/triton_cache_h200 \
    --arch sm_90,sm_120 --jobs 16 > "$W/cache_check.txt" 2>&1; note "from-triton-cache sm_90,sm_120 rc=$? (1: cells that cannot launch)"
  ;;
startup)
  # the start-up ratios first (what a short lease must bring back), then where the time goes, the
  # gpu tests, and the earlier code's start-up where .before/gpudiag holds a copy of it (carried)
  LINE="W1123 07:45:26.064000 736 torch/_inductor/utils.py:1250] [0/0] Not enough SMs to use max_autotune_gemm mode"
  timeout 120 python3 -m bench.startup.startup --out "$W/startup.json" > "$W/startup.txt" 2>&1
  note "startup rc=$?"; pack
  for i in 1 2 3; do
    python3 -m bench.startup.trace --out "$W/trace_info_$i.json" -- info >> "$W/trace.txt" 2>&1
    python3 -m bench.startup.trace --out "$W/trace_explain_$i.json" -- explain-warning "$LINE" >> "$W/trace.txt" 2>&1
    python3 -m bench.startup.trace --out "$W/trace_tiles_$i.json" -- check-tiles 128x256x64:3@8 >> "$W/trace.txt" 2>&1
  done
  note "traces"
  COLUMNS=80 python3 -m gpudiag info > "$W/info80.txt" 2>&1; python3 -m gpudiag info --json > "$W/info.json" 2>&1
  COLUMNS=80 python3 -m gpudiag check-tiles 128x256x64:3@8 > "$W/check_tiles80.txt" 2>&1
  COLUMNS=80 python3 -m gpudiag explain-warning "$LINE" > "$W/explain80.txt" 2>&1; pack
  L=$(left); [ "$L" -gt 150 ] && L=150
  COLUMNS=80 timeout $(( L - 5 )) python3 -m pytest -q -p no:cacheprovider -m gpu -rfEs tests/ > "$W/gpu_tests.txt" 2>&1
  note "gpu tests rc=$?"; pack
  # the Triton/torch release history against this host's torch and Triton (CPU-only, 15 s)
  timeout 60 python3 -m pytest -q -p no:cacheprovider -rfEs tests/test_explain_api_history.py -k agrees \
    > "$W/api_agreement.txt" 2>&1
  note "api agreement rc=$?"; pack
  if [ -d .before/gpudiag ] && [ "$(left)" -gt 40 ]; then
    timeout $(( $(left) - 10 )) python3 -m bench.startup.startup --root .before --out "$W/startup_before.json" \
      > "$W/startup_before.txt" 2>&1
    note "startup before rc=$?"
  fi
  ;;
bakeoff)
  timeout $(( BUDGET - 10 )) bash bench/bakeoff/gpu_session.sh "$W/bakeoff" $(( BUDGET - 20 )) > "$W/bakeoff.txt" 2>&1
  note "bakeoff rc=$?"
  ;;
esac
note "all done"; pack
{ cat "$W/env.txt" "$W/progress.txt"; tail -4 "$W/gpu_tests.txt" 2>/dev/null; } > "$OUT/summary.txt"
cat "$OUT/summary.txt"
