"""Ground truth for check-tiles' per-architecture estimate: the Triton matmul compiled for every
architecture family on this CPU (Triton compiles for any ``GPUTarget`` without a GPU).

Each row is one config compiled through gpudiag's own ``--exact`` path (the kernel in
gpudiag/tiles/matmul_kernel.py, specialised as an aligned launch specialises it): the compiler's
shared memory, registers and spills, or its error. Rows of 32-bit float operands record the
``input_precision`` the dot was compiled with (``fp32``: tl.dot's default, tf32; ``fp32-ieee``:
full precision on the FMA units; ``tf32``: passed explicitly). Four sets, so a test can say how
the estimate does on configs it was not tuned on:

  tuning            seeded random configs on sm_80, 86, 89, 90, 100, 120 (the distribution the
                    estimate was developed against)
  held-out-inductor the matmul candidates torch's inductor autotunes (mm in bf16, scaled_mm in fp8,
                    int8_mm in int8, persistent_mm), on several of those architectures
  held-out-arch     seeded random configs on sm_87, sm_103 and sm_121, never looked at while
                    developing the estimate
  fp32-tf32         fp32 as tl.dot multiplies it by default (tf32): the fp32 configs of the sets
                    above, then seeded random fp32 configs (K from 8) on sm_80, 86, 89, 90 and 120,
                    and the configs the ieee-only estimate got wrong on sm_90 (issue 19)

    python3 -m bench.tiles.cross_arch_ground_truth --out DIR [--jobs 2] [--cache DIR]
        [--rows-from tests/data/tiles_cross_arch_ground_truth.json]

--rows-from compiles the configs of an earlier table (the same grid with another Triton: the
inductor sets are read through torch, whose own Triton may not be the one under test).

writes DIR/tiles_cross_arch_ground_truth.json and DIR/env.txt; tests read the copy in tests/data.
Compiles are cached in gpudiag's cache folder (--cache, or GPUDIAG_CACHE_DIR, or ~/.cache/gpudiag;
Triton's own cache inside it), so a second run only compiles what changed. Configs whose accumulator alone needs more than 256
registers per thread are left out, as in bench/tiles/occupancy_ground_truth.py, and so are fp32
(FMA) configs with more than 4,096 multiply-adds per thread per K step: they spill so hard, or
unroll so far, that LLVM and ptxas take many minutes each, and no one runs them.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

from gpudiag.tiles import exact
from gpudiag.tiles.dtypes import lookup
from gpudiag.tiles.precision import dot_precision

TUNING_ARCHS = (80, 86, 89, 90, 100, 120)
HELD_OUT_ARCHS = (87, 103, 121)
# fp32-ieee was named fp32 until fp32 came to mean tl.dot's default (tf32): the same seeded draws.
DTYPES = ("fp16", "bf16", "fp16", "bf16", "fp32-ieee", "tf32", "fp8e4m3", "fp8e5m2", "int8")
FP32_ARCHS = (80, 86, 89, 90, 120)
FP32_PER_ARCH = 16
# Configs the estimate put below the compiler on sm_90 while it took fp32 for ieee (issue 19): the
# false fit 256x256x32:4@4 (estimated 196,608 B, compiled 262,144 B > 232,448 B) among them.
FP32_FIXED = ((90, 256, 256, 32, 4, 4), (90, 128, 128, 64, 4, 8), (90, 64, 128, 64, 6, 4), (90, 64, 64, 8, 3, 4))
# (inductor set, dtype, architectures, how many of the set)
INDUCTOR = (
    ("mm", "bf16", (86, 89, 100), None),
    ("int8_mm", "int8", (80, 90), None),
    ("persistent_mm", "bf16", (120, 90), None),
    ("scaled_mm", "fp8e4m3", (89, 90, 120), 16),
)


MAX_ACC_PER_THREAD = 256
MAX_FMA_PER_THREAD = 4096


def random_configs(rnd: random.Random, n: int) -> list[tuple]:
    out = []
    for _ in range(n):
        dt = rnd.choice(DTYPES)
        bk = rnd.choice((16, 32, 64, 128) if lookup(dt).bits > 8 else (32, 64, 128))
        cfg = (
            dt,
            rnd.choice((16, 32, 64, 128, 256)),
            rnd.choice((16, 32, 64, 128, 256)),
            bk,
            rnd.choice((1, 2, 3, 4, 5)),
            rnd.choice((2, 4, 4, 8, 8)),
        )
        acc = cfg[1] * cfg[2] // (32 * cfg[5])
        if acc <= MAX_ACC_PER_THREAD and (dt != "fp32-ieee" or acc * cfg[3] <= MAX_FMA_PER_THREAD):
            out.append(cfg)
    return out


def fp32_configs(rnd: random.Random, n: int) -> list[tuple]:
    """fp32 at tl.dot's default precision (tf32 tensor cores): K from 8, the smallest Triton >= 3.8 takes."""
    out = []
    while len(out) < n:
        cfg = (
            "fp32",
            rnd.choice((16, 32, 64, 128, 256)),
            rnd.choice((16, 32, 64, 128, 256)),
            rnd.choice((8, 16, 32, 64, 128)),
            rnd.choice((1, 2, 3, 4, 5)),
            rnd.choice((2, 4, 4, 8, 8)),
        )
        if cfg[1] * cfg[2] // (32 * cfg[5]) <= MAX_ACC_PER_THREAD:
            out.append(cfg)
    return out


def grid(per_arch: int, held_out_per_arch: int) -> list[dict]:
    rows = []
    rnd = random.Random(2026)
    for cc in TUNING_ARCHS:
        rows += [{"set": "tuning", "cc": cc, "cfg": c} for c in random_configs(rnd, per_arch)]
    from gpudiag.tiles.inductor import inductor_configs

    for name, dt, ccs, take in INDUCTOR:
        cfgs = sorted(
            {(c.block_m, c.block_n, c.block_k, c.stages or 3, c.warps or 4) for c in inductor_configs(name).configs}
        )
        if take is not None:
            cfgs = random.Random(7).sample(cfgs, take)
        rows += [
            {"set": "held-out-inductor", "inductor_set": name, "cc": cc, "cfg": (dt, *c)} for cc in ccs for c in cfgs
        ]
    rnd = random.Random(121)
    for cc in HELD_OUT_ARCHS:
        rows += [{"set": "held-out-arch", "cc": cc, "cfg": c} for c in random_configs(rnd, held_out_per_arch)]
    rows += [
        {"set": "fp32-tf32", "cc": r["cc"], "cfg": ("fp32", *r["cfg"][1:])}
        for r in list(rows)
        if r["cfg"][0] == "fp32-ieee"
    ]
    rows += [{"set": "fp32-tf32", "cc": cc, "cfg": ("fp32", *c)} for cc, *c in FP32_FIXED]
    rnd = random.Random(32)
    for cc in FP32_ARCHS:
        rows += [{"set": "fp32-tf32", "cc": cc, "cfg": c} for c in fp32_configs(rnd, FP32_PER_ARCH)]
    return rows


def operands(dt: str, recorded_precision: str | None = None):
    """The operand type as the compile gets it, with a 32-bit float dot's precision made explicit
    (so the compile and its cache key do not depend on TRITON_F32_DEFAULT), and that precision."""
    d = lookup(dt)
    p = dot_precision(d)
    if p is None:
        return d, None
    value = recorded_precision or p.value
    return dataclasses.replace(d, dot_precision=value), value


def env_text() -> str:
    return "\n".join(
        [
            f"date: {datetime.date.today().isoformat()}",
            f"machine: {platform.node()} (CPU only)",
            f"cpus: {os.cpu_count()}",
            f"python: {platform.python_version()}",
            f"triton: {exact.triton_version()}",
            "script: bench/tiles/cross_arch_ground_truth.py",
            "",
        ]
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="results folder (created)")
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--per-arch", type=int, default=20)
    ap.add_argument("--held-out-per-arch", type=int, default=15)
    ap.add_argument("--cache", default=None, help="gpudiag cache folder for the compiles")
    ap.add_argument("--rows-from", default=None, help="compile the configs of this earlier table")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.cache:
        os.environ["GPUDIAG_CACHE_DIR"] = args.cache
    if args.rows_from:
        rows = [
            {
                "set": r["set"],
                **({"inductor_set": r["inductor_set"]} if "inductor_set" in r else {}),
                "cc": r["cc"],
                "cfg": (r["dtype"], r["block_m"], r["block_n"], r["block_k"], r["stages"], r["warps"]),
                "input_precision": r.get("input_precision"),
            }
            for r in json.loads(Path(args.rows_from).read_text())["rows"]
        ]
    else:
        rows = grid(args.per_arch, args.held_out_per_arch)
    jobs = []
    for r in rows:
        dt, bm, bn, bk, st, w = r["cfg"]
        d, r["input_precision"] = operands(dt, r.get("input_precision"))
        jobs.append(exact.job_for(bm, bn, bk, st, w, d, d, "row", d.b_layout, r["cc"]))
    t0 = time.perf_counter()
    results = exact.run_exact(
        jobs,
        args.jobs,
        use_cache=True,
        progress=lambda done, total: print(f"{done}/{total}", end="\r", file=sys.stderr),
    )
    seconds = time.perf_counter() - t0
    table = []
    for r, job, res in zip(rows, jobs, results):
        dt, bm, bn, bk, st, w = r["cfg"]
        table.append(
            {
                "set": r["set"],
                **({"inductor_set": r["inductor_set"]} if "inductor_set" in r else {}),
                "cc": r["cc"],
                "dtype": dt,
                **({"input_precision": r["input_precision"]} if r["input_precision"] else {}),
                "block_m": bm,
                "block_n": bn,
                "block_k": bk,
                "stages": st,
                "warps": w,
                "a_layout": job.a_layout,
                "b_layout": job.b_layout,
                "shared": res.shared_bytes,
                "n_regs": res.regs_per_thread,
                "n_spills": res.spills,
                **({"error": res.error_summary} if res.error else {}),
            }
        )
    doc = {
        "meta": {
            "date": datetime.date.today().isoformat(),
            "triton": exact.triton_version(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "compiles": len(jobs),
            "compile_s": round(seconds, 1),
            "script": "bench/tiles/cross_arch_ground_truth.py",
            "results": str(out),
        },
        "rows": table,
    }
    (out / "tiles_cross_arch_ground_truth.json").write_text(json.dumps(doc, indent=1) + "\n")
    (out / "env.txt").write_text(env_text())
    print(json.dumps({k: doc["meta"][k] for k in ("compiles", "compile_s")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
