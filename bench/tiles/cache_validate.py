"""Validate ``check-tiles --from-triton-cache`` on a Triton cache whose kernels a GPU has loaded.

The manifest (``bench/tiles/capture_triton_cache.py``) records, per cache folder, the shared memory
in the kernel's metadata and the registers and spills the CUDA driver reported when it loaded the
kernel's cubin. This script, with gpudiag's own code and a fresh result cache:

1. recompiles every kernel of the cache for the target it was compiled for and compares its shared
   memory, registers and spills with the manifest (the installed Triton should be the cache's);
2. recompiles every kernel for the other architectures (default sm_80, sm_86, sm_89, sm_120) and
   records each cell's verdict: fits with its margin, does not fit, cannot run there, unknown;
3. runs the CLI on the warm result cache for its real text (80 columns) and JSON.

    python3 -m bench.tiles.cache_validate OUTDIR [--cache DIR --manifest FILE]
        [--capture] [--archs sm_80,sm_86,sm_89,sm_120] [--jobs N]

Defaults: ``tests/data/triton_cache_h200`` and its manifest. ``--capture`` first fills a fresh cache
on this GPU with ``bench/tiles/capture_triton_cache.py OUTDIR/capture`` (FlexAttention forward and
backward at head_dim 64 and 256, an autotuned kernel, inductor's mm templates) and validates that.
Runs on a CPU too (step 1 then compares with what the GPU recorded; no driver is needed).

Writes OUTDIR/env.txt, reproduce.json (per kernel: recorded and recompiled), matrix.json (the CLI's
--json), matrix.txt (the CLI's text at COLUMNS=80), summary.md (the tables for docs/BENCHMARKS.md)
and, with --capture, capture_manifest.json; the caches themselves stay in a temporary folder.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _env(out: Path, jobs: int) -> dict:
    try:
        gpu = (
            subprocess.run(
                ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=20,
            ).stdout.strip()
            or "none"
        )
    except (OSError, subprocess.SubprocessError):
        gpu = "none (nvidia-smi not found)"
    from gpudiag.tiles.recompile import triton_version

    env = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "gpu": gpu,
        "python": platform.python_version(),
        "triton": triton_version(),
        "cores": os.cpu_count(),
        "jobs": jobs,
    }
    try:
        from importlib.metadata import version

        env["torch"] = version("torch")
    except Exception:
        env["torch"] = None
    (out / "env.txt").write_text("\n".join(f"{k}: {v}" for k, v in env.items()) + "\n")
    return env


def _fmt_cell(cell) -> str:
    c = cell.compiled
    if cell.status == "launches":
        return f"{c.shared_bytes:,} fits ({cell.occupancy.blocks_per_sm}/SM)"
    if cell.status == "does-not-fit":
        return f"{c.shared_bytes:,} **over {-cell.margin_bytes:,}**"
    if cell.status == "cannot-launch":
        return f"{c.shared_bytes:,} cannot launch"
    if cell.status == "cannot-compile":
        return "cannot run there"
    return "not checked"


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="gpudiag-validate-"))  # thousands of small files: not in OUTDIR
    try:
        return validate(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def validate(scratch: Path) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--cache", type=Path, default=ROOT / "tests/data/triton_cache_h200")
    ap.add_argument("--manifest", type=Path, default=ROOT / "tests/data/triton_cache_h200_manifest.json")
    ap.add_argument("--capture", action="store_true", help="fill a fresh cache on this GPU first")
    ap.add_argument("--archs", default="sm_80,sm_86,sm_89,sm_120")
    ap.add_argument("--jobs", type=int, default=None)
    args = ap.parse_args()
    out = args.outdir
    out.mkdir(parents=True, exist_ok=True)
    os.environ["GPUDIAG_CACHE_DIR"] = str(scratch / "gpudiag-cache")  # fresh: every cell compiled by this run
    if args.capture:
        subprocess.run(
            [sys.executable, str(ROOT / "bench/tiles/capture_triton_cache.py"), str(scratch / "capture")], check=True
        )
        shutil.copy(scratch / "capture" / "manifest.json", out / "capture_manifest.json")
        args.cache, args.manifest = scratch / "capture" / "triton", out / "capture_manifest.json"

    from gpudiag.device import resolve_target
    from gpudiag.tiles.cache_report import CacheTarget, check_cache
    from gpudiag.tiles.recompile import default_jobs
    from gpudiag.tiles.triton_cache import read_cache

    jobs = args.jobs or default_jobs()
    env = _env(out, jobs)
    manifest = {k["dir"]: k for k in json.loads(args.manifest.read_text())["kernels"]}
    cache = read_cache(args.cache)
    own = sorted({k.recorded_target for k in cache.kernels})
    archs = list(dict.fromkeys(own + [a for a in args.archs.split(",") if a]))
    targets = [CacheTarget.of(a, resolve_target(arch=a)) for a in archs]

    t0 = time.perf_counter()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 10 or done == total:
            last[0] = time.perf_counter()
            print(f"{done}/{total} cells at {time.perf_counter() - t0:.0f} s", flush=True)

    report = check_cache(cache, targets, parallel=jobs, on_progress=progress)
    wall = time.perf_counter() - t0

    rows = []
    for group in report.groups:
        for row in group.rows:
            k, rec = row.kernel, manifest.get(row.kernel.folder, {})
            cell = next(c for c in row.cells if c.target == k.recorded_target)
            got = cell.compiled
            rows.append(
                {
                    "folder": k.folder,
                    "name": k.name,
                    "config": k.config_label,
                    "target": k.recorded_target,
                    "status": cell.status,
                    "reason": cell.reason,
                    "shared": {"recorded": rec.get("shared"), "recompiled": got.shared_bytes},
                    "regs": {"driver": rec.get("n_regs"), "recompiled": got.regs_per_thread},
                    "spills": {"driver": rec.get("n_spills"), "recompiled": got.spills},
                    "compile_s": round(got.compile_s, 2),
                    "cells": {
                        c.target: {
                            "status": c.status,
                            "shared": c.compiled.shared_bytes,
                            "regs": c.compiled.regs_per_thread,
                            "spills": c.compiled.spills,
                            "margin": c.margin_bytes,
                            "reason": c.reason,
                            "blocks_per_sm": c.occupancy.blocks_per_sm if c.occupancy else None,
                        }
                        for c in row.cells
                    },
                }
            )

    def agree(key: str, ref: str) -> tuple[int, int]:
        known = [r for r in rows if r[key][ref] is not None and r[key]["recompiled"] is not None]
        return sum(r[key][ref] == r[key]["recompiled"] for r in known), len(known)

    checks = {
        "shared": agree("shared", "recorded"),
        "regs": agree("regs", "driver"),
        "spills": agree("spills", "driver"),
    }
    doc = {
        "env": env,
        "cache": str(args.cache),
        "manifest": str(args.manifest),
        "targets": archs,
        "wall_s": round(wall, 1),
        "cells": len(report.cells),
        "kernels": len(rows),
        "reproduced": {k: {"equal": a, "compared": b} for k, (a, b) in checks.items()},
        "not_compiled_on_own_target": [r for r in rows if r["shared"]["recompiled"] is None],
        "rows": rows,
    }
    (out / "reproduce.json").write_text(json.dumps(doc, indent=1) + "\n")

    lines = [
        f"Recompiled by gpudiag with Triton {env['triton']} ({env['gpu']}, Python {env['python']}, "
        f"{jobs} parallel compiles): {len(rows)} kernels x {len(archs)} targets = {len(report.cells)} cells "
        f"in {wall:.0f} s cold.",
        "",
        "| on the cache's own target | equal | compared |",
        "|---|---:|---:|",
    ]
    for key, label in (
        ("shared", "shared memory vs the cache's metadata"),
        ("regs", "registers vs the driver"),
        ("spills", "spills vs the driver"),
    ):
        a, b = checks[key]
        lines.append(f"| {label} | {a} | {b} |")
    missing = doc["not_compiled_on_own_target"]
    if missing:
        lines += ["", f"Not recompiled on their own target ({len(missing)}):"]
        lines += [f"- {r['name']} {r['config']}: {r['reason']}" for r in missing]
    lines += ["", "| kernel | config | " + " | ".join(archs) + " |", "|---|---|" + "---|" * len(archs)]
    for group in report.groups:
        for row in group.rows:
            lines.append(
                f"| {row.kernel.name} | {row.kernel.config_label} | "
                + " | ".join(_fmt_cell(c) for c in row.cells)
                + " |"
            )
    lines += [
        "",
        "| target | launch | do not fit | cannot launch | cannot run there | not checked |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for s in report.summaries():
        c = s.counts
        lines.append(
            f"| {s.target} | {c.get('launches', 0)} | {c.get('does-not-fit', 0)} | "
            f"{c.get('cannot-launch', 0)} | {c.get('cannot-compile', 0)} | {c.get('unknown', 0)} |"
        )
    reasons: dict[str, list[str]] = {}
    for group in report.groups:
        for row in group.rows:
            for c in row.cells:
                if c.status in ("cannot-compile", "unknown"):
                    reasons.setdefault(c.reason, []).append(
                        f"{row.kernel.name} {row.kernel.config_label} on {c.target}"
                    )
    if reasons:
        lines += ["", "Cells the compiler did not build:"]
        lines += [
            f"- {reason} ({len(where)}: {'; '.join(where[:4])}{'; ...' if len(where) > 4 else ''})"
            for reason, where in reasons.items()
        ]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:8]), flush=True)

    cli = [
        sys.executable,
        "-m",
        "gpudiag",
        "check-tiles",
        "--from-triton-cache",
        str(args.cache),
        "--arch",
        ",".join(archs),
        "--jobs",
        str(jobs),
    ]
    path = os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))  # keep the Triton it ran with
    cli_env = {**os.environ, "COLUMNS": "80", "PYTHONPATH": path}
    t1 = time.perf_counter()
    with open(out / "matrix.txt", "w") as f:
        subprocess.run(cli, stdout=f, stderr=subprocess.STDOUT, env=cli_env, cwd=ROOT)
    warm_text_s = time.perf_counter() - t1
    with open(out / "matrix.json", "w") as f:
        subprocess.run(cli + ["--json"], stdout=f, env=cli_env, cwd=ROOT)
    with open(out / "summary.md", "a") as f:
        f.write(f"\nThe CLI on the warm result cache (text, COLUMNS=80): {warm_text_s:.1f} s.\n")
    print(f"wrote {out}/env.txt reproduce.json matrix.json matrix.txt summary.md", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
