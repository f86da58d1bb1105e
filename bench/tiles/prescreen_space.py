"""Time a cold pre-screen of a tuning space: ``gpudiag check-tiles --kernel ... --json`` in a fresh
gpudiag cache, and summarise what the compiles cost.

    python bench/tiles/prescreen_space.py --arch sm_90 --jobs 16
    python bench/tiles/prescreen_space.py --arch sm_90 --jobs 2 --shard 1/16   # a 1/16 sample

Default kernel: tests/data/kernels/moe_grouped_matmul.py, whose gpudiag_kernels() names the 1,920-
config space MoE tuners search (5 BLOCK_SIZE_M x 4 N x 3 K x 4 GROUP_SIZE_M x 2 warps x 4 stages).
Prints one JSON document: wall time, the counts per status, the compile seconds (sum, mean, p50,
p95, max), and, for a sample, the wall time the whole space would take at --jobs on cores like these
(the sum of compile seconds x shards / jobs: an estimate, stated as one).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", default=str(ROOT / "tests/data/kernels/moe_grouped_matmul.py"))
    ap.add_argument("--configs", default=None)
    ap.add_argument("--arch", default="sm_90")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--shard", default=None)
    ap.add_argument("--out", default=None, help="also write the summary here")
    ap.add_argument("--keep-report", default=None, help="write gpudiag's whole --json document here")
    args = ap.parse_args()
    cache = tempfile.mkdtemp(prefix="gpudiag-prescreen-bench-")
    cmd = [sys.executable, "-m", "gpudiag", "check-tiles", "--kernel", args.kernel, "--arch", args.arch]
    cmd += ["--jobs", str(args.jobs), "--json"]
    if args.configs:
        cmd += ["--configs", args.configs]
    if args.shard:
        cmd += ["--shard", args.shard]
    env = {**os.environ, "GPUDIAG_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        sys.exit(f"gpudiag failed ({proc.returncode}): {proc.stderr[-2000:]}")
    doc = json.loads(proc.stdout)
    if args.keep_report:
        Path(args.keep_report).write_text(proc.stdout)
    cells = [c for r in doc["configs"] for c in r["cells"]]
    secs = sorted(c["compile_s"] for c in cells)
    summary = {
        "command": " ".join(cmd[1:]),
        "triton": doc["triton"],
        "cpus": len(os.sched_getaffinity(0)),
        "jobs": args.jobs,
        "space_size": doc["space"]["size"],
        "screened": doc["space"]["screened"],
        "shard": doc["space"]["shard"],
        "wall_s": round(wall, 1),
        "summary": doc["summary"],
        "surviving": len(doc["surviving"]),
        "stopped_early": sum(c["stopped_early"] for c in cells),
        "crashes": sum(bool(c["crash_signal"]) for c in cells),
        "compile_s": {
            "sum": round(sum(secs), 1),
            "mean": round(statistics.mean(secs), 2) if secs else None,
            "p50": secs[len(secs) // 2] if secs else None,
            "p95": secs[int(len(secs) * 0.95)] if secs else None,
            "max": secs[-1] if secs else None,
        },
    }
    if doc["space"]["shard"]:
        n = doc["space"]["shard"]["n"]
        summary["whole_space_estimate_s"] = {
            f"at --jobs {j}": round(sum(secs) * n / j, 1) for j in sorted({args.jobs, 16})
        }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
