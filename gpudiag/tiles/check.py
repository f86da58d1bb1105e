"""``check-tiles``' core: a request in, one report out. Resolves the target once, checks each
distinct config (shared memory, largest stage count, occupancy, waves) and returns a
``CheckReport``. The request and its configs are ``request.py``, the compiles and the stage search
of ``--exact`` are ``stage_search.py``, the notes ``notes.py``. Never prints; raises ``GpudiagError``."""

from __future__ import annotations

from dataclasses import dataclass

from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles import estimate as est
from gpudiag.tiles import exact as exact_mod
from gpudiag.tiles import precision as prec
from gpudiag.tiles.dtypes import DType, lookup
from gpudiag.tiles.notes import CUTLASS_NOTES, TRITON_NOTES, UNNAMED_TARGET_FAMILIES, notes_for
from gpudiag.tiles.parse import TileConfig
from gpudiag.tiles.registers import accumulator_bound
from gpudiag.tiles.report import (
    CANNOT_COMPILE,
    CANNOT_LAUNCH,
    DOES_NOT_FIT,
    FITS,
    UNKNOWN,
    CheckReport,
    CutlassInfo,
    TileVerdict,
)
from gpudiag.tiles.request import CheckRequest, collect_configs, validate
from gpudiag.tiles.stage_search import Progress, apply_exact
from gpudiag.tiles.target import Target, resolve_target
from gpudiag.tiles.waves import Shape, waves

__all__ = [
    "CUTLASS_NOTES",
    "TRITON_NOTES",
    "UNNAMED_TARGET_FAMILIES",
    "CheckRequest",
    "Progress",
    "check",
    "check_tiles",
    "collect_configs",
    "validate",
]


def check_tiles(req: CheckRequest, progress: Progress | None = None) -> CheckReport:
    """The whole command: validate, gather, resolve the target once, check."""
    shape = validate(req)
    configs, inductor_info, script_info = collect_configs(req, shape)
    target = resolve_target(req.gpu, req.arch, req.index, req.smem_limit, req.sms)
    report = check(configs, target, req, shape, progress)
    report.inductor, report.script = inductor_info, script_info
    return report


@dataclass
class _Item:
    verdict: TileVerdict
    tile: est.MatmulTile | None = None  # Triton model only
    any_target_problem: bool = False  # no compiler builds it for any GPU (a power of two, K too small)


class _Context:
    """What every config of one check shares: the request, the target, and the Triton whose rules
    apply (the installed one, looked up only when a rule depends on it)."""

    def __init__(self, req: CheckRequest, target: Target) -> None:
        self.req, self.target = req, target
        self._triton: tuple[str | None] | None = None

    @property
    def triton_version(self) -> str | None:
        if self._triton is None:
            self._triton = (exact_mod.triton_version(),)
        return self._triton[0]


def check(
    configs: list[TileConfig],
    target: Target,
    req: CheckRequest,
    shape: Shape | None = None,
    progress: Progress | None = None,
) -> CheckReport:
    if shape is not None and not target.sm_count:
        raise GpudiagError(
            f"--shape needs the target's SM count, which {target.name} does not give: "
            "add --sms N or use --gpu NAME / a live GPU",
            EXIT_USAGE,
        )
    triton = req.model == "triton"
    if triton and target.capability is not None and target.capability not in est.MODELLED and not req.exact:
        modelled = ", ".join(f"sm_{c}" for c in est.MODELLED)
        raise GpudiagError(
            f"the Triton estimate models {modelled} (the architectures Triton emits tensor-core "
            f"code for); for {target.sm} use --exact",
            EXIT_USAGE,
        )
    if req.exact and target.capability is None:
        raise GpudiagError(
            "--exact needs an architecture to compile for: give --arch sm_XY or --gpu NAME "
            "(--smem-limit alone names none)",
            EXIT_USAGE,
        )

    ctx = _Context(req, target)
    # Configs repeat (a 100,000-line file has a few thousand distinct ones): each distinct config is
    # checked once and its verdict copied for the others, with their own name and place.
    distinct: dict[tuple, _Item] = {}
    keys: list[tuple] = []
    types: dict[str | None, tuple[DType, DType, DType]] = {}  # per-config dtype -> (A, B, output)
    defaults_assumed = 0
    for n, cfg in enumerate(configs):
        key = (cfg.block_m, cfg.block_n, cfg.block_k, cfg.stages, cfg.warps, cfg.k_in_bytes, cfg.dtype, cfg.precision)
        keys.append(key)
        if cfg.stages is None or (cfg.warps is None and triton):
            defaults_assumed += 1
        item = distinct.get(key)
        if item is None:
            if cfg.dtype not in types:
                a = lookup(cfg.dtype or req.dtype or "fp16")
                b = lookup(req.b_dtype) if (req.b_dtype and not cfg.dtype) else a
                types[cfg.dtype] = (a, b, lookup(a.out) if a.out else a)
            a, b, out = types[cfg.dtype]
            item = distinct[key] = _triton_item(cfg, a, b, out, ctx) if triton else _cutlass_item(cfg, a, b, ctx)
        if item.any_target_problem and cfg.where.startswith("argument"):
            compiler = "Triton" if triton else "CUTLASS"
            raise GpudiagError(
                f"tile '{cfg.spec()}' ({cfg.where}): {compiler} cannot compile it: {item.verdict.cannot_compile}",
                EXIT_USAGE,
            )
        if progress is not None and n % 5000 == 4999:
            progress("checking", n + 1, len(configs))
    items = list(distinct.values())
    if req.exact:
        apply_exact(
            [(it.tile, it.verdict) for it in items if it.tile is not None], target, req.jobs, req.use_cache, progress
        )
    for it in items:
        _finish(it, ctx, shape)
    verdicts = []
    for cfg, key in zip(configs, keys):
        v = distinct[key].verdict
        if v.where != cfg.where or v.group != cfg.group:  # a repeat of the config elsewhere: same numbers
            v = v.renamed(cfg.spec(), cfg.where, cfg.group)
        verdicts.append(v)
    if progress is not None:
        progress("checking", len(configs), len(configs))
    version = exact_mod.triton_version() if req.exact else None
    notes = notes_for(verdicts, target, req, shape, defaults_assumed, version)
    return CheckReport(
        target,
        req.model,
        req.exact,
        verdicts,
        notes.applicable,
        notes.sources,
        registers=("compiler" if req.exact else f"--regs {req.regs}" if req.regs else "unknown"),
        triton_version=version,
        shape=shape,
        groups=req.groups,
        explain=notes.explain,
        precisions=_precisions(items),
    )


def _precisions(items: list[_Item]) -> list[dict[str, str]]:
    """Each distinct (precision, why) of the fp32 dots, for the header and the JSON."""
    seen: dict[tuple[str, str], None] = {}
    for it in items:
        v = it.verdict
        if v.input_precision:
            seen.setdefault((v.input_precision, v.input_precision_source or ""), None)
    return [{"input_precision": p, "source": s} for p, s in seen]


def _block_k_elements(cfg: TileConfig, a: DType) -> int:
    if not cfg.k_in_bytes:
        return cfg.block_k
    elems, rem = divmod(cfg.block_k * 8, a.bits)
    if rem:
        raise GpudiagError(
            f"tile '{cfg.spec()}': {cfg.block_k} bytes of K is not a whole number of {a.name} elements", EXIT_USAGE
        )
    return elems


def _margin(needed: int, limit: int) -> tuple[int, float]:
    m = limit - needed
    return m, round(100.0 * m / limit, 2) if limit else 0.0


def _estimate(tile: est.MatmulTile, target: Target) -> tuple[est.SmemEstimate, int]:
    """The estimate and the largest stage count it allows; without an architecture, the largest of
    the families' estimates."""
    if target.capability is not None:
        return (
            est.triton_smem(tile, target.capability),
            est.largest_stages_that_fit(tile, target.capability, target.limit_bytes),
        )
    pairs = [
        (est.triton_smem(tile, cc), est.largest_stages_that_fit(tile, cc, target.limit_bytes))
        for cc in UNNAMED_TARGET_FAMILIES
    ]
    return max(pairs, key=lambda p: p[0].needed_bytes)[0], min(p[1] for p in pairs)


def _verdict(cfg: TileConfig, a: DType, b: DType, bk: int, stages: int, warps: int | None, method: str) -> TileVerdict:
    return TileVerdict(
        cfg.spec(), cfg.where, cfg.group, a.name, b.name, cfg.block_m, cfg.block_n, bk, stages, warps, method
    )


def _precision(cfg: TileConfig, a: DType, b: DType) -> prec.Precision | None:
    if cfg.precision is not None:  # the source said (inductor's ALLOW_TF32, TRITON_F32_DEFAULT applied)
        return prec.Precision(cfg.precision, "inductor's tl.dot(allow_tf32=ALLOW_TF32)")
    return prec.dot_precision(a, b)


def _triton_item(cfg: TileConfig, a: DType, b: DType, out: DType, ctx: _Context) -> _Item:
    req, target = ctx.req, ctx.target
    bk = _block_k_elements(cfg, a)
    stages = cfg.stages or exact_mod.DEFAULT_STAGES
    warps = cfg.warps or exact_mod.DEFAULT_WARPS
    a_layout, b_layout = exact_mod.layouts_for(a, b, req.a_layout, req.b_layout)
    v = _verdict(cfg, a, b, bk, stages, warps, "exact" if req.exact else "estimate")
    v.a_layout, v.b_layout = a_layout, b_layout
    p = _precision(cfg, a, b)
    if p is not None:
        v.input_precision, v.input_precision_source = p.value, p.source
        if not p.modelled and not req.exact:
            raise GpudiagError(
                f"fp32 dots at input_precision {p.value} ({p.source}) are not modelled by the estimate, which "
                f"knows tf32 and ieee: add --exact to compile them, or give --dtype tf32 or --dtype fp32-ieee",
                EXIT_USAGE,
            )
    tile = est.MatmulTile(
        cfg.block_m, cfg.block_n, bk, stages, warps, a, b, out, a_layout, b_layout, p.value if p else None
    )
    # The smallest K for 32-bit operands depends on the Triton (8 from 3.8 on): the installed one decides.
    version = ctx.triton_version if max(a.bits, b.bits) == 32 and bk < est.MIN_DOT_K else None
    problem = est.tile_problem(tile, version)
    anywhere = problem is not None
    problem = problem or (est.target_problem(tile, target.capability) if target.capability else None)
    if problem is not None:
        v.status, v.fits, v.cannot_compile = CANNOT_COMPILE, False, problem
        return _Item(v, None, anywhere)
    if (target.capability is None or target.capability in est.MODELLED) and (p is None or p.modelled):
        smem, largest = _estimate(tile, target)
        v.smem, v.estimate_bytes, v.needed_bytes = smem, smem.needed_bytes, smem.needed_bytes
        v.largest_stages_that_fit, v.largest_stages_source = largest, "estimate"
    if req.regs is not None:
        v.registers_source = "--regs"
    return _Item(v, tile)


def _cutlass_item(cfg: TileConfig, a: DType, b: DType, ctx: _Context) -> _Item:
    from gpudiag.tiles import cutlass as cutlass_model

    req, target = ctx.req, ctx.target
    if target.capability is None:
        raise GpudiagError(
            "--model cutlass needs an architecture (its builders' constants differ per "
            "family): give --arch sm_XY or --gpu NAME",
            EXIT_USAGE,
        )
    bk = _block_k_elements(cfg, a)
    block_scaled = req.block_scaled if req.block_scaled is not None else a.bits == 4
    problem = cutlass_model.k_problem(bk, a, block_scaled)
    if problem is not None:
        v = _verdict(cfg, a, b, bk, cfg.stages or 0, cfg.warps, "cutlass-model")
        v.status, v.fits, v.cannot_compile = CANNOT_COMPILE, False, problem
        return _Item(v, None, True)
    m = cutlass_model.stage_model(
        cfg.block_m,
        cfg.block_n,
        bk,
        a,
        b,
        target.capability,
        req.grouped,
        req.epilogue_smem or 0,
        req.kernel_carveout,
        block_scaled,
        req.scale_vector,
    )
    limit = target.limit_bytes
    table = []
    for s in range(1, min(max(m.auto_stages, cfg.stages or 0, 1) + 2, cutlass_model.MAX_STAGE_TABLE + 1)):
        n = cutlass_model.launch_bytes(m, s)
        fits: bool | None = n <= limit
        if fits and req.epilogue_smem is None:
            fits = None  # a lower bound that fits: unknown until the epilogue is known
        table.append({"stages": s, "bytes": n, "fits": fits, "margin_bytes": limit - n})
    stages = cfg.stages if cfg.stages is not None else max(m.auto_stages, 1)  # CUTLASS's auto rule picks it
    auto_bytes = cutlass_model.launch_bytes(m, m.auto_stages) if m.auto_stages else None
    v = _verdict(cfg, a, b, bk, stages, cfg.warps, "cutlass-model")
    v.cutlass = CutlassInfo(
        m.family,
        m.family_capacity_bytes,
        m.kernel_carveout_bytes,
        m.epilogue_carveout_bytes,
        m.stage_bytes,
        m.a_tile_bytes,
        m.b_tile_bytes,
        m.sfa_bytes,
        m.sfb_bytes,
        m.barrier_bytes,
        m.auto_stages,
        auto_bytes,
        None if auto_bytes is None else auto_bytes <= limit,
        table,
    )
    v.needed_bytes = v.estimate_bytes = cutlass_model.launch_bytes(m, stages)
    v.largest_stages_that_fit = cutlass_model.largest_stages_that_fit(m, limit)
    v.largest_stages_source = "cutlass-model"
    if req.regs is not None:
        v.registers_source = "--regs"
    return _Item(v)


def _finish(it: _Item, ctx: _Context, shape: Shape | None) -> None:
    """Margin, fit, occupancy, launchability, status and waves, from the needed bytes."""
    v, req, target = it.verdict, ctx.req, ctx.target
    if v.status == CANNOT_COMPILE:
        return
    limit = target.limit_bytes
    if v.needed_bytes is not None:
        v.margin_bytes, v.margin_pct = _margin(v.needed_bytes, limit)
        v.fits = v.needed_bytes <= limit
    if v.method == "cutlass-model" and req.epilogue_smem is None and v.fits:
        # Without the epilogue's storage the total is a lower bound: never claim a fit it
        # cannot back (the DGX Spark failure is exactly an epilogue that did not fit).
        v.fits = None
        v.problems.append(
            f"fits only if the epilogue's shared storage is at most {v.margin_bytes:,} B; "
            "give it with --epilogue-smem BYTES for a yes/no answer"
        )
    regs = v.exact.regs_per_thread if v.exact is not None else req.regs
    bound = None
    if it.tile is not None and regs is None and v.warps is not None:
        kind = v.smem.mma if v.smem is not None else est.mma_kind(it.tile, target.capability or 90)
        per_block = target.resources.regs_per_block if target.resources is not None else 65536
        rb = accumulator_bound(v.block_m, v.block_n, v.warps, kind, per_block)
        v.registers_bound = rb
        bound = rb.occupancy_bound
        if rb.spills_likely and v.fits is not False:  # of a config that fits; of one that does not, noise
            acc = f"its accumulator takes {rb.accumulator} registers a thread (BM x BN / {v.warps * 32} threads)"
            more = "" if rb.accumulator > rb.cap else f" and at least {rb.floor} more,"
            v.problems.append(
                f"spills likely: {acc},{more} over the {rb.cap} a thread of this block can have "
                "(--exact says how many spill)"
            )
    if v.warps is not None and v.needed_bytes is not None:
        v.occupancy = target.occupancy(v.warps * 32, v.needed_bytes, regs, bound)
    if v.fits is False:
        v.status = DOES_NOT_FIT
    elif v.cannot_launch:
        v.status = CANNOT_LAUNCH
    elif v.fits is None:
        v.status = UNKNOWN
    else:
        v.status = FITS
    if shape is not None and target.sm_count:
        occ = v.occupancy
        blocks = occ.blocks_per_sm if occ is not None and occ.blocks_per_sm > 0 else None
        v.waves = waves(
            shape,
            v.block_m,
            v.block_n,
            v.block_k,
            target.sm_count,
            req.groups,
            blocks,
            blocks is not None and occ is not None and not occ.registers_known,
        )
