"""Ground truth for check-tiles --from-config-table: gpudiag's fused-MoE kernel model
(gpudiag/tiles/moe_kernel.py) compiled with the installed Triton, on this CPU, for every distinct
entry of a folder of real vLLM / SGLang fused-MoE tables, on sm_80, sm_86, sm_89, sm_90 and sm_120.

    python3 -m bench.tiles.moe_ground_truth --tables DIR --out OUTDIR [--jobs 2]
        [--archs 80,86,89,90,120] [--routed-weight] [--variants]

The tables are read with gpudiag's own reader (gpudiag/tiles/config_table.py) and are not copied
anywhere: what is written is the distinct (quantisation, BM, BN, BK, stages, warps) entries, the
compiler's shared memory for each on each architecture (or its error), and a per-table, per-
architecture count of entries over the opt-in limit, computed from those compiled numbers.

Each entry is compiled as the first GEMM of a MoE layer (gathered rows, top_k = 2). --routed-weight
also compiles the second GEMM (the routing weight multiplied in the epilogue, top_k = 1), whose
numbers the table must fit too, and --variants per-channel fp8 scales and SGLang's even-K loads on
a sample of the entries, to show they take the same shared memory; both on --variant-archs (one
mma.sync and one wgmma architecture by default, to keep the run under an hour on 2 cores).

writes OUTDIR/tiles_moe_ground_truth.json and OUTDIR/env.txt; tests read the copy in tests/data.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

from gpudiag.tiles import config_table, moe_exact
from gpudiag.tiles.exact import triton_version

ARCHS = (80, 86, 89, 90, 120)


def limits(archs) -> dict[int, int]:
    from gpudiag.device import resolve_target

    return {cc: resolve_target(arch=f"sm_{cc}").smem_per_block_optin_bytes for cc in archs}


def entries(tables):
    """(quant, BM, BN, BK, stages, warps, block_shape) of every valid entry, the BK as the runtime launches it."""
    for t in tables:
        q = t.quant
        if t.kind != "moe-table" or t.name is None or q is None:
            continue
        for e in t.entries:
            if e.problem:
                continue
            bk = e.block_k
            if q == "fp8_w8a8_block" and not t.name.spaced_block_shape:
                bk = min(bk, min(t.name.block_shape))  # vLLM clamps BLOCK_SIZE_K to the scale block
            yield t, e, (q, e.block_m, e.block_n, bk, e.stages, e.warps, t.name.block_shape or (128, 128))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--archs", default=",".join(map(str, ARCHS)))
    ap.add_argument("--routed-weight", action="store_true")
    ap.add_argument("--variants", action="store_true")
    ap.add_argument("--variant-archs", default="86,90", help="architectures of --routed-weight and --variants")
    args = ap.parse_args()
    archs = tuple(int(a) for a in args.archs.split(","))
    variant_archs = tuple(int(a) for a in args.variant_archs.split(","))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tables = config_table.read_path(args.tables)
    seen = list(entries(tables))
    distinct = sorted({k for _, _, k in seen})
    jobs = []
    for cc in archs:
        for q, bm, bn, bk, st, w, blk in distinct:
            jobs.append(moe_exact.MoeJob(bm, bn, bk, st, w, q, cc, scale_block=blk))
            if args.routed_weight and cc in variant_archs:
                jobs.append(moe_exact.MoeJob(bm, bn, bk, st, w, q, cc, routed_weight=True, top_k=1, scale_block=blk))
    if args.variants:
        for cc in variant_archs:
            for q, bm, bn, bk, st, w, blk in distinct[::7]:
                if q == "fp8_w8a8":
                    jobs.append(moe_exact.MoeJob(bm, bn, bk, st, w, q, cc, per_channel=True, scale_block=blk))
                jobs.append(moe_exact.MoeJob(bm, bn, bk, st, w, q, cc, even_k=True, scale_block=blk))
    t0 = time.perf_counter()
    results = moe_exact.run(
        jobs, args.jobs, progress=lambda d, n: print(f"{d}/{n}", end="\r", file=sys.stderr, flush=True)
    )
    seconds = time.perf_counter() - t0
    rows = []
    compiled = {}
    for j, r in zip(jobs, results):
        rows.append(
            {
                "quant": j.quant,
                "block_m": j.block_m,
                "block_n": j.block_n,
                "block_k": j.block_k,
                "stages": j.stages,
                "warps": j.warps,
                "cc": j.capability,
                "routed_weight": j.routed_weight,
                "top_k": j.top_k if not j.routed_weight else 1,
                "per_channel": j.per_channel,
                "even_k": j.even_k,
                "scale_block": list(j.scale_block) if j.quant == "fp8_w8a8_block" else None,
                "shared": r.shared_bytes,
                "n_regs": r.regs_per_thread,
                "n_spills": r.spills,
                **({"error": r.error_summary} if r.error else {}),
            }
        )
        if not j.routed_weight and not j.per_channel and not j.even_k:
            compiled[(j.quant, j.block_m, j.block_n, j.block_k, j.stages, j.warps, j.capability)] = r
    lim = limits(archs)
    summary = []
    for t in tables:
        if t.kind != "moe-table" or t.name is None or t.quant is None:
            continue
        per = {}
        for cc in archs:
            over = cannot = fit = 0
            for tt, _, k in seen:
                if tt is not t:
                    continue
                r = compiled[(*k[:6], cc)]
                if r.error:
                    cannot += 1
                elif r.shared_bytes > lim[cc]:
                    over += 1
                else:
                    fit += 1
            per[f"sm_{cc}"] = {"fit": fit, "over": over, "cannot_run": cannot, "limit": lim[cc]}
        summary.append({"table": os.path.relpath(t.path, args.tables), "entries": len(t.entries), "per_arch": per})
    doc = {
        "meta": {
            "date": datetime.date.today().isoformat(),
            "triton": triton_version(),
            "kernel": f"gpudiag/tiles/moe_kernel.py {moe_exact.kernel_source_hash()}",
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "compiles": len(jobs),
            "compile_s": round(seconds, 1),
            "tables": len(summary),
            "distinct_entries": len(distinct),
            "script": "bench/tiles/moe_ground_truth.py",
            "results": str(out),
        },
        "rows": rows,
        "tables": summary,
    }
    (out / "tiles_moe_ground_truth.json").write_text(json.dumps(doc, indent=1) + "\n")
    (out / "env.txt").write_text(
        f"date: {doc['meta']['date']}\nmachine: {platform.node()} (CPU only)\ncpus: {os.cpu_count()}\n"
        f"python: {platform.python_version()}\ntriton: {triton_version()}\nscript: bench/tiles/moe_ground_truth.py\n"
    )
    print(json.dumps({k: doc["meta"][k] for k in ("compiles", "compile_s", "distinct_entries", "tables")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
