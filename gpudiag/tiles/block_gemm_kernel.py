"""gpudiag's own model of the dense block-quantised GEMM that vLLM's and SGLang's
``N=..,K=..,device_name=..,dtype=..,block_shape=[bn,bk].json`` tables tune (vLLM's
``_w8a8_block_fp8_matmul`` / ``_w8a8_block_int8_matmul``, SGLang's equivalents).

It is a plain tiled matmul with grouped program ordering: A [M, K] (K contiguous), B [N, K] (K
contiguous, read as a BLOCK_K x BLOCK_N tile: K-major), C [M, N] bf16. Every K step loads, besides
the A and B tiles, one scale per row of A (As [M, K / group_k], fp32) and one per column of B (Bs
[N / group_n, K / group_k], fp32, one per column block) and multiplies the step's product by both
before adding it to the fp32 accumulator:

  QUANT = "fp8"   fp8e4m3 A and B, ``dot(a, b)`` in fp32
          "int8"  int8 A and B, ``dot(a, b)`` in int32, converted to fp32 before the scales

Written here, from the algorithm, to be compiled by ``--exact`` (``block_gemm_exact.py`` gives it
the argument specialisation a real launch gets).
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def block_scaled_gemm_model(
    a_ptr,
    b_ptr,
    c_ptr,
    a_scale_ptr,
    b_scale_ptr,
    M,
    N,
    K,
    group_n,
    group_k,
    stride_am,
    stride_ak,
    stride_bk,
    stride_bn,
    stride_cm,
    stride_cn,
    stride_asm,
    stride_ask,
    stride_bsk,
    stride_bsn,
    BLOCK_SIZE_M: tl.constexpr,
    BLOCK_SIZE_N: tl.constexpr,
    BLOCK_SIZE_K: tl.constexpr,
    GROUP_SIZE_M: tl.constexpr,
    QUANT: tl.constexpr,
    OUT_TYPE: tl.constexpr,
):
    # Which output tile: grouped so that neighbouring programs share B's columns in L2.
    pid = tl.program_id(0)
    tiles_m = tl.cdiv(M, BLOCK_SIZE_M)
    tiles_n = tl.cdiv(N, BLOCK_SIZE_N)
    per_group = GROUP_SIZE_M * tiles_n
    first_m = (pid // per_group) * GROUP_SIZE_M
    rows_in_group = min(tiles_m - first_m, GROUP_SIZE_M)
    tile_m = first_m + (pid % per_group) % rows_in_group
    tile_n = (pid % per_group) // rows_in_group

    rows = (tile_m * BLOCK_SIZE_M + tl.arange(0, BLOCK_SIZE_M)) % M  # wrapped: loads need no row mask
    cols = (tile_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)) % N
    kk = tl.arange(0, BLOCK_SIZE_K)
    a_at = a_ptr + rows[:, None] * stride_am + kk[None, :] * stride_ak
    b_at = b_ptr + kk[:, None] * stride_bk + cols[None, :] * stride_bn
    sa_at = a_scale_ptr + rows * stride_asm
    sb_at = b_scale_ptr + (cols // group_n) * stride_bsn

    acc = tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), dtype=tl.float32)
    for step in range(0, tl.cdiv(K, BLOCK_SIZE_K)):
        k_left = K - step * BLOCK_SIZE_K
        a = tl.load(a_at, mask=kk[None, :] < k_left, other=0.0)
        b = tl.load(b_at, mask=kk[:, None] < k_left, other=0.0)
        ks = (step * BLOCK_SIZE_K) // group_k
        sa = tl.load(sa_at + ks * stride_ask)
        sb = tl.load(sb_at + ks * stride_bsk)
        if QUANT == "int8":
            acc += tl.dot(a, b).to(tl.float32) * sa[:, None] * sb[None, :]
        else:
            acc += tl.dot(a, b) * sa[:, None] * sb[None, :]
        a_at += BLOCK_SIZE_K * stride_ak
        b_at += BLOCK_SIZE_K * stride_bk

    out = acc.to(OUT_TYPE)
    out_rows = tile_m * BLOCK_SIZE_M + tl.arange(0, BLOCK_SIZE_M)
    out_cols = tile_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)
    tl.store(
        c_ptr + out_rows[:, None] * stride_cm + out_cols[None, :] * stride_cn,
        out,
        mask=(out_rows[:, None] < M) & (out_cols[None, :] < N),
    )


QUANTS = ("fp8", "int8")
