"""The device a bake-off measures on: ``--device`` resolved (``auto``: the GPU when one is visible,
else the CPU) before any child starts, and the GPU facts its report needs, with whether inductor's
is_big_gpu gate turns off max-autotune's GEMM templates there.
"""

from __future__ import annotations

from typing import Any

from gpudiag.bakeoff.results import RunDevice
from gpudiag.errors import EXIT_USAGE, GpudiagError


def resolve_device(requested: str) -> tuple[str, RunDevice]:
    """``auto`` -> cuda when a GPU is visible, else cpu; ``cuda`` without a GPU is an error (exit 2)."""
    if requested == "cpu":
        return "cpu", RunDevice("cpu")
    from gpudiag.device import live_or_none

    facts, why = live_or_none(0)
    if facts is None:
        if requested == "cuda":
            raise GpudiagError(f"--device cuda: no usable GPU ({why}); use --device cpu", EXIT_USAGE)
        return "cpu", RunDevice("cpu", note=f"no GPU ({why}); measuring on the CPU")
    return "cuda", device_summary(facts)


def device_summary(facts: Any) -> RunDevice:
    """The GPU facts a report needs, and whether inductor's is_big_gpu gate turns off GEMM templates."""
    from gpudiag.installed.sm_gate import installed_sm_gate

    gate = installed_sm_gate()
    return RunDevice(
        kind="cuda",
        name=facts.name,
        sm=facts.sm,
        sm_count=facts.sm_count,
        origin=str(facts.origin) if facts.origin is not None else None,
        memory_total_bytes=getattr(facts, "memory_total_bytes", None),
        is_big_gpu_min_sms=gate.cuda_min_sms,
        is_big_gpu_source=gate.where,
        gemm_templates_disabled=gate.disables_templates(facts.sm_count),
    )
