"""gpudiag's own model of the fused-MoE Triton kernel that vLLM's and SGLang's config tables tune.

The fused-MoE kernel is a grouped matmul over gathered rows: each program takes BLOCK_M entries of a
token list sorted by expert (padded to a multiple of BLOCK_M), gathers those rows of the activations
A [tokens, K], multiplies them by one expert's weights B [experts, N, K] (K contiguous), and writes
the rows of C [tokens * top_k, N] back where the token list says. What decides its shared memory is
the same as for a plain matmul, and this kernel has all of it: the gathered A tile and the expert's
B tile loaded each K step and fed to ``tl.dot`` (the pipeliner's ring buffers), the accumulator
converted to the output type and stored through gathered row pointers (the epilogue's layout
conversion), and the quantised variants' scales:

  QUANT = "none"          bf16/fp16 activations and weights (a table with no dtype in its name)
          "fp8_w8a8"      fp8e4m3 activations and weights, one scale each per tensor (or per token
                          and channel), applied after the loop; ``dot(a, b, acc)``
          "fp8_w8a8_block" the same with block-wise scales (``block_shape=[bn,bk]`` in the file
                          name): per K step, a scale per row and per column block multiply the
                          step's product before it is added
          "int8_w8a16"    bf16 activations, int8 weights converted to bf16 before the dot, one scale
                          per output channel applied after the loop
          "int8_w8a8"     int8 activations and weights, an int32 product added per K step, scales
                          per token and per channel after the loop

It is written here, for gpudiag, to be compiled by ``--exact`` and by the ground-truth script
(bench/tiles/moe_ground_truth.py); the argument specialisation a real launch gets is in
``tiles/moe_exact.py``.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def fused_moe_model(
    a_ptr,
    b_ptr,
    c_ptr,
    a_scale_ptr,
    b_scale_ptr,
    routed_weight_ptr,
    token_ids_ptr,
    block_expert_ptr,
    padded_tokens_ptr,
    N,
    K,
    EM,
    valid_tokens,
    stride_am,
    stride_ak,
    stride_be,
    stride_bk,
    stride_bn,
    stride_cm,
    stride_cn,
    stride_asm,
    stride_ask,
    stride_bse,
    stride_bsk,
    stride_bsn,
    SCALE_BLOCK_N: tl.constexpr,
    SCALE_BLOCK_K: tl.constexpr,
    BLOCK_SIZE_M: tl.constexpr,
    BLOCK_SIZE_N: tl.constexpr,
    BLOCK_SIZE_K: tl.constexpr,
    GROUP_SIZE_M: tl.constexpr,
    TOP_K: tl.constexpr,
    ROUTED_WEIGHT: tl.constexpr,
    QUANT: tl.constexpr,
    PER_CHANNEL: tl.constexpr,
    EVEN_K: tl.constexpr,
    OUT_TYPE: tl.constexpr,
):
    # Which output tile: rows of the sorted token list, grouped so neighbours share B in L2.
    pid = tl.program_id(0)
    tiles_m = tl.cdiv(EM, BLOCK_SIZE_M)
    tiles_n = tl.cdiv(N, BLOCK_SIZE_N)
    per_group = GROUP_SIZE_M * tiles_n
    first_m = (pid // per_group) * GROUP_SIZE_M
    rows_in_group = min(tiles_m - first_m, GROUP_SIZE_M)
    tile_m = first_m + (pid % per_group) % rows_in_group
    tile_n = (pid % per_group) // rows_in_group

    if tile_m * BLOCK_SIZE_M >= tl.load(padded_tokens_ptr):
        return
    slot = tile_m * BLOCK_SIZE_M + tl.arange(0, BLOCK_SIZE_M).to(tl.int64)
    token = tl.load(token_ids_ptr + slot)
    live = token < valid_tokens
    col = tile_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)
    expert = tl.load(block_expert_ptr + tile_m).to(tl.int64)
    if expert == -1:  # an expert of another rank: this tile of C is zero
        zero = tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), dtype=OUT_TYPE)
        tl.store(
            c_ptr + token[:, None] * stride_cm + col[None, :] * stride_cn,
            zero,
            mask=live[:, None] & (col[None, :] < N),
        )
        return

    wcol = (tile_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N).to(tl.int64)) % N
    kk = tl.arange(0, BLOCK_SIZE_K)
    row = token // TOP_K  # the activation row a (token, choice) pair reads
    a_at = a_ptr + row[:, None] * stride_am + kk[None, :] * stride_ak
    b_at = b_ptr + expert * stride_be + kk[:, None] * stride_bk + wcol[None, :] * stride_bn

    if QUANT == "int8_w8a16":
        w_scale = tl.load(b_scale_ptr + expert * stride_bse + wcol[None, :] * stride_bsn)
    if QUANT == "fp8_w8a8_block":
        a_scale_at = a_scale_ptr + row * stride_asm
        b_scale_at = b_scale_ptr + expert * stride_bse + (wcol // SCALE_BLOCK_N) * stride_bsn
    if (QUANT == "fp8_w8a8" or QUANT == "int8_w8a8") and PER_CHANNEL:
        w_scale = tl.load(b_scale_ptr + expert * stride_bse + wcol[None, :] * stride_bsn)
        t_scale = tl.load(a_scale_ptr + row * stride_asm, mask=live, other=0.0)[:, None]
    elif QUANT == "fp8_w8a8" or QUANT == "int8_w8a8":
        t_scale = tl.load(a_scale_ptr)
        w_scale = tl.load(b_scale_ptr + expert)

    acc = tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), dtype=tl.float32)
    for step in range(0, tl.cdiv(K, BLOCK_SIZE_K)):
        k_left = K - step * BLOCK_SIZE_K
        if EVEN_K:
            a = tl.load(a_at, mask=live[:, None], other=0.0)
            b = tl.load(b_at)
        else:
            a = tl.load(a_at, mask=live[:, None] & (kk[None, :] < k_left), other=0.0)
            b = tl.load(b_at, mask=kk[:, None] < k_left, other=0.0)
        if QUANT == "int8_w8a16":
            acc = tl.dot(a, b.to(OUT_TYPE), acc=acc)
        elif QUANT == "fp8_w8a8":
            acc = tl.dot(a, b, acc=acc)
        elif QUANT == "fp8_w8a8_block":
            ks = (step * BLOCK_SIZE_K) // SCALE_BLOCK_K
            sa = tl.load(a_scale_at + ks * stride_ask, mask=live, other=0.0)
            sb = tl.load(b_scale_at + ks * stride_bsk)
            acc += tl.dot(a, b) * sa[:, None] * sb[None, :]
        else:  # "none", "int8_w8a8": the product added to the accumulator
            acc += tl.dot(a, b)
        a_at += BLOCK_SIZE_K * stride_ak
        b_at += BLOCK_SIZE_K * stride_bk

    if ROUTED_WEIGHT:
        acc = acc * tl.load(routed_weight_ptr + token, mask=live, other=0)[:, None]
    if QUANT == "int8_w8a16":
        acc = acc * w_scale
    if QUANT == "fp8_w8a8" or QUANT == "int8_w8a8":
        acc = acc * t_scale * w_scale
    out = acc.to(OUT_TYPE)
    tl.store(
        c_ptr + token[:, None] * stride_cm + col[None, :] * stride_cn,
        out,
        mask=live[:, None] & (col[None, :] < N),
    )


QUANTS = ("none", "fp8_w8a8", "fp8_w8a8_block", "int8_w8a16", "int8_w8a8")
