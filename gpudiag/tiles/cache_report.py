"""``check-tiles --from-triton-cache``: every kernel of a Triton cache, recompiled for every target.

For each kernel x target cell: the shared memory, registers and spills the installed Triton builds
for that target (``recompile.py``), whether the kernel fits the target's per-block shared memory
and by how much, blocks per SM and what limits them (``occupancy.py``), or why the compiler would
not build it there. One report type, ``CacheCheckReport``, owns the JSON.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from gpudiag.device.facts import DeviceFacts
from gpudiag.tiles import recompile as rc
from gpudiag.tiles.occupancy import Occupancy, SmResources, occupancy
from gpudiag.tiles.triton_cache import CachedKernel, TritonCache

SCHEMA = "gpudiag.check-tiles-cache/1"
# Tensor-memory columns per SM on the GPUs that have it: Triton's own check before a launch
# (CompiledKernel._init_handles, triton/compiler/compiler.py; 576 on sm_107, not catalogued here).
TMEM_COLUMNS = 512

# A cell's answer. "unknown" is not a yes: the exit status is 1 unless every cell launches.
STATUSES = ("launches", "does-not-fit", "cannot-launch", "cannot-compile", "unknown")


@dataclass(frozen=True)
class CacheTarget:
    """One GPU or architecture to check against, under the name the user gave it."""

    label: str
    facts: DeviceFacts
    sm: SmResources

    @classmethod
    def of(cls, label: str, facts: DeviceFacts) -> CacheTarget:
        return cls(label, facts, SmResources.for_device(facts))  # raises when a limit is unknown

    @property
    def capability(self) -> int:
        major, minor = self.facts.compute_capability
        return major * 10 + minor

    @property
    def limit_bytes(self) -> int:
        return self.sm.smem_per_block_optin

    def to_dict(self) -> dict[str, Any]:
        f = self.facts
        return {
            "label": self.label,
            "name": f.name,
            "sm": f.sm,
            "origin": f.origin,
            "catalogue_key": f.catalogue_key,
            "sm_count": f.sm_count,
            "smem_per_block_optin_bytes": f.smem_per_block_optin_bytes,
            "smem_per_sm_bytes": f.smem_per_sm_bytes,
            "regs_per_sm": f.regs_per_sm,
            "max_threads_per_sm": f.max_threads_per_sm,
            "limits_source": f.sources.get("smem_per_block_optin_bytes"),
        }


@dataclass
class Cell:
    """One kernel on one target."""

    target: str  # CacheTarget.label
    status: str  # one of STATUSES
    compiled: rc.CompiledResources
    limit_bytes: int
    margin_bytes: int | None = None  # limit - shared memory; negative: over by that much
    occupancy: Occupancy | None = None
    reason: str | None = None  # why it does not launch, one line
    matches_recorded: bool | None = None  # on the cache's own target: same shared memory as recorded

    @property
    def margin_pct(self) -> float | None:
        return None if self.margin_bytes is None else 100.0 * self.margin_bytes / self.limit_bytes

    def to_dict(self) -> dict[str, Any]:
        c = self.compiled
        return {
            "target": self.target,
            "status": self.status,
            "reason": self.reason,
            "shared_bytes": c.shared_bytes,
            "limit_bytes": self.limit_bytes,
            "margin_bytes": self.margin_bytes,
            "margin_pct": None if self.margin_pct is None else round(self.margin_pct, 2),
            "regs_per_thread": c.regs_per_thread,
            "spills": c.spills,
            "local_bytes": c.local_bytes,
            "num_warps": c.num_warps,
            "tmem_columns": c.tmem_columns,
            "regs_source": c.regs_source,
            "occupancy": self.occupancy.to_dict() if self.occupancy else None,
            "matches_recorded": self.matches_recorded,
            "failure": c.failure,
            "compiler_output": c.compiler_output,
            "cached": c.cached,
            "compile_s": round(c.compile_s, 3),
        }


@dataclass
class KernelRow:
    kernel: CachedKernel
    cells: list[Cell]

    def to_dict(self) -> dict[str, Any]:
        return {**self.kernel.to_dict(), "cells": [c.to_dict() for c in self.cells]}


@dataclass
class KernelGroup:
    """A kernel's name and its compiled configs (an autotuned kernel has one per config)."""

    name: str
    rows: list[KernelRow]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "configs": [r.to_dict() for r in self.rows]}


@dataclass
class TargetSummary:
    target: str
    counts: dict[str, int]  # status -> cells

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, **{s.replace("-", "_"): self.counts.get(s, 0) for s in STATUSES}}


@dataclass
class CacheCheckReport:
    cache: TritonCache
    targets: list[CacheTarget]
    groups: list[KernelGroup]
    triton_installed: str
    jobs: int
    compiled: int  # cells compiled now
    cached: int  # cells answered from gpudiag's cache
    wall_s: float
    notes: list[str] = field(default_factory=list)

    @property
    def cells(self) -> list[Cell]:
        return [c for g in self.groups for r in g.rows for c in r.cells]

    @property
    def all_launch(self) -> bool:
        return all(c.status == "launches" for c in self.cells)

    @property
    def exit_code(self) -> int:
        """1 when any cell does not launch or could not be checked, else 0."""
        return 0 if self.all_launch else 1

    @property
    def version_differs(self) -> bool:
        return any(v != self.triton_installed for v in self.cache.triton_versions)

    def summaries(self) -> list[TargetSummary]:
        out = []
        for t in self.targets:
            counts: dict[str, int] = {}
            for c in self.cells:
                if c.target == t.label:
                    counts[c.status] = counts.get(c.status, 0) + 1
            out.append(TargetSummary(t.label, counts))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "cache": self.cache.to_dict(),
            "triton": {
                "installed": self.triton_installed,
                "cache_written_by": self.cache.triton_versions,
                "differs": self.version_differs,
            },
            "targets": [t.to_dict() for t in self.targets],
            "groups": [g.to_dict() for g in self.groups],
            "summary": [s.to_dict() for s in self.summaries()],
            "all_launch": self.all_launch,
            "compile": {
                "jobs": self.jobs,
                "compiled": self.compiled,
                "cached": self.cached,
                "wall_s": round(self.wall_s, 3),
            },
            "notes": self.notes,
        }


def _cell(kernel: CachedKernel, target: CacheTarget, res: rc.CompiledResources, installed: str) -> Cell:
    cell = Cell(target=target.label, status="unknown", compiled=res, limit_bytes=target.limit_bytes)
    if res.failure == "parse":
        by = f" (written by Triton {kernel.triton_version})" if kernel.triton_version not in (None, installed) else ""
        cell.reason = f"Triton {installed} cannot read this kernel's IR{by}: {res.reason}"
        return cell
    if res.failure == "environment":
        cell.reason = f"not checked: {res.reason}"
        return cell
    if res.failure == "compile":
        cell.status, cell.reason = "cannot-compile", f"cannot run there: {res.reason}"
        return cell
    shared = res.shared_bytes or 0
    cell.margin_bytes = target.limit_bytes - shared
    if target.capability == kernel.recorded_capability and kernel.recorded_shared is not None:
        cell.matches_recorded = shared == kernel.recorded_shared
    warps = res.num_warps or kernel.num_warps
    cell.occupancy = occupancy(
        target.sm, threads=warps * target.sm.warp_size, smem_bytes=shared, regs_per_thread=res.regs_per_thread
    )
    if cell.margin_bytes < 0:
        cell.status = "does-not-fit"
        cell.reason = (
            f"out of resource: shared memory, needs {shared:,} B > {target.limit_bytes:,} B per block "
            f"({-cell.margin_bytes:,} B over)"
        )
    elif res.tmem_columns and res.tmem_columns > TMEM_COLUMNS:
        cell.status = "cannot-launch"
        cell.reason = f"out of resource: tensor memory, {res.tmem_columns} columns > {TMEM_COLUMNS}"
    elif cell.occupancy.cannot_launch:
        cell.status, cell.reason = "cannot-launch", cell.occupancy.cannot_launch
    else:
        cell.status = "launches"
    return cell


def _job(kernel: CachedKernel, target: CacheTarget) -> rc.RecompileJob:
    return rc.RecompileJob(
        ttir_path=str(kernel.ttir_path),
        ttir_sha256=kernel.ttir_sha256,
        name=kernel.name,
        options=tuple(sorted(kernel.options.items())),
        capability=target.capability,
        warp_size=kernel.recorded_warp_size,
    )


def _notes(report: CacheCheckReport) -> list[str]:
    installed = report.triton_installed
    notes = []
    if report.version_differs:
        written = ", ".join(report.cache.triton_versions)
        notes.append(
            f"the cache was written by Triton {written} and the installed Triton is {installed}: every number is "
            f"what {installed} builds from the cached IR. Its pipeliner, layouts and ptxas can allocate differently "
            f"from {written}, so the kernels as {written} builds them may differ; IR {installed} cannot read is "
            f"marked unknown. For {written}'s own numbers, run gpudiag where Triton {written} is installed"
        )
    own = [c for g in report.groups for r in g.rows for c in r.cells if c.matches_recorded is not None]
    if own:
        same = sum(bool(c.matches_recorded) for c in own)
        notes.append(
            f"on the cache's own target, {same} of {len(own)} recompiled kernels use the shared memory "
            "their cache metadata records"
        )
    notes += [
        "each kernel is recompiled as cached: the configs inductor or the autotuner chose on the GPU that ran the "
        "workload. On another GPU they may choose others (inductor and autotuners prune and pick per device); "
        "these rows say whether these exact kernels build and launch there",
        "the IR was produced by Triton's front end for the cache's target; from the ttir stage on, the whole "
        "pipeline (TMA rewrite before sm_90, layouts, software pipelining, ptxas) runs for each target",
        "fits = shared memory <= the target's per-block opt-in limit, Triton's check before a launch "
        "(OutOfResources); registers and spills: cuobjdump -res-usage on the compiled cubin; blocks per SM: the "
        "CUDA occupancy calculator (tiles/occupancy.py) with those registers",
    ]
    return notes


def check_cache(
    cache: TritonCache,
    targets: list[CacheTarget],
    parallel: int | None = None,
    use_cache: bool = True,
    on_progress: rc.Progress | None = None,
) -> CacheCheckReport:
    """Recompile every kernel of ``cache`` for every target and judge each cell."""
    t0 = time.perf_counter()
    pairs = [(k, t) for k in cache.kernels for t in targets]
    jobs = [_job(k, t) for k, t in pairs]
    results = rc.recompile(jobs, parallel=parallel, use_cache=use_cache, on_progress=on_progress)
    installed = rc.triton_version() or "?"
    cells = [_cell(k, t, r, installed) for (k, t), r in zip(pairs, results)]
    n = len(targets)
    groups: dict[str, KernelGroup] = {}
    for i, kernel in enumerate(cache.kernels):  # sorted by name, then config
        groups.setdefault(kernel.name, KernelGroup(kernel.name, [])).rows.append(
            KernelRow(kernel, cells[i * n : (i + 1) * n])
        )
    unique = dict(zip(jobs, results))
    compiled = sum(not r.cached for r in unique.values())
    report = CacheCheckReport(
        cache=cache,
        targets=targets,
        groups=list(groups.values()),
        triton_installed=installed,
        jobs=parallel or rc.default_jobs(),
        compiled=compiled,
        cached=len(unique) - compiled,
        wall_s=time.perf_counter() - t0,
    )
    report.notes = _notes(report)
    return report
