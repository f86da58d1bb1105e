"""Ground truth for ``gpudiag check-tiles``: launch the Triton matmul on a real GPU for a grid of configs.

For each config it launches ``gpudiag/tiles/matmul_kernel.py`` (the very kernel ``--exact`` compiles)
on 16-byte-aligned tensors with the operand layouts check-tiles defaults to, and records the
launched kernel's shared memory (``kernel.metadata.shared``), registers and spills, or, when the
launch is refused, the ``OutOfResources`` "Required" number. It then compiles the same configs
through ``gpudiag.tiles.exact`` on this machine (cold, then warm) to check that the CPU path gives
the same numbers here, with this machine's Triton.

    python3 -m bench.tiles.ground_truth --out tests/data/h100_tiles_ground_truth.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

# (dtype, BM, BN, BK, stages, warps): block sizes 16..256, stages 1..6, warps 2..8, 16-bit, fp32 (fp32-ieee: full
# precision, what "fp32" meant before 2026-12-07), tf32, fp8.
# Chosen so that some fit with room, some sit near the 232448-byte limit and some exceed it.
GRID = [
    ("fp16", 16, 16, 16, 1, 2),
    ("fp16", 32, 32, 32, 2, 2),
    ("fp16", 64, 64, 32, 3, 4),
    ("fp16", 128, 128, 64, 4, 8),
    ("fp16", 128, 256, 64, 3, 8),
    ("fp16", 128, 256, 64, 4, 8),
    ("fp16", 256, 128, 64, 5, 8),
    ("fp16", 256, 256, 64, 4, 8),
    ("fp16", 64, 128, 128, 6, 4),
    ("fp16", 256, 64, 32, 2, 4),
    ("bf16", 32, 64, 32, 5, 2),
    ("bf16", 64, 256, 32, 4, 8),
    ("bf16", 128, 128, 128, 3, 8),
    ("bf16", 128, 128, 128, 4, 8),
    ("bf16", 128, 256, 64, 5, 8),
    ("bf16", 16, 128, 64, 6, 2),
    ("bf16", 256, 128, 32, 6, 8),
    ("bf16", 64, 64, 128, 2, 4),
    ("fp32-ieee", 32, 32, 16, 1, 2),
    ("fp32-ieee", 64, 64, 32, 3, 4),
    ("fp32-ieee", 128, 64, 32, 4, 4),
    ("fp32-ieee", 128, 128, 32, 4, 8),
    ("fp32-ieee", 128, 128, 64, 4, 8),
    ("fp32-ieee", 64, 128, 64, 6, 4),
    ("fp32-ieee", 256, 64, 16, 5, 8),
    ("tf32", 64, 64, 32, 3, 4),
    ("tf32", 128, 128, 32, 3, 8),
    ("tf32", 128, 128, 64, 4, 8),
    ("fp8e4m3", 64, 64, 64, 3, 4),
    ("fp8e4m3", 128, 128, 64, 4, 4),
    ("fp8e4m3", 128, 256, 128, 3, 8),
    ("fp8e4m3", 128, 256, 128, 4, 8),
    ("fp8e4m3", 256, 128, 128, 5, 8),
    ("fp8e4m3", 256, 256, 128, 4, 8),
    ("fp8e4m3", 32, 64, 128, 6, 2),
    ("fp8e5m2", 128, 128, 128, 3, 8),
]
# The fp8 layout check-tiles does not default to (row-major B), to show the layout matters.
GRID_ROW_B = [("fp8e4m3", 128, 128, 64, 4, 4), ("fp8e4m3", 128, 256, 128, 4, 8)]
# Added 2026-12-02: int8 (its int32 epilogue often outweighs the pipeline), one- and two-stage configs
# whose epilogue decides, and 2 warps (mma.sync, not wgmma, on sm_90).
GRID_EPILOGUE = [
    ("int8", 64, 64, 64, 2, 4),
    ("int8", 128, 128, 64, 3, 8),
    ("int8", 128, 256, 128, 3, 8),
    ("int8", 128, 128, 32, 1, 4),
    ("fp16", 128, 128, 16, 1, 4),
    ("fp16", 256, 128, 16, 2, 8),
    ("bf16", 128, 128, 32, 3, 2),
    ("fp8e4m3", 128, 128, 32, 1, 4),
]

M = N = K = 512  # multiples of 16 and not 1: specialised like real shapes
_REQUIRED_RE = re.compile(r"Required:\s*(\d+)")


def _versions() -> dict:
    import torch
    import triton

    try:
        drv = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        drv = None
    return {
        "date": datetime.date.today().isoformat(),
        "device": torch.cuda.get_device_name(0),
        "nvidia_smi": drv,
        "torch": torch.__version__,
        "triton": triton.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "shape": [M, N, K],
    }


def launch(dtype_name: str, bm: int, bn: int, bk: int, stages: int, warps: int, b_layout: str) -> dict:
    import torch
    import triton

    from gpudiag.tiles.dtypes import lookup
    from gpudiag.tiles.matmul_kernel import GROUP_M, matmul_kernel

    dt = lookup(dtype_name)
    tdt, odt = getattr(torch, dt.torch), getattr(torch, lookup(dt.out).torch)

    def rand(*shape):
        if dt.name == "int8":
            return torch.randint(-8, 8, shape, device="cuda", dtype=torch.int8)
        return torch.randn(*shape, device="cuda").to(tdt)

    a = rand(M, K)
    b = rand(K, N)
    if b_layout == "col":  # K contiguous: a (N, K) row-major tensor seen transposed
        b = rand(N, K).t()
    c = torch.empty(M, N, device="cuda", dtype=odt)
    grid = (triton.cdiv(M, bm) * triton.cdiv(N, bn),)
    row = {
        "dtype": dt.name,
        "block_m": bm,
        "block_n": bn,
        "block_k": bk,
        "stages": stages,
        "warps": warps,
        "a_layout": "row",
        "b_layout": b_layout,
    }
    try:
        k = matmul_kernel[grid](
            a,
            b,
            c,
            M,
            N,
            K,
            a.stride(0),
            a.stride(1),
            b.stride(0),
            b.stride(1),
            c.stride(0),
            c.stride(1),
            BLOCK_M=bm,
            BLOCK_N=bn,
            BLOCK_K=bk,
            GROUP_M=GROUP_M,
            ACC_INT=dt.name == "int8",
            DOT_PRECISION=dt.dot_precision or "default",
            num_warps=warps,
            num_stages=stages,
        )
        torch.cuda.synchronize()
        ref = a.float() @ b.float()
        err = (c.float() - ref).abs().max().item() / max(ref.abs().max().item(), 1e-6)
        row.update(
            launched=True,
            shared=int(k.metadata.shared),
            n_regs=int(k.n_regs),
            n_spills=int(k.n_spills),
            max_rel_error=round(err, 5),
        )
    except Exception as exc:
        if type(exc).__name__ != "OutOfResources":
            row.update(launched=False, error=f"{type(exc).__name__}: {str(exc)[:200]}")
            return row
        req = getattr(exc, "required", None)
        if req is None:
            m = _REQUIRED_RE.search(str(exc))
            req = int(m.group(1)) if m else None
        row.update(
            launched=False,
            required=int(req) if req is not None else None,
            limit=getattr(exc, "limit", None),
            error=str(exc)[:200],
        )
    return row


def exact_here(rows: list[dict], jobs: int | None) -> dict:
    """Compile the same configs through gpudiag's --exact path on this machine: cold, then warm."""
    from gpudiag.tiles import exact
    from gpudiag.tiles.dtypes import lookup

    js = []
    for r in rows:
        d = lookup(r["dtype"])
        js.append(
            exact.job_for(
                r["block_m"],
                r["block_n"],
                r["block_k"],
                r["stages"],
                r["warps"],
                d,
                d,
                r["a_layout"],
                r["b_layout"],
                90,
            )
        )
    with tempfile.TemporaryDirectory() as tmp:
        # cold means both caches empty: gpudiag's and Triton's own, which the launches above just filled
        os.environ["GPUDIAG_CACHE_DIR"] = tmp
        os.environ["TRITON_CACHE_DIR"] = os.path.join(tmp, "triton")
        t0 = time.perf_counter()
        cold = exact.run_exact(js, jobs)
        t_cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        exact.run_exact(js, jobs)
        t_warm = time.perf_counter() - t0
    for r, res in zip(rows, cold):
        r["exact_here"] = res.shared_bytes
        r["exact_here_regs"] = res.regs_per_thread
        r["exact_here_spills"] = res.spills
        if res.error:
            r["exact_here_error"] = res.error
    return {
        "configs": len(js),
        "jobs": jobs or exact.default_jobs(),
        "cold_s": round(t_cold, 2),
        "warm_s": round(t_warm, 3),
        "cold_configs_per_s": round(len(js) / t_cold, 2),
        "warm_configs_per_s": round(len(js) / t_warm, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--jobs", type=int, default=None)
    args = ap.parse_args()
    rows = []
    t0 = time.perf_counter()
    from gpudiag.tiles.dtypes import lookup

    for cfg in GRID + GRID_EPILOGUE:
        rows.append(launch(*cfg, b_layout=lookup(cfg[0]).b_layout))
        print(json.dumps(rows[-1]), flush=True)
    for cfg in GRID_ROW_B:
        rows.append(launch(*cfg, b_layout="row"))
        print(json.dumps(rows[-1]), flush=True)
    t_launch = time.perf_counter() - t0
    bench = exact_here(rows, args.jobs)
    mism = [r for r in rows if r.get("exact_here") != (r.get("shared") if r.get("launched") else r.get("required"))]
    doc = {
        "meta": {**_versions(), "launch_s": round(t_launch, 1), "script": "bench/tiles/ground_truth.py"},
        "exact_bench": bench,
        "exact_mismatches_here": len(mism),
        "rows": rows,
    }
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
    print(json.dumps({"exact_bench": bench, "mismatches": len(mism)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
