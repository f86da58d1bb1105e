"""``check-tiles`` as data: one verdict per config and the report that owns its JSON
(schema ``gpudiag.check-tiles/2``, docs/schemas/check-tiles.schema.json)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from gpudiag.tiles.estimate import SmemEstimate
from gpudiag.tiles.occupancy import Occupancy
from gpudiag.tiles.registers import RegisterBound
from gpudiag.tiles.target import Target
from gpudiag.tiles.waves import Shape, WaveReport

SCHEMA = "gpudiag.check-tiles/2"
MAX_REGS_PER_THREAD = 255  # CUDA Programming Guide, "Maximum number of 32-bit registers per thread"

# A verdict's status, worst first: what decides the exit code and the order of the summary.
CANNOT_COMPILE = "cannot-compile"  # Triton rejects the config (or the compile failed) for this target
DOES_NOT_FIT = "does-not-fit"  # shared memory over the per-block limit
CANNOT_LAUNCH = "cannot-launch"  # fits shared memory, but the driver refuses it (registers, threads)
UNKNOWN = "unknown"  # a lower bound that fits (CUTLASS without the epilogue's storage)
FITS = "fits"
STATUSES = (CANNOT_COMPILE, DOES_NOT_FIT, CANNOT_LAUNCH, UNKNOWN, FITS)


@dataclass
class ExactInfo:
    shared_bytes: int | None
    regs_per_thread: int | None
    spills: int | None
    error: str | None  # the compiler's whole message
    error_summary: str | None  # the same in one line
    cached: bool
    compile_s: float


@dataclass
class CutlassInfo:
    family: str
    family_capacity_bytes: int
    kernel_carveout_bytes: int
    epilogue_carveout_bytes: int
    stage_bytes: int
    a_tile_bytes: int
    b_tile_bytes: int
    sfa_bytes: int
    sfb_bytes: int
    barrier_bytes: int
    auto_stages: int
    auto_stages_launch_bytes: int | None
    auto_stages_fit: bool | None
    stage_table: list[dict[str, Any]]  # [{"stages": s, "bytes": n, "fits": bool|None, "margin_bytes": m}]


@dataclass
class TileVerdict:
    spec: str  # as given
    where: str  # "argument 2", "tiles.csv:4", "script.py:12"
    group: str | None  # kernel (--from-script) or inductor set
    a_dtype: str
    b_dtype: str
    block_m: int
    block_n: int
    block_k: int  # elements (a "64B" K is converted with A's element size)
    stages: int  # as given, or the default that was assumed
    warps: int | None
    method: str  # "estimate", "exact", "cutlass-model"
    status: str = FITS
    needed_bytes: int | None = None
    estimate_bytes: int | None = None
    margin_bytes: int | None = None
    margin_pct: float | None = None
    fits: bool | None = None  # shared memory <= the per-block limit; None: not known
    largest_stages_that_fit: int | None = None
    largest_stages_source: str | None = None  # "estimate", "compiler", "cutlass-model"
    a_layout: str | None = None
    b_layout: str | None = None
    smem: SmemEstimate | None = None  # the estimate's breakdown (Triton model)
    occupancy: Occupancy | None = None
    registers_source: str | None = None  # "compiler", "--regs"; None: registers unknown
    cannot_compile: str | None = None
    exact: ExactInfo | None = None
    cutlass: CutlassInfo | None = None
    waves: WaveReport | None = None
    problems: list[str] = field(default_factory=list)
    input_precision: str | None = None  # tl.dot's input_precision for fp32 operands (tf32, ieee, ...)
    input_precision_source: str | None = None
    registers_bound: RegisterBound | None = None  # registers unknown: the accumulator's lower bound

    @property
    def dtype_label(self) -> str:
        """``fp16``, ``fp16xfp8e4m3``; an fp32 dot with its precision: ``fp32 (tf32)``."""
        d = self.a_dtype if self.a_dtype == self.b_dtype else f"{self.a_dtype}x{self.b_dtype}"
        if self.input_precision and self.input_precision not in self.a_dtype:
            d += f" ({self.input_precision})"
        return d

    @property
    def spills_likely(self) -> bool | None:
        """Whether the kernel spills: the compiler's count, else the accumulator's bound, else unknown."""
        if self.exact is not None and self.exact.spills is not None:
            return self.exact.spills > 0
        if self.registers_bound is not None:
            return self.registers_bound.spills_likely
        return None

    @property
    def display_spec(self) -> str:
        """The config as given, with the stage count and warps used filled in where left out."""
        spec = self.spec.split("@")[0].split(":")[0]
        spec += f":{self.stages}"
        return spec + (f"@{self.warps}" if self.warps else "")

    @property
    def cannot_launch(self) -> str | None:
        return self.occupancy.cannot_launch if self.occupancy is not None else None

    def renamed(self, spec: str, where: str, group: str | None) -> TileVerdict:
        """The same verdict for a repeat of this config elsewhere in the input (its numbers are shared)."""
        twin = object.__new__(TileVerdict)
        twin.__dict__.update(self.__dict__)
        twin.spec, twin.where, twin.group, twin.problems = spec, where, group, list(self.problems)
        return twin

    def to_dict(self, memo: dict[int, Any] | None = None) -> dict[str, Any]:
        """``memo`` shares the dicts of objects repeats share (one per distinct config, not per line)."""
        memo = {} if memo is None else memo

        def shared(obj: Any, make) -> Any:
            if obj is None:
                return None
            d = memo.get(id(obj))
            if d is None:
                d = memo[id(obj)] = (obj, make(obj))  # keep obj alive so its id stays its own
            return d[1]

        return {
            "spec": self.spec,
            "where": self.where,
            "group": self.group,
            "a_dtype": self.a_dtype,
            "b_dtype": self.b_dtype,
            "a_layout": self.a_layout,
            "b_layout": self.b_layout,
            "block_m": self.block_m,
            "block_n": self.block_n,
            "block_k": self.block_k,
            "stages": self.stages,
            "warps": self.warps,
            "method": self.method,
            "status": self.status,
            "needed_bytes": self.needed_bytes,
            "estimate_bytes": self.estimate_bytes,
            "margin_bytes": self.margin_bytes,
            "margin_pct": self.margin_pct,
            "fits": self.fits,
            "largest_stages_that_fit": self.largest_stages_that_fit,
            "largest_stages_source": self.largest_stages_source,
            "smem": shared(self.smem, asdict),
            "occupancy": shared(self.occupancy, Occupancy.to_dict),
            "registers_source": self.registers_source,
            "cannot_compile": self.cannot_compile,
            "cannot_launch": self.cannot_launch,
            "exact": None if self.exact is None else asdict(self.exact),
            "cutlass": shared(self.cutlass, asdict),
            "waves": shared(self.waves, WaveReport.to_dict),
            "problems": self.problems,
            "input_precision": self.input_precision,
            "registers_bound": shared(self.registers_bound, RegisterBound.to_dict),
        }


def resident_work(v: TileVerdict) -> tuple:
    """How much a fitting config keeps busy: output elements resident per SM (blocks per SM x BM x BN,
    blocks per SM bounded by registers too: the compiler's, or at least the accumulator's), then
    resident warps, wave efficiency and headroom; configs that spill (or, uncompiled, whose
    accumulator leaves no room in the registers a thread can have) come last. Tiny tiles fill every
    warp slot but do little each."""
    occ = v.occupancy
    eff = v.waves.with_occupancy.efficiency if v.waves is not None and v.waves.with_occupancy else 0.0
    spills = v.spills_likely
    if spills is None:
        spills = v.warps is not None and v.block_m * v.block_n > MAX_REGS_PER_THREAD * 32 * v.warps
    fits_registers = not spills
    return (
        fits_registers,
        (occ.blocks_per_sm if occ else 1) * v.block_m * v.block_n,
        occ.active_warps if occ else 0,
        eff,
        v.margin_bytes or 0,
    )


@dataclass
class CheckReport:
    target: Target
    model: str
    exact: bool
    verdicts: list[TileVerdict]
    notes: list[str]
    sources: list[str]
    registers: str  # "compiler" (--exact), "--regs N", "unknown"
    inductor: dict[str, Any] | None = None
    script: dict[str, Any] | None = None
    triton_version: str | None = None
    shape: Shape | None = None
    groups: int = 1
    explain: list[str] = field(default_factory=list)  # how the numbers are computed (--explain)
    precisions: list[dict[str, str]] = field(default_factory=list)  # fp32 dots: input_precision and why

    def dtype_labels(self) -> list[str]:
        """The distinct operand types of the verdicts (``TileVerdict.dtype_label``), sorted."""
        seen: dict[tuple, TileVerdict] = {}
        for v in self.verdicts:
            seen.setdefault((v.a_dtype, v.b_dtype, v.input_precision), v)
        return sorted({v.dtype_label for v in seen.values()})

    def count(self, status: str) -> int:
        return sum(1 for v in self.verdicts if v.status == status)

    @property
    def fit_count(self) -> int:
        return self.count(FITS)

    @property
    def all_fit(self) -> bool:
        return all(v.status == FITS for v in self.verdicts)

    @property
    def exit_code(self) -> int:
        """1 when any config does not fit, cannot launch or cannot compile (the CI gate), else 0."""
        return 0 if self.all_fit else 1

    def failures(self) -> list[TileVerdict]:
        """Every config that is not a clean fit, worst status first, in input order within one."""
        return sorted((v for v in self.verdicts if v.status != FITS), key=lambda v: STATUSES.index(v.status))

    def best_fits(self, n: int) -> list[TileVerdict]:
        """The ``n`` distinct fitting configs that keep the most output resident per SM (``resident_work``)."""
        distinct: dict[tuple[str, str, str], TileVerdict] = {}
        for v in self.verdicts:
            if v.status == FITS:
                distinct.setdefault((v.display_spec, v.a_dtype, v.b_dtype), v)
        return sorted(distinct.values(), key=resident_work, reverse=True)[:n]

    def summary(self) -> dict[str, Any]:
        counts = {s.replace("-", "_"): self.count(s) for s in STATUSES}
        return {"total": len(self.verdicts), **counts, "all_fit": self.all_fit}

    def to_dict(self, with_verdicts: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "schema": SCHEMA,
            "target": self.target.to_dict(),
            "model": self.model,
            "exact": self.exact,
            "registers": self.registers,
            "triton_version": self.triton_version,
            "shape": None if self.shape is None else self.shape.to_dict(),
            "groups": self.groups,
            "inductor": self.inductor,
            "script": self.script,
            "summary": self.summary(),
            "notes": self.notes,
            "explain": self.explain,
            "input_precisions": self.precisions,
            "sources": self.sources,
        }
        if with_verdicts:
            memo: dict[int, Any] = {}
            d["verdicts"] = [v.to_dict(memo) for v in self.verdicts]
        return d

    def json_chunks(self) -> Iterator[str]:
        """The same document as ``to_dict`` as text, one verdict at a time: 100,000 verdicts are never
        all in memory as dicts at once."""
        head = json.dumps(self.to_dict(with_verdicts=False), indent=2)
        yield head[:-2] + ',\n  "verdicts": ['
        memo: dict[int, Any] = {}
        encode = json.JSONEncoder(separators=(", ", ": ")).encode
        for i, v in enumerate(self.verdicts):
            yield ("," if i else "") + "\n    " + encode(v.to_dict(memo))
        yield "\n  ]\n}\n"
