"""The shared device model: ``DeviceFacts`` from a live probe or the offline catalogue.

Subcommands call ``resolve_target`` and never talk to NVML or the driver themselves.
"""

from __future__ import annotations

from gpudiag.device.catalog import facts_from_cc, lookup, parse_cc
from gpudiag.device.facts import DeviceFacts, DeviceState, SoftwareStack, Verdict
from gpudiag.device.probe import probe as probe_devices
from gpudiag.device.probe import software_stack
from gpudiag.errors import DeviceUnavailable

__all__ = [
    "DeviceFacts",
    "DeviceState",
    "SoftwareStack",
    "Verdict",
    "live_or_none",
    "lookup",
    "probe_devices",
    "resolve_target",
    "software_stack",
]


def resolve_target(
    gpu: str | None = None, index: int | None = None, arch: str | None = None, nvml_only: bool = False
) -> DeviceFacts:
    """The one GPU a subcommand should reason about.

    ``gpu`` (a catalogue name) or ``arch`` (``sm_90``) need no live device; otherwise the live GPU
    at CUDA ordinal ``index`` (default 0). Raises ``GpudiagError``/``DeviceUnavailable`` (exit 2).
    """
    if gpu:
        return lookup(gpu)
    if arch:
        return facts_from_cc(parse_cc(arch))
    devices, _ = probe_devices(index if index is not None else 0, nvml_only=nvml_only)
    return devices[0]


def live_or_none(index: int | None = None, nvml_only: bool = False) -> tuple[DeviceFacts | None, str | None]:
    """The live GPU, or (None, why) where there is none: for commands that still answer without one."""
    try:
        return resolve_target(index=index, nvml_only=nvml_only), None
    except DeviceUnavailable as exc:
        return None, exc.message
