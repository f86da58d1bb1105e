"""Speed of ``check-tiles --all``: the text report of 10,000 configs with every row printed, against
the same report summarised (failures and best fits), end to end in fresh processes.

    python3 bench/tiles/tiles_render_speed.py [--tree DIR] [--rows 10000] [--repeat 3] --out F.json

Each run is ``python3 -m gpudiag check-tiles --file F.csv --arch sm_89 [--all]`` with stdout to a
file (not a terminal) at COLUMNS=80 and 200: its median wall time and CPU time (user + system of
the process, which a machine busy with other work does not inflate) over ``--repeat`` runs. ``--tree``
runs another checkout (a ``git worktree`` of an earlier commit) for a before/after comparison in one
run; the configs are the same seeded random rows for both.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIZES = (16, 32, 64, 128, 256)


def write_configs(path: Path, n: int, seed: int = 0) -> None:
    rnd = random.Random(seed)
    rows = [
        f"{rnd.choice(SIZES)},{rnd.choice(SIZES)},{rnd.choice(SIZES[:4])},{rnd.randint(1, 6)},{rnd.choice((2, 4, 8))}"
        for _ in range(n)
    ]
    path.write_text("BLOCK_M,BLOCK_N,BLOCK_K,num_stages,num_warps\n" + "\n".join(rows) + "\n")


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def one_run(tree: Path, args: list[str], columns: int) -> tuple[float, float, int]:
    """Wall time, CPU time (user + system: what a busy machine does not inflate) and lines printed."""
    env = {**os.environ, "COLUMNS": str(columns), "PYTHONPATH": str(tree)}
    with tempfile.TemporaryFile() as out:
        cpu0, t0 = _children_cpu(), time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "gpudiag", "check-tiles", *args], cwd=tree, env=env, stdout=out)
        wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
        out.seek(0)
        lines = out.read().count(b"\n")
    if r.returncode not in (0, 1):
        raise SystemExit(f"check-tiles failed ({r.returncode}) in {tree}")
    return wall, cpu, lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", action="append", default=None, help="checkout to run (repeatable; default: this one)")
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    trees = [Path(t).resolve() for t in (a.tree or [str(ROOT)])]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "configs.csv"
        write_configs(f, a.rows)
        for columns in (80, 200):
            for extra in ([], ["--all"]):
                for tree in trees:
                    runs = [
                        one_run(tree, ["--file", str(f), "--arch", "sm_89", *extra], columns) for _ in range(a.repeat)
                    ]
                    row = {
                        "tree": str(tree),
                        "commit": subprocess.run(
                            ["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True, text=True
                        ).stdout.strip(),
                        "columns": columns,
                        "all": bool(extra),
                        "median_s": round(statistics.median(w for w, _, _ in runs), 3),
                        "median_cpu_s": round(statistics.median(c for _, c, _ in runs), 3),
                        "runs_s": [round(w, 3) for w, _, _ in runs],
                        "lines": runs[0][2],
                    }
                    results.append(row)
                    print(json.dumps(row), flush=True)
    doc = {
        "meta": {
            "date": datetime.date.today().isoformat(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "rows": a.rows,
            "repeat": a.repeat,
            "script": "bench/tiles/tiles_render_speed.py",
        },
        "results": results,
    }
    Path(a.out).write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
