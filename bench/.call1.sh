set -u
OUT=${OUT:?}
START=$(date +%s)
export PYTHONPATH=. PYTHONUNBUFFERED=1 COLUMNS=160
[ -d .whl ] && python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=.:/tmp/site
{ date -Is; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; python3 -c "import sys,torch,triton;print('python',sys.version.split()[0],'torch',torch.__version__,'triton',triton.__version__)"; nproc; uptime; } > $OUT/env.txt 2>&1
timeout 150 python3 -m pytest -q -p no:cacheprovider -m gpu tests/ > $OUT/gpu_tests.txt 2>&1
echo "gpu tests rc=$? at $(( $(date +%s) - START )) s" >> $OUT/env.txt
timeout 230 python3 bench/diag_zygote_preload.py --out $OUT/zygote.json --child-timeout 50 > $OUT/zygote.log 2>&1
echo "zygote rc=$? at $(( $(date +%s) - START )) s" >> $OUT/env.txt
L=$(( 570 - ($(date +%s) - START) ))
mkdir -p /tmp/bk
WORKLOADS="softmax_vocab rope" bash bench/bench_bakeoff_h100.sh /tmp/bk $L workloads
tar czf $OUT/bakeoff.tgz -C /tmp bk
echo "all done at $(( $(date +%s) - START )) s" >> $OUT/env.txt
