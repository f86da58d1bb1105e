"""A mixture-of-experts grouped matmul written for gpudiag's tests and benches: the shape of the
fused-MoE kernels inference engines tune (rows gathered by expert, one expert's weights per block),
in the style of Triton's tutorial matmul. Written for gpudiag; no engine's code is reproduced.

Token slots (token x top-k choice) are sorted by expert and padded so that each block of
``BLOCK_SIZE_M`` sorted slots belongs to one expert; ``block_expert`` names it. Each program
multiplies the gathered activation rows of its block by its expert's weight (N x K, K contiguous)
and writes one output row per slot, scaled by the slot's routing weight when ``APPLY_GATE``.
"""

import triton
import triton.language as tl


@triton.jit
def moe_grouped_matmul(
    x_ptr,  # (tokens, K) activations, K contiguous
    w_ptr,  # (experts, N, K) weights, K contiguous
    out_ptr,  # (tokens * TOP_K, N)
    gate_ptr,  # (tokens * TOP_K,) routing weights
    order_ptr,  # (padded,) slot ids sorted by expert; a padding slot is >= n_slots
    block_expert_ptr,  # (padded / BLOCK_SIZE_M,) the expert of each block of sorted slots
    padded_ptr,  # one int32: the padded length of order
    N,
    K,
    n_slots,
    stride_xt,
    stride_xk,
    stride_we,
    stride_wn,
    stride_wk,
    stride_ot,
    stride_on,
    TOP_K: tl.constexpr,
    APPLY_GATE: tl.constexpr,
    BLOCK_SIZE_M: tl.constexpr,
    BLOCK_SIZE_N: tl.constexpr,
    BLOCK_SIZE_K: tl.constexpr,
    GROUP_SIZE_M: tl.constexpr,
):
    pid = tl.program_id(axis=0)
    padded = tl.load(padded_ptr)
    blocks_m = tl.cdiv(padded, BLOCK_SIZE_M)
    blocks_n = tl.cdiv(N, BLOCK_SIZE_N)
    in_group = GROUP_SIZE_M * blocks_n
    first_m = (pid // in_group) * GROUP_SIZE_M
    group_rows = min(blocks_m - first_m, GROUP_SIZE_M)
    pid_m = first_m + ((pid % in_group) % group_rows)
    pid_n = (pid % in_group) // group_rows
    if pid_m * BLOCK_SIZE_M >= padded:
        return

    rows = pid_m * BLOCK_SIZE_M + tl.arange(0, BLOCK_SIZE_M)
    slots = tl.load(order_ptr + rows)
    live = slots < n_slots
    expert = tl.load(block_expert_ptr + pid_m).to(tl.int64)
    cols = (pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)) % N
    ks = tl.arange(0, BLOCK_SIZE_K)
    x_ptrs = x_ptr + (slots[:, None] // TOP_K) * stride_xt + ks[None, :] * stride_xk
    w_ptrs = w_ptr + expert * stride_we + ks[:, None] * stride_wk + cols[None, :] * stride_wn

    acc = tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), dtype=tl.float32)
    for k in range(0, tl.cdiv(K, BLOCK_SIZE_K)):
        left = K - k * BLOCK_SIZE_K
        a = tl.load(x_ptrs, mask=live[:, None] & (ks[None, :] < left), other=0.0)
        b = tl.load(w_ptrs, mask=ks[:, None] < left, other=0.0)
        acc = tl.dot(a, b, acc)
        x_ptrs += BLOCK_SIZE_K * stride_xk
        w_ptrs += BLOCK_SIZE_K * stride_wk
    if APPLY_GATE:
        gate = tl.load(gate_ptr + slots, mask=live, other=0.0)
        acc = acc * gate[:, None]

    out_cols = pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)
    out_ptrs = out_ptr + slots[:, None] * stride_ot + out_cols[None, :] * stride_on
    tl.store(out_ptrs, acc.to(out_ptr.dtype.element_ty), mask=live[:, None] & (out_cols[None, :] < N))


def tuning_space():
    """A tuning space of the shape inference engines' MoE tuners search on NVIDIA GPUs: every
    combination of these values, 5 x 4 x 3 x 4 x 2 x 4 = 1,920 configs."""
    return {
        "BLOCK_SIZE_M": [16, 32, 64, 128, 256],
        "BLOCK_SIZE_N": [32, 64, 128, 256],
        "BLOCK_SIZE_K": [64, 128, 256],
        "GROUP_SIZE_M": [1, 16, 32, 64],
        "num_warps": [4, 8],
        "num_stages": [2, 3, 4, 5],
    }


def gpudiag_kernels():
    """The bf16 kernel as a serving engine launches it: 16-byte aligned tensors, K contiguous."""
    return {
        "kernel": moe_grouped_matmul,
        "signature": {
            "x_ptr": "*bf16",
            "w_ptr": "*bf16",
            "out_ptr": "*bf16",
            "gate_ptr": "*fp32",
            "order_ptr": "*i32",
            "block_expert_ptr": "*i32",
            "padded_ptr": "*i32",
            "N": "i32",
            "K": "i32",
            "n_slots": "i32",
            "stride_xt": "i32",
            "stride_xk": 1,
            "stride_we": "i32",
            "stride_wn": "i32",
            "stride_wk": 1,
            "stride_ot": "i32",
            "stride_on": 1,
        },
        "constants": {"TOP_K": 2, "APPLY_GATE": True},
        "configs": tuning_space(),
    }
