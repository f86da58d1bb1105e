"""The instant estimate for the fused-MoE kernel (``moe_kernel.py``): its shared memory on a given
architecture, built on the standard matmul's model (``estimate.py``).

The fused-MoE kernel's main loop is the matmul's: a BLOCK_M x BLOCK_K tile of A (gathered rows, K
contiguous: "row") and a BLOCK_K x BLOCK_N tile of one expert's B (stored [N, K], K contiguous: "col",
K-major) per K step, multi-buffered by the pipeliner and fed to ``tl.dot``; its epilogue converts the
accumulator to the store's layout, as the matmul's does. Compiled for sm_80/86/89/90/120, its shared
memory equals the matmul model's with those layouts for bf16/fp16, fp8_w8a8 (per tensor or per
channel) and int8_w8a8 (tests/data/tiles_moe_ground_truth.json). Two variants differ:

- int8_w8a16 where the dot is an asynchronous wgmma (sm_90, BLOCK_M a multiple of 64, warps a
  multiple of 4): B is converted to bf16 in registers before the dot, and wgmma reads B from shared
  memory only, so the converted tile is stored again (one BLOCK_K x BLOCK_N bf16 buffer, live in the
  loop). The int8 tile is not a wgmma operand: its ring has ``stages - 1`` buffers, as on mma.sync;
  A's keeps ``stages``.
- fp8_w8a8 with block-wise scales: each K step loads a scale per row of A (BLOCK_M fp32) and per
  column of B (BLOCK_N fp32, one per scale block) and multiplies the step's product by them. Triton's
  layout propagation (RemoveLayoutConversions) loads a scale vector straight in the accumulator's
  slice layout unless the load is "expensive" (``isExpensiveLoadOrStore``: at least as many
  elements as threads, 32 x warps); an expensive one keeps its coalesced layout and is converted
  inside the loop, through a scratch buffer of the whole vector (4 bytes an element) that is live
  next to the ring buffers. The two conversions are at different places, so their scratch shares
  one spot: the pipeline grows by the larger of the two.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from gpudiag.tiles import estimate as est
from gpudiag.tiles.dtypes import DType, lookup

# A's and B's element types per quantisation (the output is bf16 for all).
OPERANDS = {
    "none": ("bf16", "bf16"),
    "fp8_w8a8": ("fp8e4m3", "fp8e4m3"),
    "fp8_w8a8_block": ("fp8e4m3", "fp8e4m3"),
    "int8_w8a16": ("bf16", "int8"),
    "int8_w8a8": ("int8", "int8"),
}
MIN_DOT_K_8BIT = 32  # Triton's min_dot_size: K >= 32 for 8-bit operands (16 for 16-bit)


@dataclass(frozen=True)
class MoeEstimate:
    mma: str
    pipeline_bytes: int
    epilogue_bytes: int
    extra_bytes: int  # what the variant adds to the matmul's pipeline (converted B, scale scratch)
    needed_bytes: int


@functools.lru_cache(maxsize=16)
def operands(quant: str) -> tuple[DType, DType, DType]:
    a, b = OPERANDS[quant]
    bf16 = lookup("bf16")
    return lookup(a), lookup(b), bf16


@functools.lru_cache(maxsize=65536)
def problem(quant: str, bm: int, bn: int, bk: int, stages: int, warps: int, capability: int | None) -> str | None:
    """Why Triton cannot compile this entry (for ``capability``, when given), or None."""
    a, b, out = operands(quant)
    tile = est.MatmulTile(bm, bn, bk, stages, warps, a, b, out, "row", "col")
    why = est.tile_problem(tile)
    if why is None and min(a.bits, b.bits) == 8 and bk < MIN_DOT_K_8BIT:
        why = f"BLOCK_SIZE_K={bk} is below 32 (tl.dot needs K >= 32 for 8-bit operands)"
    if why is None and capability is not None:
        why = est.target_problem(tile, capability)
        if why is not None and "fp8e4m3" in why:
            why = (
                f"fp8e4nv is not supported on sm_{capability}: Triton compiles fp8 (e4m3) dots for sm_89 and "
                "later only, so an fp8_w8a8 table cannot run there"
            )
    return why


def _wgmma_int8_w8a16(tile: est.MatmulTile, capability: int) -> tuple[int, int] | None:
    """(pipeline bytes, extra bytes) of int8_w8a16 on an asynchronous wgmma; None when the dot is not one."""
    if est.mma_kind(tile, capability) != est.WGMMA:
        return None
    bf16 = lookup("bf16")
    a_tile = tile.a.bytes_for(tile.block_m * tile.block_k)
    b_tile = tile.b.bytes_for(tile.block_k * tile.block_n)
    converted = bf16.bytes_for(tile.block_k * tile.block_n)
    pipelined = tile.stages >= 2
    a_ring = tile.stages if pipelined and est._async(tile, "a", est.WGMMA) else 1
    b_ring = tile.stages - 1 if pipelined and est._async(tile, "b", est.MMA_SYNC) else 1
    # Largest first, each on its alignment (the NVMMA-swizzled ones on 1,024 bytes).
    buffers = sorted(
        [(a_ring * a_tile, est.NVMMA_ALIGN), (converted, est.NVMMA_ALIGN), (b_ring * b_tile, est.SHARED_ALIGN)],
        key=lambda x: -x[0],
    )
    end = 0
    for size, align in buffers:
        end = -(-end // align) * align + size
    return end, converted


SCALE_BYTES = 4  # the block scales are fp32


def _block_scale_scratch(bm: int, bn: int, warps: int) -> int:
    """Scratch of the in-loop conversion of the per-row (BLOCK_M) and per-column (BLOCK_N) scales."""
    threads = warps * est.WARP_SIZE
    return max(n * SCALE_BYTES if n >= threads else 0 for n in (bm, bn))


@functools.lru_cache(maxsize=65536)
def moe_smem(quant: str, bm: int, bn: int, bk: int, stages: int, warps: int, capability: int) -> MoeEstimate:
    """Shared memory of the fused-MoE kernel for one table entry on ``sm_<capability>`` (the entry must
    have no ``problem``)."""
    a, b, out = operands(quant)
    tile = est.MatmulTile(bm, bn, bk, stages, warps, a, b, out, "row", "col")
    base = est.triton_smem(tile, capability)
    pipeline, extra = base.pipeline_bytes, 0
    if quant == "int8_w8a16":
        got = _wgmma_int8_w8a16(tile, capability)
        if got is not None:
            pipeline, extra = got
    elif quant == "fp8_w8a8_block":
        extra = _block_scale_scratch(bm, bn, warps)
        if extra:
            pipeline = -(-pipeline // est.SHARED_ALIGN) * est.SHARED_ALIGN + extra
    return MoeEstimate(base.mma, pipeline, base.epilogue_bytes, extra, max(pipeline, base.epilogue_bytes))


@functools.lru_cache(maxsize=65536)
def largest_stages_that_fit(quant: str, bm: int, bn: int, bk: int, warps: int, capability: int, limit: int) -> int:
    """The most stages (1..16) whose estimate fits ``limit``; 0 when not even one does."""
    if quant not in ("int8_w8a16", "fp8_w8a8_block"):  # the matmul's own model: its bisection on a cached plan
        a, b, out = operands(quant)
        return est.largest_stages_that_fit(
            est.MatmulTile(bm, bn, bk, 1, warps, a, b, out, "row", "col"), capability, limit
        )
    return est.largest_fitting(
        lambda stages: moe_smem(quant, bm, bn, bk, stages, warps, capability).needed_bytes, limit
    )
