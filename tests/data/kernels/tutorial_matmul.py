"""The matmul kernel of Triton's tutorial 03 (``python/tutorials/03-matrix-multiplication.py``), as a
third-party kernel for ``check-tiles --kernel``: the canonical public example of a tuned Triton kernel.

Reproduced from the Triton project (https://github.com/triton-lang/triton), Copyright 2018-2020
Philippe Tillet, Copyright 2020-2022 OpenAI, under the MIT license: "Permission is hereby granted,
free of charge, to any person obtaining a copy of this software and associated documentation files
(the "Software"), to deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the
Software ... The above copyright notice and this permission notice shall be included in all copies
or substantial portions of the Software." The kernel body follows the tutorial; the autotune
decorator is left out (gpudiag compiles each config itself), and ``gpudiag_kernels()`` at the end
is gpudiag's convention for naming the argument types and the configs.
"""

import triton
import triton.language as tl


@triton.jit
def leaky_relu(x):
    return tl.where(x >= 0, x, 0.01 * x)


@triton.jit
def matmul_kernel(
    # Pointers to matrices
    a_ptr,
    b_ptr,
    c_ptr,
    # Matrix dimensions
    M,
    N,
    K,
    # The stride variables represent how much to increase the ptr by when moving by 1
    # element in a particular dimension.
    stride_am,
    stride_ak,
    stride_bk,
    stride_bn,
    stride_cm,
    stride_cn,
    # Meta-parameters
    BLOCK_SIZE_M: tl.constexpr,
    BLOCK_SIZE_N: tl.constexpr,
    BLOCK_SIZE_K: tl.constexpr,
    GROUP_SIZE_M: tl.constexpr,
    ACTIVATION: tl.constexpr,
):
    """Kernel for computing the matmul C = A x B.
    A has shape (M, K), B has shape (K, N) and C has shape (M, N)
    """
    # Map program ids `pid` to the block of C it should compute, in grouped ordering to promote L2 reuse.
    pid = tl.program_id(axis=0)
    num_pid_m = tl.cdiv(M, BLOCK_SIZE_M)
    num_pid_n = tl.cdiv(N, BLOCK_SIZE_N)
    num_pid_in_group = GROUP_SIZE_M * num_pid_n
    group_id = pid // num_pid_in_group
    first_pid_m = group_id * GROUP_SIZE_M
    group_size_m = min(num_pid_m - first_pid_m, GROUP_SIZE_M)
    pid_m = first_pid_m + ((pid % num_pid_in_group) % group_size_m)
    pid_n = (pid % num_pid_in_group) // group_size_m

    # Pointers for the first blocks of A and B, advanced as we move in the K direction.
    offs_am = (pid_m * BLOCK_SIZE_M + tl.arange(0, BLOCK_SIZE_M)) % M
    offs_bn = (pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)) % N
    offs_k = tl.arange(0, BLOCK_SIZE_K)
    a_ptrs = a_ptr + (offs_am[:, None] * stride_am + offs_k[None, :] * stride_ak)
    b_ptrs = b_ptr + (offs_k[:, None] * stride_bk + offs_bn[None, :] * stride_bn)

    # Iterate to compute a block of the C matrix, accumulating in fp32.
    accumulator = tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), dtype=tl.float32)
    for k in range(0, tl.cdiv(K, BLOCK_SIZE_K)):
        # Load the next block of A and B, generate a mask by checking the K dimension.
        a = tl.load(a_ptrs, mask=offs_k[None, :] < K - k * BLOCK_SIZE_K, other=0.0)
        b = tl.load(b_ptrs, mask=offs_k[:, None] < K - k * BLOCK_SIZE_K, other=0.0)
        accumulator = tl.dot(a, b, accumulator)
        a_ptrs += BLOCK_SIZE_K * stride_ak
        b_ptrs += BLOCK_SIZE_K * stride_bk
    # You can fuse arbitrary activation functions here while the accumulator is still in FP32.
    if ACTIVATION == "leaky_relu":
        accumulator = leaky_relu(accumulator)
    c = accumulator.to(tl.float16)

    # Write back the block of the output matrix C with masks.
    offs_cm = pid_m * BLOCK_SIZE_M + tl.arange(0, BLOCK_SIZE_M)
    offs_cn = pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)
    c_ptrs = c_ptr + stride_cm * offs_cm[:, None] + stride_cn * offs_cn[None, :]
    c_mask = (offs_cm[:, None] < M) & (offs_cn[None, :] < N)
    tl.store(c_ptrs, c, mask=c_mask)


def tutorial_configs():
    """The tutorial's CUDA autotune configs (its ``get_cuda_autotune_config``), as plain dicts."""

    def cfg(m, n, k, g, stages, warps):
        return {
            "BLOCK_SIZE_M": m,
            "BLOCK_SIZE_N": n,
            "BLOCK_SIZE_K": k,
            "GROUP_SIZE_M": g,
            "num_stages": stages,
            "num_warps": warps,
        }

    return [
        cfg(128, 256, 64, 8, 3, 8),
        cfg(64, 256, 32, 8, 4, 4),
        cfg(128, 128, 32, 8, 4, 4),
        cfg(128, 64, 32, 8, 4, 4),
        cfg(64, 128, 32, 8, 4, 4),
        cfg(128, 32, 32, 8, 4, 4),
        cfg(64, 32, 32, 8, 5, 2),
        cfg(32, 64, 32, 8, 5, 2),
        # the tutorial's fp8 configs
        cfg(128, 256, 128, 8, 3, 8),
        cfg(256, 128, 128, 8, 3, 8),
        cfg(256, 64, 128, 8, 4, 4),
        cfg(64, 256, 128, 8, 4, 4),
        cfg(128, 128, 128, 8, 4, 4),
        cfg(128, 64, 64, 8, 4, 4),
        cfg(64, 128, 64, 8, 4, 4),
        cfg(128, 32, 64, 8, 4, 4),
    ]


def gpudiag_kernels():
    """gpudiag's convention: the kernel, its argument types (or example arguments), and the configs."""
    return {
        "matmul_kernel": {
            "kernel": matmul_kernel,
            # fp16 A, B and C as the tutorial launches them: 16-byte aligned pointers, unit strides
            # along K for A and along N for B and C (Triton specialises an integer 1 to a constant).
            "signature": {
                "a_ptr": "*fp16",
                "b_ptr": "*fp16",
                "c_ptr": "*fp16",
                "M": "i32",
                "N": "i32",
                "K": "i32",
                "stride_am": "i32",
                "stride_ak": 1,
                "stride_bk": "i32",
                "stride_bn": 1,
                "stride_cm": "i32",
                "stride_cn": 1,
            },
            "constants": {"ACTIVATION": ""},
            "configs": tutorial_configs(),
        }
    }
