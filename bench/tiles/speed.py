"""Speed of ``gpudiag check-tiles``: the estimate with occupancy over 10,000 configs in-process, the
whole command end to end on 10,000 and 100,000 configs from a file (parse, check, print; text and
--json), and ``--exact`` cold and warm.

    python3 -m bench.tiles.speed [--jobs N] [--skip-exact] --out F.json

Estimate: the core check (``gpudiag.tiles.check.check``) on 10,000 seeded random configs against
the catalogue's H100, best of 5, no rendering, every cache of the model emptied before each run
(the layouts, the estimates, the occupancies), as in a fresh process. End to end: a fresh ``python3 -m gpudiag
check-tiles --file F --gpu h100`` process per run (interpreter start and imports included), best
of 3, with its peak memory where GNU time is installed. Exact: the configs of
bench/tiles/ground_truth.py's grid compiled for sm_90 with empty caches (cold), then again (warm,
from gpudiag's cache), and 100 configs warm.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

from bench.tiles.ground_truth import GRID  # noqa: E402
from gpudiag.tiles import exact  # noqa: E402
from gpudiag.tiles.check import CheckRequest, check  # noqa: E402
from gpudiag.tiles.dtypes import lookup  # noqa: E402
from gpudiag.tiles.parse import TileConfig  # noqa: E402
from gpudiag.tiles.target import resolve_target  # noqa: E402

SIZES = (16, 32, 64, 128, 256)


def random_rows(n: int, seed: int = 0) -> list[tuple[int, int, int, int, int]]:
    rnd = random.Random(seed)
    return [
        (rnd.choice(SIZES), rnd.choice(SIZES), rnd.choice(SIZES[:4]), rnd.randint(1, 6), rnd.choice((2, 4, 8)))
        for _ in range(n)
    ]


def _empty_caches() -> None:
    from gpudiag.tiles import estimate, target

    estimate._PLANS.clear()
    estimate._LARGEST.clear()
    estimate.epilogue_bytes.cache_clear()
    target._occupancy.cache_clear()


def bench_estimate(n: int = 10_000, repeats: int = 5) -> dict:
    cfgs = [TileConfig(*r) for r in random_rows(n)]
    target = resolve_target(gpu="h100")
    best = float("inf")
    for _ in range(repeats):
        _empty_caches()
        t0 = time.perf_counter()
        rep = check(cfgs, target, CheckRequest(dtype="bf16"))
        best = min(best, time.perf_counter() - t0)
    return {
        "configs": n,
        "target": target.name,
        "best_of": repeats,
        "seconds": round(best, 4),
        "configs_per_s": round(n / best),
        "fit": rep.fit_count,
    }


def _run(args: list[str]) -> tuple[float, int | None, int]:
    """Wall seconds, peak RSS in KiB (None without GNU time) and exit code of one fresh process."""
    gnu_time = Path("/usr/bin/time").exists()
    cmd = [sys.executable, "-m", "gpudiag", "check-tiles", *args]
    with tempfile.NamedTemporaryFile("r") as rss:
        if gnu_time:
            cmd = ["/usr/bin/time", "-f", "%M", "-o", rss.name, *cmd]
        t0 = time.perf_counter()
        proc = subprocess.run(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        wall = time.perf_counter() - t0
        text = Path(rss.name).read_text().strip() if gnu_time else ""
    return wall, int(text.splitlines()[-1]) if text else None, proc.returncode


def bench_end_to_end(repeats: int = 3) -> list[dict]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (10_000, 100_000):
            path = Path(tmp) / f"{n}.csv"
            path.write_text(
                "BLOCK_M,BLOCK_N,BLOCK_K,num_stages,num_warps\n"
                + "\n".join(",".join(map(str, r)) for r in random_rows(n, seed=n))
                + "\n"
            )
            for mode in ("text", "json"):
                args = ["--file", str(path), "--gpu", "h100"] + (["--json"] if mode == "json" else [])
                runs = [_run(args) for _ in range(repeats if n <= 10_000 else 1)]
                wall, rss, code = min(runs)
                out.append(
                    {
                        "configs": n,
                        "output": mode,
                        "best_of": len(runs),
                        "seconds": round(wall, 2),
                        "peak_rss_mib": None if rss is None else round(rss / 1024),
                        "exit_code": code,
                    }
                )
    _run(["128x128x64:3@4", "--gpu", "h100"])  # warm the catalogue cache before timing one config
    wall, rss, code = min(_run(["128x128x64:3@4", "--gpu", "h100"]) for _ in range(repeats))
    out.append(
        {
            "configs": 1,
            "output": "text",
            "best_of": repeats,
            "seconds": round(wall, 2),
            "peak_rss_mib": None if rss is None else round(rss / 1024),
            "exit_code": code,
        }
    )
    return out


def bench_exact(jobs: int | None) -> dict:
    def job(dt, bm, bn, bk, st, w):
        d = lookup(dt)
        return exact.job_for(bm, bn, bk, st, w, d, d, "row", d.b_layout, 90)

    grid = [job(*g) for g in GRID]
    hundred = list(
        dict.fromkeys(
            job(dt, bm, bn, bk, ss, w) for dt, bm, bn, bk, st, w in GRID for ss in (st, max(1, st - 1), min(6, st + 1))
        )
    )[:100]
    old = os.environ.get("GPUDIAG_CACHE_DIR")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GPUDIAG_CACHE_DIR"] = tmp  # cold: gpudiag's cache and Triton's (under it) both empty
        try:
            t0 = time.perf_counter()
            exact.run_exact(grid, jobs)
            cold = time.perf_counter() - t0
            t0 = time.perf_counter()
            exact.run_exact(grid, jobs)
            warm = time.perf_counter() - t0
            exact.run_exact(hundred, jobs)
            t0 = time.perf_counter()
            exact.run_exact(hundred, jobs)
            warm100 = time.perf_counter() - t0
        finally:
            if old is None:
                os.environ.pop("GPUDIAG_CACHE_DIR", None)
            else:
                os.environ["GPUDIAG_CACHE_DIR"] = old
    return {
        "configs": len(grid),
        "jobs": jobs or exact.default_jobs(),
        "cold_s": round(cold, 2),
        "cold_configs_per_s": round(len(grid) / cold, 2),
        "warm_s": round(warm, 3),
        "warm_configs_per_s": round(len(grid) / warm, 1),
        "warm_100_configs": len(hundred),
        "warm_100_s": round(warm100, 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--skip-exact", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    doc = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "triton": exact.triton_version(),
        "cpus": exact.default_jobs(),
        "machine": platform.node(),
        "load_average": os.getloadavg(),
        "estimate": bench_estimate(),
        "end_to_end": bench_end_to_end(),
    }
    if not args.skip_exact:
        doc["exact"] = bench_exact(args.jobs)
    text = json.dumps(doc, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
