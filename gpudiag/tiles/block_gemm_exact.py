"""``--exact`` for dense block-quantised GEMM tables: compile gpudiag's model of that kernel
(``block_gemm_kernel.py``) for a target on this machine (no GPU) and read the compiler's shared memory.

The kernel is specialised as vLLM's and SGLang's launches specialise it: every pointer, N, K, the
scale block sizes (128) and the strides that are not 1 divisible by 16, the unit strides (A's and
B's K stride, C's column stride, the scales' K stride) the constant 1. M and the scales' row strides
(K / 128: 7168 / 128 = 56) get no divisibility.

Compiles run in the compile engine's forked children, as the fused-MoE model's do (``moe_exact.run``
takes these jobs too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpudiag.tiles import compile_engine as engine
from gpudiag.tiles import exact

OPERANDS = {"fp8": "fp8e4nv", "int8": "i8"}
UNIT_STRIDES = ("stride_ak", "stride_bk", "stride_cn", "stride_ask", "stride_bsk")
NOT_DIVISIBLE = ("M", "stride_asm", "stride_bsn")


@dataclass(frozen=True)
class GemmJob:
    """Everything that decides the compiled kernel (the cache key)."""

    block_m: int
    block_n: int
    block_k: int
    stages: int
    warps: int
    quant: str  # "fp8" or "int8" (block_gemm_kernel.QUANTS)
    capability: int
    warp_size: int = 32


def kernel_source_hash() -> str:
    return exact.model_source_hash("block_gemm_kernel.py")


def build_source(job: GemmJob):
    import triton.language as tl

    from gpudiag.tiles.block_gemm_kernel import block_scaled_gemm_model

    op = OPERANDS[job.quant]
    sig: dict[str, str] = dict.fromkeys(block_scaled_gemm_model.arg_names, "i32")
    sig.update(a_ptr=f"*{op}", b_ptr=f"*{op}", c_ptr="*bf16", a_scale_ptr="*fp32", b_scale_ptr="*fp32")
    const: dict[str, Any] = {
        "BLOCK_SIZE_M": job.block_m,
        "BLOCK_SIZE_N": job.block_n,
        "BLOCK_SIZE_K": job.block_k,
        "GROUP_SIZE_M": 8,
        "QUANT": job.quant,
        "OUT_TYPE": tl.bfloat16,
    }
    for n in UNIT_STRIDES:
        const[n] = 1
    return exact.model_source(block_scaled_gemm_model, sig, const, NOT_DIVISIBLE)


def task_for(job: GemmJob) -> engine.Task:
    return exact.model_task("block-gemm-exact", "block_gemm_kernel.py", job, build_source)
