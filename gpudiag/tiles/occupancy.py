"""How many blocks of a kernel fit on one SM, and what stops more: the CUDA occupancy calculator.

This is the driver's own rule (``cuOccupancyMaxActiveBlocksPerMultiprocessor``), as NVIDIA
publishes it in ``cuda_occupancy.h``, not an approximation of it:

- registers are handed out per warp, ``regs/thread x 32`` rounded up to 256, from a register file
  split evenly across the SM's 4 sub-partitions, so warps are counted per sub-partition
  (1 warp at 96 registers: 3,072 per warp, 5 warps per 16,384-register sub-partition, 20 blocks
  on sm_90, not 65,536 / 3,072 = 21);
- a block may not launch at all when its registers, counted as if its warps filled every
  sub-partition evenly (the hardware's check), exceed the per-block limit ("too many resources
  requested for launch");
- shared memory per block is the kernel's static plus dynamic bytes plus the driver's per-block
  reservation (1 KiB since Ampere), rounded up to the allocation unit (128 B since Ampere);
- warps and blocks per SM cap the rest.

Without the kernel's registers (no compile), a lower bound on them (``registers.py``: the
accumulator's) still bounds the blocks per SM from above; it never makes a block unlaunchable,
since ptxas caps a Triton kernel's registers at what lets one block launch (and spills the rest).

The granularities come from ``data/occupancy.toml``; every other number from the device.
``tests/data/h200_occupancy_ground_truth.json`` holds the driver's answers on an H200 that the
tests replay through this module.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.files import load_toml

LIMITS = ("smem", "regs", "warps", "blocks")


@functools.lru_cache(maxsize=1)
def _rules() -> dict[str, Any]:
    return load_toml("gpudiag.tiles", "data/occupancy.toml")


def _granularities(major: int) -> dict[str, int]:
    rules = sorted(_rules()["rule"], key=lambda r: r["min_major"])
    applicable = [r for r in rules if r["min_major"] <= major]
    if not applicable:
        raise GpudiagError(
            f"occupancy is modelled from compute capability {rules[0]['min_major']}.0 on; this target is {major}.x",
            EXIT_USAGE,
        )
    return {k: v for k, v in applicable[-1].items() if k != "min_major"}


@dataclass(frozen=True)
class SmResources:
    """What one SM offers and how it hands it out."""

    regs_per_sm: int
    regs_per_block: int
    max_threads_per_sm: int
    max_threads_per_block: int
    max_blocks_per_sm: int
    smem_per_sm: int
    smem_per_block_optin: int
    smem_reserved_per_block: int
    warp_size: int
    reg_alloc_unit: int
    sub_partitions: int
    smem_alloc_unit: int
    max_regs_per_thread: int

    @classmethod
    def for_device(cls, facts: Any) -> SmResources:
        """From ``DeviceFacts`` (live, catalogue or per-architecture); raises if a limit is unknown."""
        needed = {
            "regs_per_sm": facts.regs_per_sm,
            "regs_per_block": facts.regs_per_block,
            "max_threads_per_sm": facts.max_threads_per_sm,
            "max_threads_per_block": facts.max_threads_per_block,
            "max_blocks_per_sm": facts.max_blocks_per_sm,
            "smem_per_sm": facts.smem_per_sm_bytes,
            "smem_per_block_optin": facts.smem_per_block_optin_bytes,
            "smem_reserved_per_block": facts.smem_reserved_per_block_bytes,
            "warp_size": facts.warp_size,
        }
        missing = sorted(k for k, v in needed.items() if v is None)
        if missing:
            raise GpudiagError(
                f"occupancy needs {', '.join(missing)} for {facts.name}, and the target does not give them", EXIT_USAGE
            )
        return cls(**needed, **_granularities(facts.compute_capability[0]))


def _round_up(x: int, unit: int) -> int:
    return -(-x // unit) * unit


@dataclass(frozen=True)
class Occupancy:
    """Blocks of one kernel resident on one SM, each limit, and whether a block can launch at all."""

    threads_per_block: int
    warps_per_block: int
    smem_per_block: int  # what one block takes from the SM: static + dynamic + reserved, rounded up
    regs_per_thread: int | None  # None: unknown (no --exact, no --regs); the register limit is then not applied
    regs_per_block: int | None  # allocated: per-warp rounding times warps
    by_smem: int
    by_regs: int | None
    by_warps: int
    by_blocks: int
    blocks_per_sm: int  # the smallest known limit; an upper bound while registers are unknown
    limiters: tuple[str, ...]  # each limit equal to blocks_per_sm, in LIMITS order
    active_warps: int
    max_warps: int
    cannot_launch: str | None = None  # the reason no block of this kernel can run, as the driver would refuse
    regs_lower_bound: int | None = None  # registers unknown: the bound by_regs was computed from

    @property
    def occupancy(self) -> float:
        """Theoretical occupancy: resident warps over the SM's warp slots."""
        return self.active_warps / self.max_warps if self.max_warps else 0.0

    @property
    def registers_known(self) -> bool:
        return self.regs_per_thread is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "threads_per_block": self.threads_per_block,
            "warps_per_block": self.warps_per_block,
            "smem_per_block": self.smem_per_block,
            "regs_per_thread": self.regs_per_thread,
            "regs_per_block": self.regs_per_block,
            "blocks_per_sm_by": {
                "smem": self.by_smem,
                "regs": self.by_regs,
                "warps": self.by_warps,
                "blocks": self.by_blocks,
            },
            "blocks_per_sm": self.blocks_per_sm,
            "limiters": list(self.limiters),
            "registers_known": self.registers_known,
            "regs_lower_bound": self.regs_lower_bound,
            "active_warps": self.active_warps,
            "max_warps": self.max_warps,
            "occupancy": round(self.occupancy, 4),
            "cannot_launch": self.cannot_launch,
        }


def occupancy(
    sm: SmResources,
    *,
    threads: int,
    smem_bytes: int,
    regs_per_thread: int | None,
    static_smem_bytes: int = 0,
    regs_lower_bound: int | None = None,
) -> Occupancy:
    """Blocks per SM for ``threads`` threads, ``smem_bytes`` of dynamic shared memory (Triton's
    ``metadata.shared``; Triton and CUTLASS kernels opt in above 48 KiB) plus ``static_smem_bytes``,
    and ``regs_per_thread`` registers (None when unknown; then ``regs_lower_bound``, if given, bounds
    the blocks per SM from above)."""
    if threads <= 0:
        raise GpudiagError(f"a block needs at least one thread, not {threads}", EXIT_USAGE)
    if smem_bytes < 0 or static_smem_bytes < 0:
        raise GpudiagError("shared memory cannot be negative", EXIT_USAGE)
    if regs_per_thread is not None and regs_per_thread < 0:
        raise GpudiagError(f"registers per thread cannot be negative, not {regs_per_thread}", EXIT_USAGE)
    reasons: list[str] = []
    warps = -(-threads // sm.warp_size)
    max_warps = sm.max_threads_per_sm // sm.warp_size

    if threads > sm.max_threads_per_block:
        reasons.append(f"{threads:,} threads per block > {sm.max_threads_per_block:,}")
        by_warps = 0
    else:
        by_warps = max_warps // warps

    smem = _round_up(static_smem_bytes + smem_bytes + sm.smem_reserved_per_block, sm.smem_alloc_unit)
    if smem > sm.smem_per_block_optin + sm.smem_reserved_per_block:
        reasons.append(
            f"out of resource: shared memory, {static_smem_bytes + smem_bytes:,} B > "
            f"{sm.smem_per_block_optin:,} B per block (opt-in)"
        )
        by_smem = 0
    else:
        by_smem = sm.smem_per_sm // smem

    by_regs: int | None = None
    regs_block: int | None = None
    if regs_per_thread is not None:
        per_warp = _round_up(regs_per_thread * sm.warp_size, sm.reg_alloc_unit)
        regs_block = per_warp * warps
        # The hardware checks a block as if its warps were spread over every sub-partition.
        assumed = per_warp * _round_up(warps, sm.sub_partitions)
        if regs_per_thread > sm.max_regs_per_thread:
            reasons.append(f"{regs_per_thread} registers per thread > {sm.max_regs_per_thread}")
            by_regs = 0
        elif max(assumed, regs_block) > sm.regs_per_block:
            reasons.append(
                f"too many resources requested for launch: {regs_per_thread} registers x "
                f"{threads:,} threads needs {max(assumed, regs_block):,} registers > "
                f"{sm.regs_per_block:,} per block"
            )
            by_regs = 0
        elif per_warp == 0:
            by_regs = sm.max_blocks_per_sm
        else:
            by_regs = _blocks_by_regs(sm, per_warp, warps)
    elif regs_lower_bound:
        # at least this many registers: at most this many blocks (never "cannot launch": ptxas caps them)
        by_regs = max(1, _blocks_by_regs(sm, _round_up(regs_lower_bound * sm.warp_size, sm.reg_alloc_unit), warps))

    limits = {"smem": by_smem, "regs": by_regs, "warps": by_warps, "blocks": sm.max_blocks_per_sm}
    blocks = min(v for v in limits.values() if v is not None)
    return Occupancy(
        threads_per_block=threads,
        warps_per_block=warps,
        smem_per_block=smem,
        regs_per_thread=regs_per_thread,
        regs_per_block=regs_block,
        by_smem=by_smem,
        by_regs=by_regs,
        by_warps=by_warps,
        by_blocks=sm.max_blocks_per_sm,
        blocks_per_sm=blocks,
        limiters=tuple(k for k in LIMITS if limits[k] == blocks),
        active_warps=blocks * warps,
        max_warps=max_warps,
        cannot_launch="; ".join(reasons) or None,
        regs_lower_bound=regs_lower_bound if regs_per_thread is None else None,
    )


def _blocks_by_regs(sm: SmResources, per_warp: int, warps: int) -> int:
    warps_per_partition = (sm.regs_per_sm // sm.sub_partitions) // per_warp
    return (warps_per_partition * sm.sub_partitions) // warps
