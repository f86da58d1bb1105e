"""The shared device model: ``DeviceFacts`` from a live probe or the offline catalogue.

selection   which GPU a command talks about: --gpu, --arch, --index, the live GPU, --smem-limit
            (the one policy, and the one wording of every mistake)
facts       DeviceFacts, DeviceState, SoftwareStack, Verdict: what a GPU is, whatever told us
probe       the live GPU(s): NVML (nvml) and the CUDA driver through ctypes (cudadrv)
catalog     the shipped catalogue (data/gpus.toml, data/compute_capabilities.toml) as rows and DeviceFacts
lookup      --gpu NAME: the row a name people type means, scored by names
arch        what an architecture can do (data/arch_features.toml); verdicts: torch.compile's questions

Commands never talk to NVML or the driver themselves. Importing this package is cheap: the probe
and the catalogue load when first asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gpudiag.device.facts import DeviceFacts, DeviceState, SoftwareStack, Verdict

__all__ = ["DeviceFacts", "DeviceState", "SoftwareStack", "Verdict", "live_or_none", "resolve_target"]


def __getattr__(name: str) -> Any:
    """The model's classes, imported on first use: the prefetch threads (gpudiag.device.prefetch)
    start before anything else of the package loads."""
    if name in ("DeviceFacts", "DeviceState", "SoftwareStack", "Verdict"):
        from gpudiag.device import facts

        return getattr(facts, name)
    raise AttributeError(f"module 'gpudiag.device' has no attribute {name!r}")


def resolve_target(
    gpu: str | None = None, index: int | None = None, arch: str | None = None, nvml_only: bool = False
) -> DeviceFacts:
    """The one GPU a single-GPU command reasons about (``selection.resolve_one``)."""
    from gpudiag.device import selection

    return selection.resolve_one(selection.select(gpu, arch, index), nvml_only=nvml_only)


def live_or_none(index: int | None = None, nvml_only: bool = False) -> tuple[DeviceFacts | None, str | None]:
    """The live GPU, or (None, why) where there is none: for commands that still answer without one."""
    from gpudiag.device import selection

    return selection.live(index, nvml_only=nvml_only)
