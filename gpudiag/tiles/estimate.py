"""The instant estimate: the shared memory Triton's software pipeliner allocates for a matmul tile.

Model (stated in every report's notes):
  pipeline  = max(stages, 1) x (BM*BK*bytes(A) + BK*BN*bytes(B))
              Triton multi-buffers both operand tiles once per stage; with 1 stage the operands still
              pass through shared memory on their way to the tensor cores.
  epilogue  = BM*BN*bytes(out): the layout conversion of the accumulator before the store. Its buffer
              is reused from the operand buffers, which are dead by then, so it counts only when larger.
  needed    = max(pipeline, epilogue)
It is an upper bound of the compiled kernel's number on the configs measured (docs/BENCHMARKS.md):
operands Triton keeps in registers (fp8 with a row-major B on sm_90) make the real number smaller,
never larger. ``--exact`` gives the compiler's own number.

Occupancy by shared memory follows the CUDA occupancy calculator: each block also takes the
per-block reservation (``cudaDevAttrReservedSharedMemoryPerBlock``, 1 KiB on sm_80+), rounded up to
the 128-byte allocation granularity, out of the SM's shared memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpudiag.tiles.dtypes import DType

SMEM_ALLOC_GRANULARITY = 128  # bytes; CUDA occupancy calculator, compute capability 8.0 and later


@dataclass(frozen=True)
class SmemBreakdown:
    pipeline_bytes: int
    epilogue_bytes: int
    needed_bytes: int
    stage_bytes: int  # one stage of A and B tiles


def triton_smem(bm: int, bn: int, bk: int, stages: int, a: DType, b: DType, out: DType | None) -> SmemBreakdown:
    stage = a.bytes_for(bm * bk) + b.bytes_for(bk * bn)
    pipeline = max(stages, 1) * stage
    epilogue = (out.bytes_for(bm * bn) if out is not None else 0)
    return SmemBreakdown(pipeline, epilogue, max(pipeline, epilogue), stage)


def largest_stages_that_fit(bm: int, bn: int, bk: int, a: DType, b: DType, out: DType | None, limit: int,
                            max_stages: int = 16) -> int:
    """Largest stage count whose estimate fits ``limit``; 0 when not even one stage fits."""
    best = 0
    for s in range(1, max_stages + 1):
        if triton_smem(bm, bn, bk, s, a, b, out).needed_bytes <= limit:
            best = s
        else:
            break
    return best


def blocks_per_sm_by_smem(needed: int, smem_per_sm: int | None, reserved_per_block: int | None,
                          max_blocks_per_sm: int | None) -> int | None:
    if smem_per_sm is None:
        return None
    per_block = needed + (reserved_per_block or 0)
    per_block = -(-per_block // SMEM_ALLOC_GRANULARITY) * SMEM_ALLOC_GRANULARITY
    if per_block == 0:
        return max_blocks_per_sm
    n = smem_per_sm // per_block
    return min(n, max_blocks_per_sm) if max_blocks_per_sm else n
