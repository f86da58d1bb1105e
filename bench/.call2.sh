set -u
OUT=${OUT:?}
START=$(date +%s)
export PYTHONPATH=. PYTHONUNBUFFERED=1 COLUMNS=160
[ -d .whl ] && python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=.:/tmp/site
{ date -Is; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; python3 -c "import sys,torch,triton;print('python',sys.version.split()[0],'torch',torch.__version__,'triton',triton.__version__)"; uptime; } > $OUT/env.txt 2>&1
timeout 150 python3 -m pytest -q -p no:cacheprovider -m gpu tests/ > $OUT/gpu_tests.txt 2>&1
echo "gpu tests rc=$? at $(( $(date +%s) - START )) s" >> $OUT/env.txt
timeout 100 python3 bench/diag_cudagraph_input_copy.py --out $OUT/cudagraph_copy.json > $OUT/cudagraph_copy.log 2>&1
echo "cudagraph copy rc=$? at $(( $(date +%s) - START )) s" >> $OUT/env.txt
mkdir -p /tmp/ck
L=$(( 575 - ($(date +%s) - START) ))
( timeout -s INT $(( L * 45 / 100 )) python3 bench/bench_bakeoff_checks.py --device cuda --out /tmp/ck --tag control --script bench/workloads/kernelbench/rmsnorm_prefill.py > /tmp/ck/control.log 2>&1
  echo "control rc=$? at $(( $(date +%s) - START )) s" >> $OUT/env.txt
  L2=$(( 575 - ($(date +%s) - START) ))
  timeout -s INT $L2 python3 bench/bench_bakeoff_checks.py --device cuda --out /tmp/ck --tag mlp > /tmp/ck/mlp.log 2>&1
  echo "mlp rc=$? at $(( $(date +%s) - START )) s" >> $OUT/env.txt ) &
P=$!
while kill -0 $P 2>/dev/null; do sleep 10; tar czf $OUT/checks.tgz -C /tmp ck 2>/dev/null; done
tar czf $OUT/checks.tgz -C /tmp ck
echo "all done at $(( $(date +%s) - START )) s" >> $OUT/env.txt
