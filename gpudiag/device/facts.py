"""The device model every subcommand consumes.

``DeviceFacts`` describes one GPU, whether it was probed live (NVML plus the CUDA driver) or read
from the shipped catalogue (``--gpu NAME``). Every value may be ``None`` when nothing could tell us;
``sources`` says where each known value came from and ``unavailable`` why a value is missing, so a
report never passes a guess off as a measurement.

Source labels used in ``sources``:
  ``nvml``            read live through NVML
  ``cuda-driver``     read live through the CUDA driver API (cuDeviceGetAttribute & co.)
  ``catalogue:gpu``   the shipped GPU catalogue row (``catalogue_key``), not measured
  ``catalogue:cc``    the per-compute-capability table (CUDA Programming Guide), not measured
  ``derived``         computed from other fields (the formula is in ``notes`` or the field doc)

A catalogue value also says what evidence stands behind it: ``evidence[field]`` is
``{"kind": "live" | "datasheet" | "third-party" | "derived", "source": i}``, ``i`` indexing
``catalogue_sources`` (``{kind, fields, text, row}``), so "132 SMs" read off a deviceQuery log is told
apart from a number in a review.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

Origin = Literal["live", "catalogue"]


@dataclass
class DeviceState:
    """What the GPU is doing right now; only a live probe has this (all from NVML)."""

    sm_clock_mhz: int | None = None
    sm_clock_max_mhz: int | None = None
    memory_clock_mhz: int | None = None
    memory_clock_max_mhz: int | None = None
    power_draw_w: float | None = None
    power_limit_w: float | None = None
    temperature_c: int | None = None
    utilization_gpu_pct: int | None = None
    utilization_memory_pct: int | None = None
    performance_state: str | None = None  # "P0" .. "P15"
    throttle_reasons: list[str] | None = None  # empty list: not throttled
    ecc_enabled: bool | None = None
    mig_enabled: bool | None = None
    persistence_mode: bool | None = None
    compute_mode: str | None = None  # "Default", "Exclusive_Process", "Prohibited"
    pcie_gen_current: int | None = None
    pcie_gen_max: int | None = None
    pcie_width_current: int | None = None
    pcie_width_max: int | None = None
    unavailable: dict[str, str] = field(default_factory=dict)


@dataclass
class DeviceFacts:
    """One GPU's identity, architecture, kernel-tuning limits and memory."""

    origin: Origin
    name: str
    compute_capability: tuple[int, int]

    # identity (live only, except name)
    index: int | None = None  # CUDA ordinal as this process sees it (after CUDA_VISIBLE_DEVICES)
    nvml_index: int | None = None  # NVML's index, which ignores CUDA_VISIBLE_DEVICES
    uuid: str | None = None
    pci_bus_id: str | None = None
    board_part_number: str | None = None

    # architecture
    arch_name: str | None = None  # "Hopper", "Blackwell", ...
    sm_count: int | None = None
    cuda_cores: int | None = None  # sm_count x FP32 lanes per SM of this compute capability
    warp_size: int | None = None

    # limits kernel tuning depends on
    smem_per_block_bytes: int | None = None  # default static limit (48 KiB everywhere since Kepler)
    smem_per_block_optin_bytes: int | None = None  # cudaDevAttrMaxSharedMemoryPerBlockOptin
    smem_per_sm_bytes: int | None = None  # cudaDevAttrMaxSharedMemoryPerMultiprocessor
    smem_reserved_per_block_bytes: int | None = None  # cudaDevAttrReservedSharedMemoryPerBlock
    regs_per_sm: int | None = None
    regs_per_block: int | None = None
    max_threads_per_sm: int | None = None
    max_threads_per_block: int | None = None
    max_blocks_per_sm: int | None = None
    l2_bytes: int | None = None

    # memory
    memory_total_bytes: int | None = None
    memory_free_bytes: int | None = None
    memory_used_bytes: int | None = None
    memory_bus_width_bits: int | None = None
    memory_clock_max_mhz: int | None = None
    memory_bandwidth_bytes_per_s: int | None = None  # theoretical peak

    # published performance (catalogue only: nothing live measures it)
    bf16_dense_tflops: float | None = None

    state: DeviceState | None = None

    catalogue_key: str | None = None  # the catalogue row this came from or was matched to
    catalogue_sources: list[dict[str, Any]] = field(default_factory=list)  # {kind, fields, text, row}
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)  # catalogue value -> {kind, source}
    notes: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)

    @property
    def sm(self) -> str:
        """Compute capability as the compilers spell it: ``sm_90``, ``sm_121``."""
        major, minor = self.compute_capability
        return f"sm_{major}{minor}"

    @property
    def cc(self) -> str:
        major, minor = self.compute_capability
        return f"{major}.{minor}"

    @property
    def is_live(self) -> bool:
        return self.origin == "live"

    def set(self, name: str, value: Any, source: str) -> None:
        """Record a value with where it came from; ``None`` values are ignored."""
        if value is None:
            return
        setattr(self, name, value)
        self.sources[name] = source
        self.unavailable.pop(name, None)
        self.evidence.pop(name, None)  # a catalogue caller cites its source after setting

    def missing(self, name: str, reason: str) -> None:
        """Record why a field has no value (kept only while it has none)."""
        if getattr(self, name) is None:
            self.unavailable.setdefault(name, reason)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["compute_capability"] = self.cc
        data["sm"] = self.sm
        return data


@dataclass
class SoftwareStack:
    """The host's driver and the Python packages kernel tuning depends on.

    Versions come from package metadata and the driver libraries; nothing here imports torch.
    """

    gpudiag_version: str
    python_version: str
    driver_version: str | None = None  # e.g. "580.159.04"
    cuda_driver_version: str | None = None  # highest CUDA the driver supports, e.g. "13.0"
    nvml_version: str | None = None
    torch_version: str | None = None  # "2.11.0+cu130"
    torch_cuda_version: str | None = None  # CUDA torch was built with, "13.0"; None for CPU builds
    torch_hip_version: str | None = None
    triton_version: str | None = None
    unavailable: dict[str, str] = field(default_factory=dict)


@dataclass
class Verdict:
    """A yes/no answer for a torch.compile user, with the one line of why."""

    id: str
    question: str
    answer: Literal["yes", "no", "unknown"]
    why: str
    rule: str | None = None  # where the rule comes from (file/function/version)
