"""Which ``input_precision`` a ``tl.dot`` on 32-bit float operands runs with, and where that comes from.

Triton's ``tl.dot`` (triton/language/core.py, 3.6 to 3.9) picks it when the kernel passes none::

    input_precision = knobs.language.fp32_default or ("tf32" if allow_tf32 in (True, None) else "ieee")

``knobs.language.fp32_default`` is the ``TRITON_F32_DEFAULT`` environment variable, so it wins even
over ``allow_tf32=False`` (inductor's templates pass ``allow_tf32=ALLOW_TF32``). On NVIDIA GPUs the
allowed values are ``CUDAOptions.allowed_dot_input_precisions``: tf32, tf32x3, ieee, bf16x3, bf16x6.
``--dtype fp32`` is the kernel that passes nothing (so tf32 unless the environment says otherwise);
``--dtype fp32-ieee`` and ``--dtype tf32`` are kernels that pass ``input_precision`` explicitly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles.dtypes import DType

ENV = "TRITON_F32_DEFAULT"
# CUDAOptions.allowed_dot_input_precisions (triton/backends/nvidia/compiler.py, 3.6 to 3.9)
ALLOWED = ("tf32", "tf32x3", "ieee", "bf16x3", "bf16x6")
# What the estimate models: tf32 (tensor cores, as any 16-bit dot) and ieee (FMA). The split
# precisions (tf32x3, bf16x3, bf16x6) decompose the dot into several in registers, which allocates
# differently: --exact compiles them.
MODELLED = ("tf32", "ieee")
TRITON_DEFAULT = "tf32"  # CUDAOptions.default_dot_input_precision


@dataclass(frozen=True)
class Precision:
    value: str  # "tf32", "ieee", ...
    source: str  # why: "tl.dot's default for fp32", "TRITON_F32_DEFAULT=ieee", "--dtype fp32-ieee", ...

    @property
    def modelled(self) -> bool:
        return self.value in MODELLED


def is_f32(dt: DType) -> bool:
    """32-bit floating-point operands, the only ones whose dot precision is a choice."""
    return dt.bits == 32 and dt.triton == "fp32"


def f32_default(allow_tf32: bool | None = None) -> Precision:
    """tl.dot's choice for fp32 operands when the kernel passes no ``input_precision``;
    ``allow_tf32`` as the kernel passes it (inductor's templates: ALLOW_TF32), None when it does not."""
    env = os.environ.get(ENV)
    if env:
        value = env.strip().lower()
        if value not in ALLOWED:
            raise GpudiagError(
                f"{ENV}={env!r} is not a precision Triton accepts on NVIDIA GPUs: one of {', '.join(ALLOWED)} "
                "(tl.dot would fail on it)",
                EXIT_USAGE,
            )
        return Precision(value, f"{ENV}={env} in the environment (tl.dot's default for fp32 operands)")
    if allow_tf32 is False:
        return Precision("ieee", "allow_tf32=False in tl.dot")
    return Precision(TRITON_DEFAULT, f"tl.dot's default for fp32 operands ({ENV} unset)")


def dot_precision(a: DType, b: DType | None = None, allow_tf32: bool | None = None) -> Precision | None:
    """The precision ``tl.dot`` runs these operands at; None when the operands are not 32-bit floats
    (16-bit, 8-bit and integer dots have no choice)."""
    b = b or a
    if not (is_f32(a) or is_f32(b)):
        return None
    explicit = a.dot_precision or b.dot_precision
    if explicit:
        named = a if a.dot_precision else b
        return Precision(explicit, f"--dtype {named.name}: input_precision='{explicit}' passed to tl.dot")
    return f32_default(allow_tf32)
