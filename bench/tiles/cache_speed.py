"""How fast ``check-tiles --from-triton-cache`` answers: kernel x target cells per second, cold and warm.

The targets are every catalogue GPU of the architectures given (default sm_80, sm_86, sm_89, sm_90,
sm_120: about 45 GPUs), the question of someone shipping to all of them; gpudiag compiles each
kernel once per architecture and judges it against each GPU's limits.

- cold: a fresh gpudiag result cache; every (kernel, architecture) compiled in parallel children;
- warm: the same again, every result from the cache: in-process (read the Triton cache, look the
  results up, judge every cell, build the JSON and the 80-column text) and end to end (``python3 -m
  gpudiag ... --json`` in a fresh process, best of 3, beside ``check-tiles --help`` for start-up);
- scale: the cache copied ``--copies`` times (distinct folders, same IR: no new compiles, and one
  result per IR and architecture) and checked warm for the architectures: thousands of cache
  entries read and hashed, tens of thousands of cells judged and rendered.

    python3 -m bench.tiles.cache_speed [--cache DIR] [--archs sm_80,...] [--jobs N]
        [--copies 100] [--out FILE.json]

Default cache: tests/data/triton_cache_cpu_t39 (written by Triton 3.9: use it with 3.9). With
Triton 3.6 (the GPU machine) pass --cache tests/data/triton_cache_h200.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import io
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _targets(archs: list[str]):
    from gpudiag.device.catalog import gpu_rows, parse_cc
    from gpudiag.tiles.cache_request import named_targets

    ccs = {parse_cc(a) for a in archs}
    names = [r.name for r in gpu_rows() if r.compute_capability in ccs]
    return list(named_targets(None, ",".join(names)).values()), names


def _render(report) -> tuple[float, float]:
    from rich.console import Console

    import gpudiag.cli.check_tiles_cache as cli

    t0 = time.perf_counter()
    json.dumps(report.to_dict())
    t1 = time.perf_counter()
    sink = Console(file=io.StringIO(), width=80, highlight=False, soft_wrap=False)
    original = cli.console
    cli.console = lambda file=None: sink
    try:
        cli.render(report)
    finally:
        cli.console = original
    return t1 - t0, time.perf_counter() - t1


def _copies(src: Path, n: int, dst: Path) -> None:
    for entry in sorted(p for p in src.iterdir() if p.is_dir()):
        for i in range(n):
            name = base64.b32encode(hashlib.sha256(f"{entry.name}{i}".encode()).digest()).decode()[:52]
            shutil.copytree(entry, dst / name)


def _cli_seconds(args: list[str], env: dict, repeat: int = 3) -> dict:
    """Best of ``repeat`` fresh processes ``python3 ARGS``: wall and CPU seconds."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return {"wall_s": round(min(walls), 3), "cpu_s": round(min(cpus), 3)}


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="gpudiag-speed-"))
    try:
        return measure(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def measure(scratch: Path) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=ROOT / "tests/data/triton_cache_cpu_t39")
    ap.add_argument("--archs", default="sm_80,sm_86,sm_89,sm_90,sm_120")
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--copies", type=int, default=100)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    os.environ["GPUDIAG_CACHE_DIR"] = str(scratch / "gpudiag-cache")

    from gpudiag.device import resolve_target
    from gpudiag.tiles.cache_report import CacheTarget, check_cache
    from gpudiag.tiles.recompile import default_jobs, triton_version
    from gpudiag.tiles.triton_cache import read_cache

    jobs = args.jobs or default_jobs()
    archs = [a for a in args.archs.split(",") if a]
    targets, names = _targets(archs)
    doc: dict = {
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "triton": triton_version(),
        "cores": os.cpu_count(),
        "jobs": jobs,
        "cache": str(args.cache),
        "archs": archs,
        "gpus": len(names),
    }

    t0 = time.perf_counter()
    cache = read_cache(args.cache)
    cold = check_cache(cache, targets, parallel=jobs)
    cold_s = time.perf_counter() - t0
    cells = len(cold.cells)
    doc["cold"] = {
        "kernels": len(cache.kernels),
        "targets": len(targets),
        "cells": cells,
        "compiles": cold.compiled,
        "wall_s": round(cold_s, 2),
        "cells_per_s": round(cells / cold_s, 2),
        "compiles_per_s": round(cold.compiled / cold_s, 3),
    }
    print(json.dumps({"cold": doc["cold"]}), flush=True)

    t0 = time.perf_counter()
    warm = check_cache(read_cache(args.cache), targets, parallel=jobs)
    check_s = time.perf_counter() - t0
    json_s, text_s = _render(warm)
    total = check_s + json_s + text_s
    doc["warm"] = {
        "cells": len(warm.cells),
        "compiles": warm.compiled,
        "check_s": round(check_s, 3),
        "json_s": round(json_s, 3),
        "text_s": round(text_s, 3),
        "total_s": round(total, 3),
        "cells_per_s": round(len(warm.cells) / total, 1),
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"}
    cli = ["-m", "gpudiag", "check-tiles", "--from-triton-cache", str(args.cache), "--gpu", ",".join(names), "--json"]
    doc["warm"]["cli"] = _cli_seconds(cli, env)
    doc["warm"]["cli_text"] = _cli_seconds(cli[:-1], env)
    # What every check-tiles run pays before it reads anything: the interpreter, Typer, the command's modules.
    doc["warm"]["cli_imports"] = _cli_seconds(
        ["-c", "import gpudiag.cli.app, gpudiag.cli.check_tiles, gpudiag.cli.check_tiles_cache"], env
    )
    print(json.dumps({"warm": doc["warm"]}), flush=True)

    if args.copies > 1:
        big = scratch / "copies"
        big.mkdir()
        _copies(args.cache, args.copies, big)
        arch_targets = [CacheTarget.of(a, resolve_target(arch=a)) for a in archs]  # compiled above, per arch
        t0 = time.perf_counter()
        scaled_cache = read_cache(big)
        read_s = time.perf_counter() - t0
        scaled = check_cache(scaled_cache, arch_targets, parallel=jobs)
        check_s = time.perf_counter() - t0 - read_s
        json_s, text_s = _render(scaled)
        total = read_s + check_s + json_s + text_s
        doc["scale"] = {
            "kernels": len(scaled_cache.kernels),
            "targets": len(arch_targets),
            "cells": len(scaled.cells),
            "compiles": scaled.compiled,
            "read_s": round(read_s, 3),
            "check_s": round(check_s, 3),
            "json_s": round(json_s, 3),
            "text_s": round(text_s, 3),
            "total_s": round(total, 3),
            "cells_per_s": round(len(scaled.cells) / total, 1),
        }
        print(json.dumps({"scale": doc["scale"]}), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
