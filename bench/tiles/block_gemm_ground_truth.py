"""Estimate vs compile for the dense block-quantised GEMM model (gpudiag/tiles/block_gemm_kernel.py).

    python3 -m bench.tiles.block_gemm_ground_truth [--jobs N] [--archs 80,86,89,90,120]

The configs are the distinct (BM, BN, BK, warps, stages) entries of seven of vLLM's tables in
vllm/model_executor/layers/quantization/utils/configs/ (read from github.com/vllm-project/vllm, not
copied here beyond these tuples): N=1536,K=1536 H100 fp8; N=12288,K=7168 H200 fp8; N=12288,K=2048
RTX 4090 fp8; N=10240,K=5120 L40S fp8; N=16384,K=1024 RTX PRO 6000 fp8; N=1536,K=7168 H20 fp8;
N=1536,K=1536 A100 int8. fp8 entries are also compiled as int8 to widen the int8 sample.
"""

from __future__ import annotations

import argparse
import json

from gpudiag.tiles import block_gemm_estimate as be
from gpudiag.tiles import block_gemm_exact as bx
from gpudiag.tiles import moe_exact

FP8 = [
    (64, 64, 128, 4, 4),
    (64, 32, 128, 4, 4),
    (64, 32, 128, 4, 5),
    (64, 32, 128, 4, 3),
    (64, 64, 128, 4, 3),
    (64, 128, 128, 4, 3),
    (16, 128, 128, 8, 4),
    (16, 128, 128, 4, 5),
    (16, 64, 128, 4, 5),
    (16, 32, 128, 4, 5),
    (64, 128, 128, 4, 4),
    (64, 128, 128, 4, 5),
    (16, 64, 128, 8, 3),
    (16, 128, 64, 4, 3),
    (16, 128, 128, 4, 3),
    (16, 64, 128, 8, 5),
    (16, 64, 128, 4, 4),
    (32, 128, 128, 8, 3),
    (32, 128, 128, 8, 4),
    (64, 128, 128, 8, 3),
    (32, 128, 128, 4, 2),
    (64, 64, 128, 8, 4),
    (128, 64, 128, 4, 3),
    (16, 128, 128, 8, 5),
    (16, 128, 128, 8, 3),
    (16, 128, 128, 4, 4),
    (32, 128, 128, 4, 4),
    (32, 256, 128, 8, 3),
    (32, 128, 128, 4, 3),
    (128, 128, 128, 8, 3),
    (128, 128, 128, 8, 4),
    (64, 64, 128, 4, 5),
    (64, 32, 128, 4, 2),
]
INT8 = [
    (16, 64, 128, 4, 5),
    (16, 64, 128, 4, 3),
    (16, 32, 128, 4, 5),
    (16, 32, 128, 4, 4),
    (16, 64, 128, 4, 4),
    (64, 64, 128, 8, 3),
    (64, 32, 128, 4, 3),
    (128, 64, 128, 8, 5),
    (32, 64, 128, 4, 3),
    (128, 64, 128, 4, 3),
    (64, 256, 128, 8, 4),
    (128, 32, 128, 4, 4),
    (64, 64, 128, 4, 3),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--archs", default="80,86,89,90,120")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    archs = [int(a) for a in args.archs.split(",")]
    cases = [("fp8", c) for c in FP8] + [("int8", c) for c in sorted(set(INT8) | set(FP8))]
    todo = []
    for quant, (bm, bn, bk, w, s) in cases:
        for cc in archs:
            if be.problem(quant, bm, bn, bk, s, w, cc) is None:
                todo.append((quant, bm, bn, bk, s, w, cc))
    res = moe_exact.run([bx.GemmJob(bm, bn, bk, s, w, q, cc) for q, bm, bn, bk, s, w, cc in todo], args.jobs)
    rows, exact, worst = [], 0, 0
    for (q, bm, bn, bk, s, w, cc), r in zip(todo, res):
        e = be.gemm_smem(q, bm, bn, bk, s, w, cc).needed_bytes
        rows.append(
            {
                "quant": q,
                "cfg": [bm, bn, bk, s, w],
                "cc": cc,
                "estimate": e,
                "compiled": r.shared_bytes,
                "error": r.error_summary if r.error else None,
            }
        )
        if r.shared_bytes is not None:
            exact += e == r.shared_bytes
            worst = max(worst, abs(e - r.shared_bytes))
            if e != r.shared_bytes:
                print(f"MISMATCH {q} {bm}x{bn}x{bk}:{s}@{w} sm_{cc}: estimate {e} compiled {r.shared_bytes}")
        else:
            print(f"ERROR {q} {bm}x{bn}x{bk}:{s}@{w} sm_{cc}: {r.error_summary}")
    n = sum(1 for r in rows if r["compiled"] is not None)
    print(f"{exact}/{n} exact, max |error| {worst} B")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
