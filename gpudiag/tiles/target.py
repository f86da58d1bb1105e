"""The GPU a tile check is about: resolved once, from ``--gpu``, ``--arch``, ``--index``, the live
GPU or a bare ``--smem-limit``, with every limit the check needs and where it came from."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

from gpudiag.device.facts import DeviceFacts
from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles.occupancy import Occupancy, SmResources, occupancy


@dataclass(frozen=True)
class Target:
    name: str
    sm: str | None  # "sm_90"; None for a bare --smem-limit
    capability: int | None  # 90 for sm_90
    limit_bytes: int  # per-block shared memory a kernel may opt in to
    limit_source: str
    sm_count: int | None
    sm_count_source: str | None
    origin: str  # "live", "catalogue", "--smem-limit"
    resources: SmResources | None = None  # None: the SM's limits are unknown, so is occupancy

    def occupancy(
        self, threads: int, smem_bytes: int, regs_per_thread: int | None, regs_lower_bound: int | None = None
    ) -> Occupancy | None:
        """Blocks of a kernel per SM of this target (the driver's rule); None without SM limits."""
        if self.resources is None:
            return None
        return _occupancy(self.resources, threads, smem_bytes, regs_per_thread, regs_lower_bound)

    def to_dict(self) -> dict[str, Any]:
        r = self.resources
        return {
            "name": self.name,
            "sm": self.sm,
            "capability": self.capability,
            "limit_bytes": self.limit_bytes,
            "limit_source": self.limit_source,
            "sm_count": self.sm_count,
            "sm_count_source": self.sm_count_source,
            "origin": self.origin,
            "sm_resources": None
            if r is None
            else {
                "smem_per_sm_bytes": r.smem_per_sm,
                "smem_reserved_per_block_bytes": r.smem_reserved_per_block,
                "regs_per_sm": r.regs_per_sm,
                "regs_per_block": r.regs_per_block,
                "max_threads_per_sm": r.max_threads_per_sm,
                "max_threads_per_block": r.max_threads_per_block,
                "max_blocks_per_sm": r.max_blocks_per_sm,
            },
        }


@functools.lru_cache(maxsize=65536)
def _occupancy(
    resources: SmResources, threads: int, smem_bytes: int, regs: int | None, regs_lower_bound: int | None
) -> Occupancy:
    return occupancy(
        resources, threads=threads, smem_bytes=smem_bytes, regs_per_thread=regs, regs_lower_bound=regs_lower_bound
    )


def validate_selectors(
    gpu: str | None, arch: str | None, index: int | None, smem_limit: int | None, sms: int | None
) -> None:
    """Reject contradictory or impossible target options before any GPU or catalogue is consulted
    (the device policy's words: gpudiag.device.selection)."""
    from gpudiag.device import selection

    selection.select(gpu, arch, index, smem_limit)
    if sms is not None and sms <= 0:
        raise GpudiagError(f"--sms must be a positive SM count, got {sms}", EXIT_USAGE)


def resolve_target(
    gpu: str | None = None,
    arch: str | None = None,
    index: int | None = None,
    smem_limit: int | None = None,
    sms: int | None = None,
) -> Target:
    """The one target of a check. A bare ``--smem-limit`` names no architecture; otherwise the
    catalogue (``--gpu``/``--arch``) or the live GPU gives the limits, ``--smem-limit`` and
    ``--sms`` overriding theirs."""
    from gpudiag.device import selection

    validate_selectors(gpu, arch, index, smem_limit, sms)
    sel = selection.select(gpu, arch, index, smem_limit)
    if sel.wants_live and index is None and smem_limit is not None:
        return Target(
            f"{smem_limit:,} B limit",
            None,
            None,
            smem_limit,
            "--smem-limit",
            sms,
            "--sms" if sms else None,
            "--smem-limit",
        )
    facts = selection.resolve_one(sel, instead=("--gpu NAME", "--arch SM", "--smem-limit BYTES"))
    return target_from_facts(facts, smem_limit, sms)


def target_from_facts(facts: DeviceFacts, smem_limit: int | None = None, sms: int | None = None) -> Target:
    limit = smem_limit if smem_limit is not None else facts.smem_per_block_optin_bytes
    if limit is None:
        raise GpudiagError(
            f"{facts.name}: its per-block shared-memory limit is unknown; give --smem-limit BYTES", EXIT_USAGE
        )
    source = (
        "--smem-limit"
        if smem_limit is not None
        else (
            f"cudaDevAttrMaxSharedMemoryPerBlockOptin ({facts.sources.get('smem_per_block_optin_bytes', facts.origin)})"
        )
    )
    major, minor = facts.compute_capability
    try:
        resources = SmResources.for_device(facts)
    except GpudiagError:
        resources = None  # occupancy is then reported as unknown, the shared-memory check still stands
    if resources is not None and smem_limit is not None:
        resources = dataclasses.replace(resources, smem_per_block_optin=smem_limit)
    count = sms if sms is not None else facts.sm_count
    count_source = "--sms" if sms is not None else (facts.sources.get("sm_count", facts.origin) if count else None)
    return Target(facts.name, facts.sm, major * 10 + minor, limit, source, count, count_source, facts.origin, resources)
