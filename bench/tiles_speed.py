"""Speed of ``gpudiag check-tiles``: the estimate over 10,000 configs, and ``--exact`` cold and warm.

    PYTHONPATH=. python3 bench/tiles_speed.py [--exact-configs 36] [--jobs N] [--out tiles_speed.json]

Estimate: the core check (gpudiag.tiles.check.check) on 10,000 configs, no rendering. Exact: the
configs of bench/tiles_ground_truth.py's grid compiled for sm_90 with an empty cache (cold), then
again (warm, from the on-disk cache), and 100 configs warm (the grid repeated with varied warps).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gpudiag.tiles import exact  # noqa: E402
from gpudiag.tiles.check import Options, Target, check  # noqa: E402
from gpudiag.tiles.dtypes import lookup  # noqa: E402
from gpudiag.tiles.parse import TileConfig  # noqa: E402
from tiles_ground_truth import GRID  # noqa: E402

H100 = Target("H100", "sm_90", 90, 232448, "bench", 233472, 1024, 32, 132, "bench")


def bench_estimate(n: int = 10_000, repeats: int = 5) -> dict:
    rnd = random.Random(0)
    sizes = [16, 32, 64, 128, 256]
    cfgs = [TileConfig(rnd.choice(sizes), rnd.choice(sizes), rnd.choice(sizes), rnd.randint(1, 6),
                       rnd.choice([2, 4, 8])) for _ in range(n)]
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        rep = check(cfgs, H100, Options(a_dtype="bf16"))
        best = min(best, time.perf_counter() - t0)
    return {"configs": n, "best_of": repeats, "seconds": round(best, 4), "configs_per_s": round(n / best),
            "fit": rep.fit_count}


def bench_exact(n_cold: int, jobs: int | None) -> dict:
    jobs_list = []
    for dt, bm, bn, bk, st, w in GRID[:n_cold]:
        d = lookup(dt)
        jobs_list.append(exact.job_for(bm, bn, bk, st, w, d, d, "row", d.b_layout, 90))
    hundred = list(dict.fromkeys(
        exact.job_for(bm, bn, bk, ss, w, lookup(dt), lookup(dt), "row", lookup(dt).b_layout, 90)
        for dt, bm, bn, bk, st, w in GRID for ss in (st, max(1, st - 1), min(6, st + 1))))[:100]
    with tempfile.TemporaryDirectory() as tmp:
        # cold means both caches empty: gpudiag's and Triton's own (~/.triton/cache)
        os.environ["GPUDIAG_CACHE_DIR"] = tmp
        os.environ["TRITON_CACHE_DIR"] = os.path.join(tmp, "triton")
        t0 = time.perf_counter()
        exact.run_exact(jobs_list, jobs)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        exact.run_exact(jobs_list, jobs)
        warm = time.perf_counter() - t0
        exact.run_exact(hundred, jobs)  # fill the cache for the 100
        t0 = time.perf_counter()
        exact.run_exact(hundred, jobs)
        warm100 = time.perf_counter() - t0
    return {"configs": len(jobs_list), "jobs": jobs or exact.default_jobs(), "cold_s": round(cold, 2),
            "cold_configs_per_s": round(len(jobs_list) / cold, 2), "warm_s": round(warm, 3),
            "warm_configs_per_s": round(len(jobs_list) / warm, 1), "warm_100_configs": len(hundred),
            "warm_100_s": round(warm100, 3)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--exact-configs", type=int, default=len(GRID))
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--skip-exact", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    doc = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "python": platform.python_version(),
           "triton": exact.triton_version(), "cpus": exact.default_jobs(), "machine": platform.node(),
           "estimate": bench_estimate()}
    if not args.skip_exact:
        doc["exact"] = bench_exact(args.exact_configs, args.jobs)
    text = json.dumps(doc, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
