"""The instant estimate for the dense block-quantised GEMM (``block_gemm_kernel.py``) that vLLM's and
SGLang's ``N=..,K=..,device_name=..,dtype=..,block_shape=[..].json`` tables tune.

Its main loop is the standard matmul's (``estimate.py``): a BLOCK_M x BLOCK_K tile of A ("row", K
contiguous) and a BLOCK_K x BLOCK_N tile of B (stored [N, K]: "col", K-major) per K step, in fp8
(e4m3) or int8, multi-buffered by the pipeliner and fed to ``tl.dot``, and the epilogue's conversion
of the accumulator to the bf16 store. What the block scales add is the fused-MoE model's
``fp8_w8a8_block`` term (``moe_estimate._block_scale_scratch``): a per-row (BLOCK_M fp32) and a
per-column (BLOCK_N fp32) scale vector loaded each K step; one that is "expensive" (at least as many
elements as threads) is converted inside the loop through a scratch buffer live next to the ring
buffers, the larger of the two counted once.

Compared with compiling the model kernel (Triton 3.9, sm_80/86/89/90/120, a sample of vLLM's tables):
see ``NOTE``.
"""

from __future__ import annotations

import functools

from gpudiag.tiles import estimate as est
from gpudiag.tiles import moe_estimate as me
from gpudiag.tiles.dtypes import lookup

# The table name's dtype -> the model kernel's QUANT, and A's and B's element type.
QUANT_OF_DTYPE = {"fp8_w8a8": "fp8", "int8_w8a8": "int8"}
ELEMENT = {"fp8": "fp8e4m3", "int8": "int8"}
NOTE = (
    "the estimate equals the compiled shared memory of gpudiag/tiles/block_gemm_kernel.py on every distinct entry "
    "of a sample of vLLM's block-quantised GEMM tables, Triton 3.9 on sm_80/86/89/90/120"
)


def tile(quant: str, bm: int, bn: int, bk: int, stages: int, warps: int, b_layout: str = "col") -> est.MatmulTile:
    """``b_layout`` "col": B stored [N, K] (vLLM, SGLang); "row": [K, N], N contiguous (LightLLM's copy)."""
    return operand_tile(ELEMENT[quant], bm, bn, bk, stages, warps, b_layout)


def operand_tile(element: str, bm: int, bn: int, bk: int, stages: int, warps: int, b_layout: str) -> est.MatmulTile:
    """The standard matmul's tile with A and B of ``element`` (A row-major) and a bf16 store."""
    e = lookup(element)
    return est.MatmulTile(bm, bn, bk, stages, warps, e, e, lookup("bf16"), "row", b_layout)


@functools.lru_cache(maxsize=65536)
def problem(quant: str, bm: int, bn: int, bk: int, stages: int, warps: int, capability: int | None) -> str | None:
    """Why Triton cannot compile this entry (for ``capability``, when given), or None."""
    return me.problem("fp8_w8a8" if quant == "fp8" else "int8_w8a8", bm, bn, bk, stages, warps, capability)


@functools.lru_cache(maxsize=65536)
def gemm_smem(
    quant: str, bm: int, bn: int, bk: int, stages: int, warps: int, capability: int, b_layout: str = "col"
) -> me.MoeEstimate:
    """Shared memory of the block-scaled GEMM for one entry on ``sm_<capability>`` (no ``problem``)."""
    base = est.triton_smem(tile(quant, bm, bn, bk, stages, warps, b_layout), capability)
    pipeline = base.pipeline_bytes
    extra = me._block_scale_scratch(bm, bn, warps)
    if extra:
        pipeline = -(-pipeline // est.SHARED_ALIGN) * est.SHARED_ALIGN + extra
    return me.MoeEstimate(base.mma, pipeline, base.epilogue_bytes, extra, max(pipeline, base.epilogue_bytes))


@functools.lru_cache(maxsize=65536)
def largest_stages_that_fit(
    quant: str, bm: int, bn: int, bk: int, warps: int, capability: int, limit: int, b_layout: str = "col"
) -> int:
    """The most stages (1..16) whose estimate fits ``limit``; 0 when not even one does."""
    return est.largest_fitting(
        lambda stages: gemm_smem(quant, bm, bn, bk, stages, warps, capability, b_layout).needed_bytes, limit
    )
