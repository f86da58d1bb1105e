"""``--exact`` for fused-MoE tables: compile gpudiag's fused-MoE kernel model (``moe_kernel.py``) for a
target on this machine (no GPU) and read the compiler's shared memory, registers and spills.

The kernel is specialised as vLLM's and SGLang's launches specialise it: every pointer, N, K and the
strides that are not 1 divisible by 16 (K is a multiple of 16 for every model these tables are
tuned for), the unit strides (A's and B's K stride, C's column stride, the scales' K stride) as the
constant 1. The scales' row strides are K / 128, often not a multiple of 16 (7168 / 128 = 56), so
they get no divisibility. Both GEMMs of a MoE layer run with the same table entry: the first
gathers each token ``top_k`` times, the second multiplies by the routing weight; a config has to
fit both, so both are compiled and the larger number counts.

Compiles run in the compile engine's forked children (``compile_engine.py``, as ``--exact``'s), results
cached on disk keyed by Triton version, the job and the kernel's source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpudiag import files
from gpudiag.tiles import block_gemm_exact, exact
from gpudiag.tiles import compile_engine as engine

# (triton element type of A, of B) per quantisation; the output is bf16 for all.
OPERANDS = {
    "none": ("bf16", "bf16"),
    "fp8_w8a8": ("fp8e4nv", "fp8e4nv"),
    "fp8_w8a8_block": ("fp8e4nv", "fp8e4nv"),
    "int8_w8a16": ("bf16", "i8"),
    "int8_w8a8": ("i8", "i8"),
}
_SCALED = ("fp8_w8a8", "fp8_w8a8_block", "int8_w8a16", "int8_w8a8")
# Arguments that are 1 at every launch (the launcher makes them the constant 1).
UNIT_STRIDES = ("stride_ak", "stride_bk", "stride_cn", "stride_ask", "stride_bsk")
NOT_DIVISIBLE = ("stride_asm", "stride_bsn", "EM", "valid_tokens")


@dataclass(frozen=True)
class MoeJob:
    """Everything that decides the compiled kernel (the cache key)."""

    block_m: int
    block_n: int
    block_k: int
    stages: int
    warps: int
    quant: str  # one of moe_kernel.QUANTS
    capability: int
    routed_weight: bool = False  # the second GEMM (w2) multiplies by the routing weight
    top_k: int = 2
    per_channel: bool = False
    even_k: bool = False  # SGLang drops the K mask when BLOCK_SIZE_K divides K
    scale_block: tuple[int, int] = (128, 128)  # block_shape of fp8_w8a8_block
    warp_size: int = 32


def kernel_source_hash() -> str:
    return exact.model_source_hash("moe_kernel.py")


def build_source(job: MoeJob):
    from gpudiag.tiles.moe_kernel import fused_moe_model

    a, b = OPERANDS[job.quant]
    sig: dict[str, str] = dict.fromkeys(fused_moe_model.arg_names, "i32")
    sig.update(
        a_ptr=f"*{a}",
        b_ptr=f"*{b}",
        c_ptr="*bf16",
        a_scale_ptr="*fp32",
        b_scale_ptr="*fp32",
        routed_weight_ptr="*fp32",
        token_ids_ptr="*i32",
        block_expert_ptr="*i32",
        padded_tokens_ptr="*i32",
    )
    import triton.language as tl

    const: dict[str, Any] = {
        "SCALE_BLOCK_N": job.scale_block[0] if job.quant == "fp8_w8a8_block" else 0,
        "SCALE_BLOCK_K": job.scale_block[1] if job.quant == "fp8_w8a8_block" else 0,
        "BLOCK_SIZE_M": job.block_m,
        "BLOCK_SIZE_N": job.block_n,
        "BLOCK_SIZE_K": job.block_k,
        "GROUP_SIZE_M": 8,
        "TOP_K": 1 if job.routed_weight else job.top_k,
        "ROUTED_WEIGHT": job.routed_weight,
        "QUANT": job.quant,
        "PER_CHANNEL": job.per_channel,
        "EVEN_K": job.even_k,
        "OUT_TYPE": tl.bfloat16,
    }
    for n in UNIT_STRIDES:
        const[n] = 1
    if job.quant not in _SCALED:  # no scale tensors: vLLM passes None and strides of 0
        for n in ("a_scale_ptr", "b_scale_ptr", "stride_asm", "stride_bse", "stride_bsn"):
            const[n] = None if n.endswith("ptr") else 0
    if not job.routed_weight:
        const["routed_weight_ptr"] = None
    return exact.model_source(fused_moe_model, sig, const, NOT_DIVISIBLE)


def task_for(job: MoeJob) -> engine.Task:
    return exact.model_task("moe-exact", "moe_kernel.py", job, build_source)


def run(
    jobs: list, parallel: int | None = None, use_cache: bool = True, progress: exact.Progress | None = None
) -> list[exact.ExactResult]:
    """Results in the order of ``jobs`` (``MoeJob``s, or ``block_gemm_exact.GemmJob``s for the dense
    block-quantised GEMM's model); identical jobs compile once, each in an isolated child of the
    compile engine that --exact and --kernel use (its cache, its crash handling, its error summary)."""
    engine.require_triton("--exact")
    exact.require_astsource_api()
    triton_cache = str(files.cache_dir() / "triton") if use_cache else None
    results = engine.run(
        [block_gemm_exact.task_for(j) if isinstance(j, block_gemm_exact.GemmJob) else task_for(j) for j in jobs],
        what="--exact",
        parallel=parallel,
        use_cache=use_cache,
        on_progress=progress,
        triton_cache=triton_cache,
    )
    return [exact.ExactResult.of(r) for r in results]
