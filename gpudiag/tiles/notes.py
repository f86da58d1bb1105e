"""What a ``check-tiles`` report says besides its rows, in two parts:

- ``applicable``: only what the reader needs for these rows (a default that was assumed, a number
  that is only a bound, an architecture that was not named), shown under every report;
- ``explain``: how each number is computed and where the rules come from, the same for every
  report of a model: ``--explain`` prints them, ``--json`` carries them, the guide has them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gpudiag.tiles.dtypes import lookup

if TYPE_CHECKING:
    from gpudiag.tiles.report import TileVerdict
    from gpudiag.tiles.request import CheckRequest
    from gpudiag.tiles.target import Target
    from gpudiag.tiles.waves import Shape

# No architecture (a bare --smem-limit): the estimate is the largest of these families' numbers.
UNNAMED_TARGET_FAMILIES = (80, 90, 100)
DEFAULTS_NOTE = "stages/warps not given: Triton's defaults, 3 stages and 4 warps"

TRITON_NOTES = [
    "estimate: Triton's own allocation for the standard matmul (gpudiag/tiles/matmul_kernel.py) on this "
    "architecture: max(pipeline, epilogue). Pipeline = A and B ring buffers (+ mbarriers on sm_100): "
    "stages-1 buffers on sm_80/86/89/120 (mma.sync), stages on sm_90 for operands of an asynchronous wgmma "
    "and on sm_100 for tcgen05 operands, one buffer for operands cp.async cannot move in 4-byte pieces. "
    "Epilogue = the accumulator's layout conversion before the store, computed from the layouts. Sources: "
    "Triton's Pipeliner/LowerLoops.cpp (lowerLoads, loadRequiresAdditionalBuffer), AccelerateMatmul.cpp, "
    "Coalesce.cpp, LinearLayoutConversions.cpp, GenericSwizzling.cpp, nvidia Allocation.cpp",
    DEFAULTS_NOTE,
    "fits = needed <= the per-block opt-in limit (cudaDevAttrMaxSharedMemoryPerBlockOptin), the check Triton "
    "makes before launch (OutOfResources)",
    "occupancy: the CUDA occupancy calculator (cuOccupancyMaxActiveBlocksPerMultiprocessor's rule, "
    "gpudiag/tiles/occupancy.py): blocks per SM limited by shared memory (+ the per-block reservation, "
    "128-byte units), registers (per warp, 256-register units, 4 sub-partitions), warps and the block cap",
]
PRECISION_NOTE = (
    "fp32 operands: tl.dot with no input_precision multiplies them as tf32 on the tensor cores "
    "(TRITON_F32_DEFAULT, when set, decides instead: tf32, tf32x3, ieee, bf16x3 or bf16x6), so --dtype fp32 "
    "is that kernel; --dtype fp32-ieee is input_precision='ieee' (full precision, FMA units, stages-1 "
    "buffers everywhere); --dtype tf32 passes 'tf32' explicitly. --from-inductor follows inductor's "
    "ALLOW_TF32 (torch.backends.cuda.matmul.fp32_precision, and the shape)"
)
MIN_K_NOTE = (
    "smallest K: tl.dot needs K >= 32 for 8-bit operands, >= 16 for 16-bit, and >= 8 for 32-bit from "
    "Triton 3.8 on (16 before): min_dot_size in triton/backends/nvidia/compiler.py, the same on every "
    "architecture"
)
REGISTER_BOUND_NOTE = (
    "registers unknown: at least the accumulator's, BM x BN 32-bit values over the block's threads, plus 24 "
    "(12 on tcgen05, whose accumulator waits in tensor memory), at most 255 or what lets one block of the "
    "size launch (gpudiag/tiles/registers.py); blocks per SM from that bound is an upper bound"
)
CUTLASS_NOTES = [
    "CUTLASS model: stage_bytes = A tile + B tile + 16 B (full+empty mbarrier) + SFA + SFB; "
    "auto stages = (family capacity - kernel carveout - epilogue carveout) // stage_bytes "
    "(StageCountAutoCarveout); needed = round_up(align1024(S*A) + align1024(S*B) + S*(SFA+SFB), "
    "1024) + S*16 + kernel carveout + epilogue, rounded up to 1024 (alignas(1024) storage)",
    "epilogue shared storage unknown unless --epilogue-smem is given: it depends on the epilogue "
    "(fusion, output type, epilogue tile) and is not derived here, so every total is then a "
    "lower bound and a config whose bound fits is reported as '?', not as a fit",
]
EXACT_NOTE = (
    "exact: compiled the Triton matmul (gpudiag/tiles/matmul_kernel.py) with Triton {version} for {sm}, "
    "pointers/strides/M/N/K divisible by 16 and unit strides as constants, as a launch with aligned tensors "
    "specialises it; registers from cuobjdump -res-usage; spills as Triton counts them (local bytes / 4); "
    "the largest stage count that fits from compiling the stage counts next to the estimate's"
)
WAVES_NOTE = (
    "waves: with occupancy = ceil(tiles / (SMs x blocks per SM)), the persistent grid is SMs x "
    "blocks per SM; one block per SM = ceil(tiles / SMs) and fewest SMs = ceil(tiles / waves) "
    "(DeepGEMM's rule, for kernels that run one block per SM)"
)


@dataclass
class Notes:
    applicable: list[str] = field(default_factory=list)
    explain: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def notes_for(
    verdicts: list[TileVerdict],
    target: Target,
    req: CheckRequest,
    shape: Shape | None,
    defaults_assumed: int,
    triton_version: str | None = None,
) -> Notes:
    """The report's notes; ``defaults_assumed``: how many configs left out their stages or warps."""
    n = Notes()
    for d in sorted({d for v in verdicts for d in (v.a_dtype, v.b_dtype)}):
        n.sources.extend(f"{d}: {s}" for s in lookup(d).sources)
    if req.model == "triton":
        _triton(n, verdicts, target, req, defaults_assumed, triton_version)
    else:
        _cutlass(n, verdicts, req)
    if target.resources is None:
        n.applicable.append("occupancy unknown: the target gives no SM limits (name a GPU or an architecture)")
    elif req.regs is not None:
        n.applicable.append(f"registers: {req.regs} per thread (--regs) for every config")
    elif not req.exact and req.model == "cutlass" and any(v.occupancy for v in verdicts):
        n.applicable.append(
            "registers unknown (give --regs N): blocks per SM is the shared-memory and thread bound, an upper bound"
        )
    if shape is not None:
        n.explain.append(WAVES_NOTE)
    return n


def _triton(
    n: Notes,
    verdicts: list[TileVerdict],
    target: Target,
    req: CheckRequest,
    defaults_assumed: int,
    triton_version: str | None,
) -> None:
    if defaults_assumed:
        some = "" if defaults_assumed == len(verdicts) else f" ({defaults_assumed:,} of {len(verdicts):,} configs)"
        n.applicable.append(DEFAULTS_NOTE + some)
    if target.capability is None:
        n.applicable.append(
            "no architecture named (a bare --smem-limit): each estimate is the largest of the "
            + ", ".join(f"sm_{c}" for c in UNNAMED_TARGET_FAMILIES)
            + " families' numbers"
        )
    n.explain.append(TRITON_NOTES[0])
    n.explain.extend(TRITON_NOTES[2:])
    if any(v.input_precision for v in verdicts):
        n.explain.append(PRECISION_NOTE)
    n.explain.append(MIN_K_NOTE)
    lay = {(v.a_layout, v.b_layout) for v in verdicts if v.b_layout}
    if lay:
        n.explain.append(
            "operand layouts: "
            + ", ".join(f"A {a}-major, B {b}-major" for a, b in sorted(lay))
            + " (row: the last dimension contiguous; B col = K-major; change with --a-layout/--b-layout)"
        )
    if req.exact:
        n.explain.append(EXACT_NOTE.format(version=triton_version, sm=target.sm))
        if target.resources is not None:
            n.explain.append("registers: the compiler's, so blocks per SM and the limiter are the driver's")
    elif req.regs is None and target.resources is not None:
        n.applicable.append(
            "registers unknown (--exact or --regs N gives them): blocks per SM (≤) is a bound from shared "
            "memory, threads and the accumulator's registers"
        )
        n.explain.append(REGISTER_BOUND_NOTE)


def _cutlass(n: Notes, verdicts: list[TileVerdict], req: CheckRequest) -> None:
    from gpudiag.tiles import cutlass as cutlass_model

    c = cutlass_model.constants()
    fams = {v.cutlass.family for v in verdicts if v.cutlass}
    n.explain.append(CUTLASS_NOTES[0])
    n.explain.append(cutlass_model.MMA_K_NOTE)
    if req.epilogue_smem is None:
        n.applicable.append(CUTLASS_NOTES[1])
    else:
        n.applicable.append(f"epilogue shared storage {req.epilogue_smem} B (--epilogue-smem)")
    for fam in c.families:
        if fam.name in fams:
            n.explain.append(
                f"{fam.name} builder: capacity {fam.capacity_bytes} B for the whole family "
                f"({', '.join(f'sm_{x}' for x in fam.archs)}), not this device's limit; "
                f"carveout: {fam.carveout_parts}"
            )
            n.sources.extend(fam.sources)
    n.sources.extend(c.sources)
    if any(v.cutlass and v.cutlass.sfa_bytes for v in verdicts):
        n.explain.append(
            "block-scaled: one 1-byte scale factor per vector of K elements, in 128-row blocks of "
            "4 (Sm1xxBlockScaledConfig); SFB rows = max(BN, 128) as the sm120 builder lays them out"
        )
    if any(v.warps is None for v in verdicts):
        n.applicable.append("occupancy needs the block's threads: give warps (@N) for CUTLASS configs")
