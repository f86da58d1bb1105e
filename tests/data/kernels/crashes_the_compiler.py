"""A kernel one of whose configs crashes Triton's compiler process, for gpudiag's pre-screen tests.

With ``FAST_SQRT`` the kernel calls an x86 intrinsic (``llvm.x86.sse.sqrt.ss``) through
``extern_elementwise``: nothing stops it in Triton's front end or its MLIR passes, and LLVM's NVPTX
lowering then fails an assertion (``cast<Ty>() argument of incompatible type``) and aborts the whole
process (SIGABRT) with Triton 3.9's wheels, the way a compiler bug kills a tuning run that compiles in
its own process. Without it the kernel is an ordinary row-wise square root. ``BLOCK`` not a power of
two is refused by Triton's front end (an ordinary compile error, for comparison).
"""

import triton
import triton.language as tl
from triton.language import core


@core.extern
def x86_sqrt(arg0, _semantic=None):
    return core.extern_elementwise(
        "",
        "",
        [arg0],
        {(core.dtype("fp32"),): ("llvm.x86.sse.sqrt.ss", core.dtype("fp32"))},
        is_pure=True,
        _semantic=_semantic,
    )


@triton.jit
def row_sqrt(x_ptr, y_ptr, n, BLOCK: tl.constexpr, FAST_SQRT: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs, mask=offs < n, other=0.0)
    if FAST_SQRT:
        y = x86_sqrt(x)
    else:
        y = tl.sqrt(x)
    tl.store(y_ptr + offs, y, mask=offs < n)


def gpudiag_kernels():
    return {
        "kernel": row_sqrt,
        "signature": {"x_ptr": "*fp32", "y_ptr": "*fp32", "n": "i32"},
        "configs": [
            {"BLOCK": 256, "FAST_SQRT": False, "num_warps": 4},
            {"BLOCK": 256, "FAST_SQRT": True, "num_warps": 4},
            {"BLOCK": 96, "FAST_SQRT": False, "num_warps": 4},
            {"BLOCK": 1024, "FAST_SQRT": False, "num_warps": 8},
        ],
    }
