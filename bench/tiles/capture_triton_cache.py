"""Fill a fresh Triton cache with real kernels on a GPU, and record what each one was compiled to.

The workloads are the ones ``check-tiles --from-triton-cache`` is for: FlexAttention forward and
backward at head_dim 64 and 256 (inductor's flex templates), a hand-written ``@triton.autotune``
kernel, and a bf16 matmul under ``max-autotune-no-cudagraphs`` (inductor's mm templates). Each runs
in its own process with ``TRITON_CACHE_DIR`` and ``TORCHINDUCTOR_CACHE_DIR`` pointing into OUTDIR.

Afterwards every compiled kernel in the cache is loaded through Triton's driver and the manifest
``OUTDIR/manifest.json`` records, per kernel folder: its name, target, warps, stages, the shared
memory in its metadata, and the registers and spills the driver reports. That is the ground truth
``--from-triton-cache`` must reproduce when it recompiles the cached TTIR for this architecture.

    python3 -m bench.tiles.capture_triton_cache OUTDIR [--only flex64,flex256,autotune,mm] [--timeout 200]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path


def _flex(head_dim: int) -> None:
    import torch
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention

    def causal(b, h, q, kv):
        return q >= kv

    B, H, S = 2, 4, 1024
    q, k, v = (
        torch.randn(B, H, S, head_dim, device="cuda", dtype=torch.bfloat16, requires_grad=True) for _ in range(3)
    )
    mask = create_block_mask(causal, B=None, H=None, Q_LEN=S, KV_LEN=S)
    out = torch.compile(flex_attention)(q, k, v, block_mask=mask)
    out.sum().backward()
    torch.cuda.synchronize()


def _autotune() -> None:
    import torch
    import triton
    import triton.language as tl

    @triton.autotune(
        configs=[
            triton.Config({"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk}, num_warps=w, num_stages=s)
            for bm, bn, bk, w, s in (
                (64, 64, 32, 4, 3),
                (128, 128, 64, 8, 4),
                (128, 256, 64, 8, 3),
                (256, 128, 64, 8, 4),
                (64, 128, 128, 4, 5),
                (32, 32, 32, 2, 2),
            )
        ],
        key=["M", "N", "K"],
    )
    @triton.jit
    def scaled_mm_relu(
        a_ptr, b_ptr, c_ptr, scale, M, N, K, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr
    ):
        pid_m = tl.program_id(0)
        pid_n = tl.program_id(1)
        rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
        rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
        rk = tl.arange(0, BLOCK_K)
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        for k0 in range(0, K, BLOCK_K):
            a = tl.load(a_ptr + rm[:, None] * K + (k0 + rk)[None, :], mask=(k0 + rk)[None, :] < K, other=0.0)
            b = tl.load(b_ptr + (k0 + rk)[:, None] * N + rn[None, :], mask=(k0 + rk)[:, None] < K, other=0.0)
            acc = tl.dot(a, b, acc)
        acc = tl.maximum(acc * scale, 0.0)
        tl.store(c_ptr + rm[:, None] * N + rn[None, :], acc.to(tl.bfloat16), mask=(rm[:, None] < M) & (rn[None, :] < N))

    M = N = K = 2048
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.empty(M, N, device="cuda", dtype=torch.bfloat16)
    grid = lambda meta: (triton.cdiv(M, meta["BLOCK_M"]), triton.cdiv(N, meta["BLOCK_N"]))  # noqa: E731
    scaled_mm_relu[grid](a, b, c, 0.5, M, N, K)
    torch.cuda.synchronize()


def _mm() -> None:
    import torch

    a = torch.randn(2048, 4096, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(4096, 2048, device="cuda", dtype=torch.bfloat16)
    torch.compile(lambda a, b: torch.nn.functional.gelu(a @ b), mode="max-autotune-no-cudagraphs")(a, b)
    torch.cuda.synchronize()


WORKLOADS = {"flex64": lambda: _flex(64), "flex256": lambda: _flex(256), "autotune": _autotune, "mm": _mm}


def manifest(cache: Path) -> list[dict]:
    import torch
    import triton

    torch.empty(1, device="cuda")
    load_binary = triton.runtime.driver.active.utils.load_binary
    rows = []
    for meta_path in sorted(cache.glob("*/*.json")):
        if meta_path.name.startswith("__grp__"):
            continue
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:
            continue
        if "shared" not in meta or "name" not in meta:
            continue
        cubin = meta_path.with_suffix(".cubin")
        row = {
            "dir": meta_path.parent.name,
            "name": meta["name"],
            "target": meta.get("target"),
            "num_warps": meta.get("num_warps"),
            "num_stages": meta.get("num_stages"),
            "shared": meta["shared"],
            "has_ttir": meta_path.with_suffix(".ttir").exists(),
        }
        if cubin.exists():
            try:
                loaded = load_binary(meta["name"], cubin.read_bytes(), meta["shared"], 0)
                row.update(n_regs=loaded[2], n_spills=loaded[3])
            except Exception as exc:
                row["load_error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        rows.append(row)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--only", default=",".join(WORKLOADS))
    ap.add_argument("--timeout", type=float, default=200.0)
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        WORKLOADS[args.child]()
        return 0
    cache = args.outdir / "triton"
    env = dict(
        os.environ,
        TRITON_CACHE_DIR=str(cache),
        TORCHINDUCTOR_CACHE_DIR=str(args.outdir / "inductor"),
        PYTHONUNBUFFERED="1",
    )
    runs = []
    for name in [n for n in args.only.split(",") if n]:
        t0 = time.perf_counter()
        try:
            p = subprocess.run(
                [sys.executable, __file__, str(args.outdir), "--child", name],
                env=env,
                capture_output=True,
                text=True,
                timeout=args.timeout,
            )
            rc, tail = p.returncode, (p.stdout + p.stderr)[-2000:]
        except subprocess.TimeoutExpired:
            rc, tail = "timeout", ""
        runs.append({"workload": name, "rc": rc, "seconds": round(time.perf_counter() - t0, 1), "tail": tail})
        print(json.dumps({k: v for k, v in runs[-1].items() if k != "tail"}), flush=True)
    os.environ["TRITON_CACHE_DIR"] = str(cache)
    import torch
    import triton

    rows = manifest(cache)
    doc = {
        "meta": {
            "date": datetime.date.today().isoformat(),
            "device": torch.cuda.get_device_name(0),
            "torch": torch.__version__,
            "triton": triton.__version__,
            "python": platform.python_version(),
            "script": "bench/tiles/capture_triton_cache.py",
        },
        "runs": runs,
        "kernels": rows,
    }
    (args.outdir / "manifest.json").write_text(json.dumps(doc, indent=1))
    print(json.dumps({"kernels": len(rows), "runs": [(r["workload"], r["rc"]) for r in runs]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
