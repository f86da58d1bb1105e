"""The check itself: configs + target -> one verdict per config. Returns dataclasses; never prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gpudiag.device.facts import DeviceFacts
from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.tiles import cutlass as cutlass_model
from gpudiag.tiles import estimate as est
from gpudiag.tiles import exact as exact_mod
from gpudiag.tiles.dtypes import DType, lookup
from gpudiag.tiles.parse import TileConfig
from gpudiag.tiles.waves import Shape, WaveReport, waves

SCHEMA = "gpudiag.check-tiles/1"

TRITON_NOTES = [
    "estimate (Triton pipeliner): needed = max(stages x (BM*BK*bytes(A) + BK*BN*bytes(B)), BM*BN*bytes(out)); "
    "the epilogue's layout-conversion buffer reuses the dead operand buffers, so it counts only when larger",
    "the estimate is an upper bound of the compiled kernel on every measured config; operands Triton keeps in "
    "registers (fp8 with a row-major B on sm_90) make the real number smaller; --exact gives the compiler's number",
    "stages/warps not given: Triton's defaults, 3 stages and 4 warps",
    "fits = needed <= the per-block opt-in limit (cudaDevAttrMaxSharedMemoryPerBlockOptin), the check Triton makes "
    "before launch (OutOfResources)",
    "blocks/SM by shared memory = SM shared memory // round_up(needed + reserved per block, 128 B)",
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


@dataclass
class Target:
    name: str
    sm: str | None
    capability: int | None  # 90 for sm_90
    limit_bytes: int
    limit_source: str
    smem_per_sm_bytes: int | None
    reserved_per_block_bytes: int | None
    max_blocks_per_sm: int | None
    sm_count: int | None
    origin: str  # "live", "catalogue", "--smem-limit"


@dataclass
class ExactInfo:
    shared_bytes: int | None
    regs_per_thread: int | None
    spills: int | None
    error: str | None
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
    stage_table: list[dict[str, Any]]  # [{"stages": s, "bytes": n, "fits": bool, "margin_bytes": m}]


@dataclass
class TileVerdict:
    spec: str
    where: str
    group: str | None
    a_dtype: str
    b_dtype: str
    block_m: int
    block_n: int
    block_k: int  # in elements (a "64B" K is converted with A's element size)
    stages: int
    warps: int | None
    method: str  # "estimate", "exact", "cutlass-model"
    needed_bytes: int | None
    estimate_bytes: int
    limit_bytes: int
    margin_bytes: int | None
    margin_pct: float | None
    fits: bool | None  # None: exact compile failed, no number
    largest_stages_that_fit: int
    largest_stages_source: str
    blocks_per_sm_by_smem: int | None
    a_layout: str | None = None
    b_layout: str | None = None
    exact: ExactInfo | None = None
    cutlass: CutlassInfo | None = None
    waves: WaveReport | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    target: Target
    model: str
    exact: bool
    verdicts: list[TileVerdict]
    notes: list[str]
    sources: list[str]
    inductor: dict[str, Any] | None = None
    script: dict[str, Any] | None = None
    triton_version: str | None = None
    shape: Shape | None = None
    groups: int = 1

    @property
    def fit_count(self) -> int:
        return sum(1 for v in self.verdicts if v.fits)

    @property
    def all_fit(self) -> bool:
        return all(v.fits for v in self.verdicts)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d = {"schema": SCHEMA, **d, "summary": {"fit": self.fit_count, "total": len(self.verdicts),
                                                 "all_fit": self.all_fit}}
        return d


def target_from(facts: DeviceFacts | None, smem_limit: int | None, sms: int | None) -> Target:
    if facts is None:
        if smem_limit is None:
            raise GpudiagError("no target: give --gpu NAME, --arch sm_XY or --smem-limit BYTES", EXIT_USAGE)
        return Target(f"{smem_limit} B limit", None, None, smem_limit, "--smem-limit", None, None, None, sms,
                      "--smem-limit")
    limit = smem_limit if smem_limit is not None else facts.smem_per_block_optin_bytes
    if limit is None:
        raise GpudiagError(f"{facts.name}: its per-block shared-memory limit is unknown; give --smem-limit BYTES",
                           EXIT_USAGE)
    src = "--smem-limit" if smem_limit is not None else (
        f"cudaDevAttrMaxSharedMemoryPerBlockOptin ({facts.sources.get('smem_per_block_optin_bytes', facts.origin)})")
    major, minor = facts.compute_capability
    return Target(facts.name, facts.sm, major * 10 + minor, limit, src, facts.smem_per_sm_bytes,
                  facts.smem_reserved_per_block_bytes, facts.max_blocks_per_sm,
                  sms if sms is not None else facts.sm_count, facts.origin)


def _block_k_elements(cfg: TileConfig, a: DType) -> int:
    if not cfg.k_in_bytes:
        return cfg.block_k
    elems, rem = divmod(cfg.block_k * 8, a.bits)
    if rem:
        raise GpudiagError(f"tile '{cfg.spec()}': {cfg.block_k} bytes of K is not a whole number of {a.name} elements",
                           EXIT_USAGE)
    return elems


def _out_dtype(a: DType) -> DType | None:
    return lookup(a.out) if a.out else None


@dataclass
class Options:
    a_dtype: str = "fp16"
    b_dtype: str | None = None
    model: str = "triton"  # or "cutlass"
    exact: bool = False
    a_layout: str | None = None
    b_layout: str | None = None
    jobs: int | None = None
    use_cache: bool = True
    shape: Shape | None = None
    groups: int = 1
    grouped: bool = False
    epilogue_smem: int | None = None  # None: unknown, so a CUTLASS total is only a lower bound
    kernel_carveout: int | None = None
    block_scaled: bool | None = None  # None: yes for fp4, no otherwise
    scale_vector: int | None = None


def _margin(needed: int, limit: int) -> tuple[int, float]:
    m = limit - needed
    return m, round(100.0 * m / limit, 2) if limit else 0.0


def validate_options(opt: Options) -> None:
    """Reject bad options on their own, before any target is resolved (a typo is not a "no GPU" problem)."""
    if opt.groups < 1:
        raise GpudiagError(f"--groups must be >= 1, got {opt.groups}", EXIT_USAGE)
    if opt.model not in ("triton", "cutlass"):
        raise GpudiagError(f"unknown --model '{opt.model}': triton or cutlass", EXIT_USAGE)
    for name, lay in (("--a-layout", opt.a_layout), ("--b-layout", opt.b_layout)):
        if lay is not None and lay not in exact_mod.LAYOUTS:
            raise GpudiagError(f"{name} must be row or col, got '{lay}'", EXIT_USAGE)
    if opt.exact and opt.model == "cutlass":
        raise GpudiagError("--exact compiles the Triton matmul; it does not apply to --model cutlass", EXIT_USAGE)
    if any(x is not None and x < 0 for x in (opt.epilogue_smem, opt.kernel_carveout)):
        raise GpudiagError("--epilogue-smem and --kernel-carveout must be >= 0", EXIT_USAGE)


def check(configs: list[TileConfig], target: Target, opt: Options) -> CheckReport:
    if not configs:
        raise GpudiagError("no tile configs given: pass tiles like 128x128x64:3@4, --file, --from-inductor or "
                           "--from-script", EXIT_USAGE)
    validate_options(opt)
    if opt.exact and target.capability is None:
        raise GpudiagError("--exact needs an architecture to compile for: give --arch sm_XY or --gpu NAME "
                           "(--smem-limit alone names none)", EXIT_USAGE)
    if opt.shape is not None and not target.sm_count:
        raise GpudiagError(f"--shape needs the target's SM count, which {target.name} does not give: "
                           "add --sms N or use --gpu NAME / a live GPU", EXIT_USAGE)

    notes: list[str] = []
    sources: list[str] = []
    verdicts: list[TileVerdict] = []
    resolved = []
    for cfg in configs:
        a = lookup(cfg.dtype or opt.a_dtype)
        b = lookup(opt.b_dtype) if (opt.b_dtype and not cfg.dtype) else a
        resolved.append((cfg, a, b, _block_k_elements(cfg, a)))

    exact_results: list[exact_mod.ExactResult | None] = [None] * len(resolved)
    layouts: list[tuple[str, str] | None] = [None] * len(resolved)
    if opt.model == "triton":
        for i, (cfg, a, b, bk) in enumerate(resolved):
            layouts[i] = exact_mod.layouts_for(a, b, opt.a_layout, opt.b_layout)
    if opt.exact:
        jobs = [exact_mod.job_for(cfg.block_m, cfg.block_n, bk, cfg.stages, cfg.warps, a, b, *layouts[i],
                                  target.capability)
                for i, (cfg, a, b, bk) in enumerate(resolved)]
        exact_results = exact_mod.run_exact(jobs, opt.jobs, opt.use_cache)

    for i, (cfg, a, b, bk) in enumerate(resolved):
        stages = cfg.stages if cfg.stages is not None else exact_mod.DEFAULT_STAGES
        out = _out_dtype(a)
        brk = est.triton_smem(cfg.block_m, cfg.block_n, bk, stages, a, b, out)
        v = TileVerdict(cfg.spec(), cfg.where, cfg.group, a.name, b.name, cfg.block_m, cfg.block_n, bk, stages,
                        cfg.warps, "estimate", brk.needed_bytes, brk.needed_bytes, target.limit_bytes, None, None,
                        None, 0, "estimate", None)
        if layouts[i]:
            v.a_layout, v.b_layout = layouts[i]
        if opt.model == "cutlass":
            block_scaled = opt.block_scaled if opt.block_scaled is not None else a.bits == 4
            if target.capability is None:
                raise GpudiagError("--model cutlass needs an architecture (its builders' constants differ per "
                                   "family): give --arch sm_XY or --gpu NAME", EXIT_USAGE)
            m = cutlass_model.stage_model(cfg.block_m, cfg.block_n, bk, a, b, target.capability, opt.grouped,
                                          opt.epilogue_smem or 0, opt.kernel_carveout, block_scaled, opt.scale_vector)
            table = []
            for s in range(1, max(m.auto_stages, stages, 1) + 2):
                n = cutlass_model.launch_bytes(m, s)
                fits: bool | None = n <= target.limit_bytes
                if fits and opt.epilogue_smem is None:
                    fits = None  # a lower bound that fits: unknown until the epilogue is known
                table.append({"stages": s, "bytes": n, "fits": fits, "margin_bytes": target.limit_bytes - n})
            if cfg.stages is None:  # no stage count given: CUTLASS's auto rule picks it
                stages = max(m.auto_stages, 1)
                v.stages = stages
            auto_bytes = cutlass_model.launch_bytes(m, m.auto_stages) if m.auto_stages else None
            v.cutlass = CutlassInfo(m.family, m.family_capacity_bytes, m.kernel_carveout_bytes,
                                    m.epilogue_carveout_bytes, m.stage_bytes, m.a_tile_bytes, m.b_tile_bytes,
                                    m.sfa_bytes, m.sfb_bytes, m.barrier_bytes, m.auto_stages, auto_bytes,
                                    None if auto_bytes is None else auto_bytes <= target.limit_bytes, table)
            v.method = "cutlass-model"
            v.needed_bytes = cutlass_model.launch_bytes(m, stages)
            v.largest_stages_that_fit = cutlass_model.largest_stages_that_fit(m, target.limit_bytes)
            v.largest_stages_source = "cutlass-model"
        else:
            v.largest_stages_that_fit = est.largest_stages_that_fit(cfg.block_m, cfg.block_n, bk, a, b, out,
                                                                    target.limit_bytes)
            r = exact_results[i]
            if r is not None:
                v.method = "exact"
                v.warps = cfg.warps or exact_mod.DEFAULT_WARPS
                v.exact = ExactInfo(r.shared_bytes, r.regs_per_thread, r.spills, r.error, r.cached,
                                    round(r.compile_s, 3))
                v.needed_bytes = r.shared_bytes
                if r.error:
                    v.problems.append(f"compile failed: {r.error}")
        if v.needed_bytes is not None:
            v.margin_bytes, v.margin_pct = _margin(v.needed_bytes, target.limit_bytes)
            v.fits = v.needed_bytes <= target.limit_bytes
            if v.method == "cutlass-model" and opt.epilogue_smem is None and v.fits:
                # Without the epilogue's storage the total is a lower bound: never claim a fit it
                # cannot back (the DGX Spark failure is exactly an epilogue that did not fit).
                v.fits = None
                v.problems.append(f"fits only if the epilogue's shared storage is at most {v.margin_bytes:,} B; "
                                  "give it with --epilogue-smem BYTES for a yes/no answer")
            v.blocks_per_sm_by_smem = est.blocks_per_sm_by_smem(v.needed_bytes, target.smem_per_sm_bytes,
                                                                 target.reserved_per_block_bytes,
                                                                 target.max_blocks_per_sm)
        if opt.shape is not None:
            v.waves = waves(opt.shape, cfg.block_m, cfg.block_n, bk, target.sm_count, opt.groups)
        verdicts.append(v)

    used = {d for v in verdicts for d in (v.a_dtype, v.b_dtype)}
    for d in sorted(used):
        sources.extend(f"{d}: {s}" for s in lookup(d).sources)
    if opt.model == "triton":
        notes.extend(TRITON_NOTES)
        lay = {(v.a_layout, v.b_layout) for v in verdicts}
        notes.append("operand layouts: " + ", ".join(f"A {a}-major, B {b}-major" for a, b in sorted(lay)) +
                     " (row: the last dimension contiguous; B col = K-major; change with --a-layout/--b-layout)")
        if opt.exact:
            notes.append(f"exact: compiled the Triton matmul (gpudiag/tiles/matmul_kernel.py) with Triton "
                         f"{exact_mod.triton_version()} for {target.sm or '?'}, pointers/strides/M/N/K divisible "
                         "by 16 and unit strides as constants, as a launch with aligned tensors specialises it; "
                         "registers from cuobjdump -res-usage; spills as Triton counts them (local bytes / 4)")
            notes.append("largest stages that fit comes from the estimate, which is never below the compiler's "
                         "number on the measured configs")
    else:
        c = cutlass_model.constants()
        fams = {v.cutlass.family for v in verdicts if v.cutlass}
        notes.append(CUTLASS_NOTES[0])
        if opt.epilogue_smem is None:
            notes.append(CUTLASS_NOTES[1])
        else:
            notes.append(f"epilogue shared storage {opt.epilogue_smem} B (--epilogue-smem)")
        for fam in c.families:
            if fam.name in fams:
                notes.append(f"{fam.name} builder: capacity {fam.capacity_bytes} B for the whole family "
                             f"({', '.join('sm_%d' % x for x in fam.archs)}), not this device's limit; "
                             f"carveout: {fam.carveout_parts}")
                sources.extend(fam.sources)
        sources.extend(c.sources)
        if any(v.cutlass and v.cutlass.sfa_bytes for v in verdicts):
            notes.append("block-scaled: one 1-byte scale factor per vector of K elements, in 128-row blocks of "
                         "4 (Sm1xxBlockScaledConfig); SFB rows = max(BN, 128) as the sm120 builder lays them out")
    if opt.shape is not None:
        notes.append("waves: one block per SM per wave; fewest SMs = ceil(tiles / waves) (DeepGEMM's rule)")
    return CheckReport(target, opt.model, opt.exact, verdicts, notes, sources,
                       triton_version=exact_mod.triton_version() if opt.exact else None, shape=opt.shape,
                       groups=opt.groups)
