"""``check-tiles``' core: a request in, one report out. Validates the options, gathers the configs,
resolves the target, checks each config (shared memory, largest stage count, occupancy, waves) and
returns a ``CheckReport``. Never prints; raises ``GpudiagError``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles import estimate as est
from gpudiag.tiles import exact as exact_mod
from gpudiag.tiles.dtypes import DType, lookup
from gpudiag.tiles.parse import TileConfig, parse_file, parse_tile
from gpudiag.tiles.report import (
    CANNOT_COMPILE,
    CANNOT_LAUNCH,
    DOES_NOT_FIT,
    FITS,
    MAX_REGS_PER_THREAD,
    UNKNOWN,
    CheckReport,
    CutlassInfo,
    ExactInfo,
    TileVerdict,
)
from gpudiag.tiles.target import Target, resolve_target, validate_selectors
from gpudiag.tiles.waves import Shape, parse_shape, waves

# No architecture (a bare --smem-limit): the estimate is the largest of these families' numbers.
UNNAMED_TARGET_FAMILIES = (80, 90, 100)

TRITON_NOTES = [
    "estimate: Triton's own allocation for the standard matmul (gpudiag/tiles/matmul_kernel.py) on this "
    "architecture: max(pipeline, epilogue). Pipeline = A and B ring buffers (+ mbarriers on sm_100): "
    "stages-1 buffers on sm_80/86/89/120 (mma.sync), stages on sm_90 for operands of an asynchronous wgmma "
    "and on sm_100 for tcgen05 operands, one buffer for operands cp.async cannot move in 4-byte pieces. "
    "Epilogue = the accumulator's layout conversion before the store, computed from the layouts. Sources: "
    "Triton's Pipeliner/LowerLoops.cpp (lowerLoads, loadRequiresAdditionalBuffer), AccelerateMatmul.cpp, "
    "Coalesce.cpp, LinearLayoutConversions.cpp, GenericSwizzling.cpp, nvidia Allocation.cpp",
    "stages/warps not given: Triton's defaults, 3 stages and 4 warps",
    "fits = needed <= the per-block opt-in limit (cudaDevAttrMaxSharedMemoryPerBlockOptin), the check Triton "
    "makes before launch (OutOfResources)",
    "occupancy: the CUDA occupancy calculator (cuOccupancyMaxActiveBlocksPerMultiprocessor's rule, "
    "gpudiag/tiles/occupancy.py): blocks per SM limited by shared memory (+ the per-block reservation, "
    "128-byte units), registers (per warp, 256-register units, 4 sub-partitions), warps and the block cap",
]

CUTLASS_NOTES = [
    "CUTLASS model: stage_bytes = A tile + B tile + 16 B (full+empty mbarrier) + SFA + SFB; "
    "auto stages = (family capacity - kernel carveout - epilogue carveout) // stage_bytes "
    "(StageCountAutoCarveout); needed = round_up(align1024(S*A) + align1024(S*B) + S*(SFA+SFB), "
    "1024) + S*16 + kernel carveout + epilogue, rounded up to 1024 (alignas(1024) storage)",
    "epilogue shared storage unknown unless --epilogue-smem is given: it depends on the epilogue "
    "(fusion, output type, epilogue tile) and is not derived here, so every total is then a "
    "lower bound and a config whose bound fits is reported as '?', not as a fit",
]

Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass
class CheckRequest:
    """Everything a user can ask ``check-tiles``, as given (validated by ``check_tiles``)."""

    tiles: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    from_inductor: bool = False
    inductor_set: str = "mm"
    from_script: str | None = None
    gpu: str | None = None
    arch: str | None = None
    index: int | None = None
    smem_limit: int | None = None
    sms: int | None = None
    dtype: str | None = None  # None: fp16, or the dtype an inductor set carries
    b_dtype: str | None = None
    a_layout: str | None = None
    b_layout: str | None = None
    model: str = "triton"  # or "cutlass"
    exact: bool = False
    jobs: int | None = None
    use_cache: bool = True
    regs: int | None = None
    shape: str | None = None
    groups: int = 1
    grouped: bool = False
    epilogue_smem: int | None = None  # None: unknown, so a CUTLASS total is only a lower bound
    kernel_carveout: int | None = None
    block_scaled: bool | None = None  # None: yes for fp4, no otherwise
    scale_vector: int | None = None


def validate(req: CheckRequest) -> Shape | None:
    """Every option on its own, before configs are read or a target resolved (a typo is not a
    "no GPU" problem). Returns the parsed ``--shape``."""
    if req.model not in ("triton", "cutlass"):
        raise GpudiagError(f"unknown --model '{req.model}': triton or cutlass", EXIT_USAGE)
    for name, lay in (("--a-layout", req.a_layout), ("--b-layout", req.b_layout)):
        if lay is not None and lay not in exact_mod.LAYOUTS:
            raise GpudiagError(f"{name} must be row or col, got '{lay}'", EXIT_USAGE)
    for name in filter(None, (req.dtype, req.b_dtype)):
        lookup(name)
    if req.exact and req.model == "cutlass":
        raise GpudiagError("--exact compiles the Triton matmul; it does not apply to --model cutlass", EXIT_USAGE)
    if req.groups < 1:
        raise GpudiagError(f"--groups must be >= 1, got {req.groups}", EXIT_USAGE)
    if req.jobs is not None and not 1 <= req.jobs <= exact_mod.MAX_JOBS:
        raise GpudiagError(f"--jobs must be 1..{exact_mod.MAX_JOBS} parallel compiles, got {req.jobs}", EXIT_USAGE)
    if req.regs is not None:
        if not 1 <= req.regs <= MAX_REGS_PER_THREAD:
            raise GpudiagError(
                f"--regs must be 1..{MAX_REGS_PER_THREAD} registers per thread (the most a thread "
                f"can have), got {req.regs}",
                EXIT_USAGE,
            )
        if req.exact:
            raise GpudiagError(
                "--regs and --exact both give registers: --exact reads them from the compiler; drop one", EXIT_USAGE
            )
    if any(x is not None and x < 0 for x in (req.epilogue_smem, req.kernel_carveout)):
        raise GpudiagError("--epilogue-smem and --kernel-carveout must be >= 0", EXIT_USAGE)
    if req.scale_vector is not None and req.scale_vector <= 0:
        raise GpudiagError(f"--scale-vector must be a positive number of elements, got {req.scale_vector}", EXIT_USAGE)
    if req.from_inductor:
        from gpudiag.tiles.inductor import SETS

        if req.inductor_set not in SETS:
            raise GpudiagError(f"unknown --inductor-set '{req.inductor_set}': one of {', '.join(SETS)}", EXIT_USAGE)
    validate_selectors(req.gpu, req.arch, req.index, req.smem_limit, req.sms)
    return parse_shape(req.shape) if req.shape is not None else None


def collect_configs(req: CheckRequest) -> tuple[list[TileConfig], dict[str, Any] | None, dict[str, Any] | None]:
    """The configs of every source, in order: arguments, files, inductor's set, the script's kernels."""
    configs = [parse_tile(t, f"argument {i + 1}") for i, t in enumerate(req.tiles)]
    for f in req.files:
        configs.extend(parse_file(f))
    inductor_info = script_info = None
    if req.from_inductor:
        from gpudiag.tiles.inductor import inductor_configs

        ind = inductor_configs(req.inductor_set)
        own_dtype = ind.dtype if req.dtype is None else None
        configs.extend(
            TileConfig(c.block_m, c.block_n, c.block_k, c.stages, c.warps, c.k_in_bytes, c.where, c.group, own_dtype)
            for c in ind.configs
        )
        inductor_info = {
            "torch_version": ind.torch_version,
            "source": ind.source,
            "set": req.inductor_set,
            "count": len(ind.configs),
            "dtype": own_dtype or req.dtype or "fp16",
            "dtype_source": ind.dtype_source if own_dtype else "--dtype",
            "prunes_by_smem": ind.prunes_by_smem,
        }
    if req.from_script:
        from gpudiag.tiles.from_script import kernels_from_script

        kernels = kernels_from_script(req.from_script)
        script_info = {
            "path": req.from_script,
            "kernels": [
                {"name": k.name, "line": k.line, "configs": len(k.configs), "skipped": k.skipped} for k in kernels
            ],
        }
        for k in kernels:
            configs.extend(k.configs)
    if not configs:
        raise GpudiagError(
            "no tile configs given: pass tiles like 128x128x64:3@4, --file, --from-inductor or --from-script",
            EXIT_USAGE,
        )
    return configs, inductor_info, script_info


def check_tiles(req: CheckRequest, progress: Progress | None = None) -> CheckReport:
    """The whole command: validate, gather, resolve the target once, check."""
    shape = validate(req)
    configs, inductor_info, script_info = collect_configs(req)
    target = resolve_target(req.gpu, req.arch, req.index, req.smem_limit, req.sms)
    report = check(configs, target, req, shape, progress)
    report.inductor, report.script = inductor_info, script_info
    return report


# --- the check ---------------------------------------------------------------------------------


@dataclass
class _Item:
    verdict: TileVerdict
    tile: est.MatmulTile | None = None  # Triton model only
    any_target_problem: bool = False  # Triton cannot compile it for any GPU (a power of two, K < 16)


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

    # Configs repeat (a 100,000-line file has a few thousand distinct ones): each distinct config is
    # checked once and its verdict copied for the others, with their own name and place.
    distinct: dict[tuple, _Item] = {}
    keys: list[tuple] = []
    types: dict[str | None, tuple[DType, DType, DType]] = {}  # per-config dtype -> (A, B, output)
    for n, cfg in enumerate(configs):
        key = (cfg.block_m, cfg.block_n, cfg.block_k, cfg.stages, cfg.warps, cfg.k_in_bytes, cfg.dtype)
        keys.append(key)
        item = distinct.get(key)
        if item is None:
            if cfg.dtype not in types:
                a = lookup(cfg.dtype or req.dtype or "fp16")
                b = lookup(req.b_dtype) if (req.b_dtype and not cfg.dtype) else a
                types[cfg.dtype] = (a, b, lookup(a.out) if a.out else a)
            a, b, out = types[cfg.dtype]
            item = distinct[key] = (
                _triton_item(cfg, a, b, out, target, req) if triton else _cutlass_item(cfg, a, b, target, req)
            )
        if item.any_target_problem and cfg.where.startswith("argument"):
            raise GpudiagError(
                f"tile '{cfg.spec()}' ({cfg.where}): Triton cannot compile it: {item.verdict.cannot_compile}",
                EXIT_USAGE,
            )
        if progress is not None and n % 5000 == 4999:
            progress("checking", n + 1, len(configs))
    items = list(distinct.values())
    if req.exact:
        _apply_exact(items, target, req, progress)
    for it in items:
        _finish(it.verdict, target, req, shape)
    verdicts = []
    for cfg, key in zip(configs, keys):
        v = distinct[key].verdict
        if v.where != cfg.where or v.group != cfg.group:  # a repeat of the config elsewhere: same numbers
            v = v.renamed(cfg.spec(), cfg.where, cfg.group)
        verdicts.append(v)
    if progress is not None:
        progress("checking", len(configs), len(configs))
    return CheckReport(
        target,
        req.model,
        req.exact,
        verdicts,
        *_notes(verdicts, target, req, shape),
        registers=("compiler" if req.exact else f"--regs {req.regs}" if req.regs else "unknown"),
        triton_version=exact_mod.triton_version() if req.exact else None,
        shape=shape,
        groups=req.groups,
    )


def _verdict(cfg: TileConfig, a: DType, b: DType, bk: int, stages: int, warps: int | None, method: str) -> TileVerdict:
    return TileVerdict(
        cfg.spec(), cfg.where, cfg.group, a.name, b.name, cfg.block_m, cfg.block_n, bk, stages, warps, method
    )


def _triton_item(cfg: TileConfig, a: DType, b: DType, out: DType, target: Target, req: CheckRequest) -> _Item:
    bk = _block_k_elements(cfg, a)
    stages = cfg.stages or exact_mod.DEFAULT_STAGES
    warps = cfg.warps or exact_mod.DEFAULT_WARPS
    a_layout, b_layout = exact_mod.layouts_for(a, b, req.a_layout, req.b_layout)
    v = _verdict(cfg, a, b, bk, stages, warps, "exact" if req.exact else "estimate")
    v.a_layout, v.b_layout = a_layout, b_layout
    tile = est.MatmulTile(cfg.block_m, cfg.block_n, bk, stages, warps, a, b, out, a_layout, b_layout)
    problem = est.tile_problem(tile)
    anywhere = problem is not None
    problem = problem or (est.target_problem(tile, target.capability) if target.capability else None)
    if problem is not None:
        v.status, v.fits, v.cannot_compile = CANNOT_COMPILE, False, problem
        return _Item(v, None, anywhere)
    if target.capability is None or target.capability in est.MODELLED:
        smem, largest = _estimate(tile, target)
        v.smem, v.estimate_bytes, v.needed_bytes = smem, smem.needed_bytes, smem.needed_bytes
        v.largest_stages_that_fit, v.largest_stages_source = largest, "estimate"
    if req.regs is not None:
        v.registers_source = "--regs"
    return _Item(v, tile)


def _cutlass_item(cfg: TileConfig, a: DType, b: DType, target: Target, req: CheckRequest) -> _Item:
    from gpudiag.tiles import cutlass as cutlass_model

    if target.capability is None:
        raise GpudiagError(
            "--model cutlass needs an architecture (its builders' constants differ per "
            "family): give --arch sm_XY or --gpu NAME",
            EXIT_USAGE,
        )
    bk = _block_k_elements(cfg, a)
    block_scaled = req.block_scaled if req.block_scaled is not None else a.bits == 4
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
    for s in range(1, max(m.auto_stages, cfg.stages or 0, 1) + 2):
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


def _apply_exact(items: list[_Item], target: Target, req: CheckRequest, progress: Progress | None) -> None:
    """Compile every config for the target, then the stage counts around the estimate's largest one,
    so that the largest stage count that fits is the compiler's too."""
    cc = target.capability
    assert cc is not None
    todo = [it for it in items if it.tile is not None]

    def tile_of(it: _Item) -> est.MatmulTile:
        assert it.tile is not None  # todo holds only the items with a Triton tile
        return it.tile

    def job(t: est.MatmulTile, stages: int) -> exact_mod.ExactJob:
        return exact_mod.job_for(t.block_m, t.block_n, t.block_k, stages, t.warps, t.a, t.b, t.a_layout, t.b_layout, cc)

    def run(jobs: list[exact_mod.ExactJob], what: str) -> list[exact_mod.ExactResult]:
        cb = (lambda done, total: progress(what, done, total)) if progress is not None else None
        return exact_mod.run_exact(jobs, req.jobs, req.use_cache, cb)

    for it, r in zip(todo, run([job(tile_of(it), tile_of(it).stages) for it in todo], "compiling")):
        v = it.verdict
        v.exact = ExactInfo(
            r.shared_bytes, r.regs_per_thread, r.spills, r.error, r.error_summary, r.cached, round(r.compile_s, 3)
        )
        if r.error:
            v.status, v.fits, v.needed_bytes, v.cannot_compile = CANNOT_COMPILE, False, None, r.error_summary
            continue
        v.needed_bytes = r.shared_bytes
        v.registers_source = "compiler" if r.regs_per_thread is not None else None

    limit = target.limit_bytes
    # The stage-count search: start from the estimate's answer (the estimate is never below the
    # compiler, so the compiler's answer is at least that) and move one stage at a time.
    searching = [it for it in todo if it.verdict.exact and not it.verdict.exact.error]
    shared: dict[tuple[int, int], int | None] = {}  # (item, stages) -> compiled bytes (None: failed)
    for i, it in enumerate(searching):
        assert it.verdict.exact is not None  # searching holds only compiled items
        shared[(i, tile_of(it).stages)] = it.verdict.exact.shared_bytes
    cand = {i: min(max(it.verdict.largest_stages_that_fit or 0, 0), est.MAX_STAGES) for i, it in enumerate(searching)}
    done: dict[int, int] = {}
    while len(done) < len(searching):
        need = []
        for i in range(len(searching)):
            if i in done:
                continue
            for s in (cand[i], cand[i] + 1):
                if 1 <= s <= est.MAX_STAGES and (i, s) not in shared:
                    need.append((i, s))
        if need:
            for (i, s), r in zip(need, run([job(tile_of(searching[i]), s) for i, s in need], "stage counts")):
                shared[(i, s)] = None if r.error else r.shared_bytes
        for i in range(len(searching)):
            if i in done:
                continue

            def fits(s: int, i: int = i) -> bool:
                got = shared.get((i, s))
                return got is not None and got <= limit

            if cand[i] >= 1 and not fits(cand[i]):
                cand[i] -= 1
            elif cand[i] + 1 <= est.MAX_STAGES and fits(cand[i] + 1):
                cand[i] += 1
            else:
                done[i] = cand[i]
    for i, it in enumerate(searching):
        it.verdict.largest_stages_that_fit, it.verdict.largest_stages_source = done[i], "compiler"


def _finish(v: TileVerdict, target: Target, req: CheckRequest, shape: Shape | None) -> None:
    """Margin, fit, occupancy, launchability, status and waves, from the needed bytes."""
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
    if v.warps is not None and v.needed_bytes is not None:
        v.occupancy = target.occupancy(v.warps * 32, v.needed_bytes, regs)
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


def _notes(
    verdicts: list[TileVerdict], target: Target, req: CheckRequest, shape: Shape | None
) -> tuple[list[str], list[str]]:
    notes: list[str] = []
    sources: list[str] = []
    for d in sorted({d for v in verdicts for d in (v.a_dtype, v.b_dtype)}):
        sources.extend(f"{d}: {s}" for s in lookup(d).sources)
    if req.model == "triton":
        notes.extend(TRITON_NOTES)
        if target.capability is None:
            notes.append(
                "no architecture named (a bare --smem-limit): each estimate is the largest of the "
                + ", ".join(f"sm_{c}" for c in UNNAMED_TARGET_FAMILIES)
                + " families' numbers"
            )
        lay = {(v.a_layout, v.b_layout) for v in verdicts if v.b_layout}
        if lay:
            notes.append(
                "operand layouts: "
                + ", ".join(f"A {a}-major, B {b}-major" for a, b in sorted(lay))
                + " (row: the last dimension contiguous; B col = K-major; change with --a-layout/--b-layout)"
            )
        if req.exact:
            notes.append(
                f"exact: compiled the Triton matmul (gpudiag/tiles/matmul_kernel.py) with Triton "
                f"{exact_mod.triton_version()} for {target.sm}, pointers/strides/M/N/K divisible by 16 "
                "and unit strides as constants, as a launch with aligned tensors specialises it; registers "
                "from cuobjdump -res-usage; spills as Triton counts them (local bytes / 4); the largest "
                "stage count that fits from compiling the stage counts next to the estimate's"
            )
    else:
        from gpudiag.tiles import cutlass as cutlass_model

        c = cutlass_model.constants()
        fams = {v.cutlass.family for v in verdicts if v.cutlass}
        notes.append(CUTLASS_NOTES[0])
        if req.epilogue_smem is None:
            notes.append(CUTLASS_NOTES[1])
        else:
            notes.append(f"epilogue shared storage {req.epilogue_smem} B (--epilogue-smem)")
        for fam in c.families:
            if fam.name in fams:
                notes.append(
                    f"{fam.name} builder: capacity {fam.capacity_bytes} B for the whole family "
                    f"({', '.join(f'sm_{x}' for x in fam.archs)}), not this device's limit; "
                    f"carveout: {fam.carveout_parts}"
                )
                sources.extend(fam.sources)
        sources.extend(c.sources)
        if any(v.cutlass and v.cutlass.sfa_bytes for v in verdicts):
            notes.append(
                "block-scaled: one 1-byte scale factor per vector of K elements, in 128-row blocks of "
                "4 (Sm1xxBlockScaledConfig); SFB rows = max(BN, 128) as the sm120 builder lays them out"
            )
        if any(v.warps is None for v in verdicts):
            notes.append("occupancy needs the block's threads: give warps (@N) for CUTLASS configs")
    if target.resources is not None:
        if req.exact:
            notes.append("registers: the compiler's, so blocks per SM and the limiter are the driver's")
        elif req.regs is not None:
            notes.append(f"registers: {req.regs} per thread (--regs) for every config")
        else:
            notes.append(
                "registers unknown (give --exact or --regs N): blocks per SM is the shared-memory and "
                "thread bound, an upper bound; the register limit is not applied"
            )
    else:
        notes.append("occupancy unknown: the target gives no SM limits (name a GPU or an architecture)")
    if shape is not None:
        notes.append(
            "waves: with occupancy = ceil(tiles / (SMs x blocks per SM)), the persistent grid is SMs x "
            "blocks per SM; one block per SM = ceil(tiles / SMs) and fewest SMs = ceil(tiles / waves) "
            "(DeepGEMM's rule, for kernels that run one block per SM)"
        )
    return notes, sources
