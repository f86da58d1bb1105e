"""A CUTLASS-3.x-style shared-memory model: stage bytes, barriers, scale factors, and the
``StageCountAutoCarveout`` rule, with the constants in ``data/cutlass.toml``.

Two numbers per config:
  * the stage count CUTLASS's builder would pick at compile time:
        stages_auto = (family_capacity - kernel_carveout - epilogue_carveout) // stage_bytes
        stage_bytes = bytes(A tile) + bytes(B tile) + 16 (full+empty mbarrier) + SFA + SFB
    where family_capacity is the builder's constant for the *family* (sm_120 and sm_121 share
    101376 B), not the device's limit;
  * the shared memory the kernel then asks for at launch (``sizeof(SharedStorage)``), modelled as
        round_up(align1024(S*A) + align1024(S*B) + S*(SFA+SFB), 1024)      tensor storage
        + S*16 + kernel_carveout + epilogue_smem                           barriers, scheduler, epilogue
    rounded up to 1024 B because the storage struct has alignas(1024) members.
The epilogue's storage depends on the epilogue (fusion, output type, epilogue tile, TMA or not)
and is not derived here: give it with ``--epilogue-smem`` (default 0, stated in the notes).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from gpudiag.errors import EXIT_USAGE, GpudiagError
from gpudiag.files import load_toml
from gpudiag.tiles.dtypes import DType


@dataclass(frozen=True)
class Family:
    name: str
    archs: tuple[int, ...]
    capacity_bytes: int
    kernel_carveout: int
    grouped_carveout: int
    carveout_parts: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class CutlassConstants:
    pipeline_stage_bytes: int
    tensor_alignment: int
    families: tuple[Family, ...]
    scale_vectors: dict[str, int]  # dtype name -> scale-factor vector length
    sources: tuple[str, ...] = field(default_factory=tuple)


@functools.lru_cache(maxsize=1)
def constants() -> CutlassConstants:
    raw = load_toml("gpudiag.tiles", "data/cutlass.toml")
    fams = tuple(
        Family(
            f["name"],
            tuple(f["archs"]),
            int(f["capacity_bytes"]),
            int(f["kernel_carveout"]),
            int(f["grouped_carveout"]),
            f.get("carveout_parts", ""),
            tuple(f.get("sources", ())),
        )
        for f in raw["family"]
    )
    vecs = {d: int(s["vector"]) for s in raw.get("scale_format", []) for d in s["dtypes"]}
    return CutlassConstants(
        int(raw["pipeline_stage_bytes"]),
        int(raw["tensor_alignment"]),
        fams,
        vecs,
        tuple(raw.get("pipeline_sources", ())),
    )


def family_for(capability: int) -> Family:
    for fam in constants().families:
        if capability in fam.archs:
            return fam
    known = ", ".join(f"sm_{a}" for f in constants().families for a in f.archs)
    raise GpudiagError(f"the CUTLASS model has no builder family for sm_{capability} (known: {known})", EXIT_USAGE)


# One MMA instruction's K is 32 bytes of the A operand on every family the model covers: sm90 GMMA
# (SM90_64xNx16_F32F16F16_SS, SM90_64xNx32_F32E4M3E4M3_SS, SM90_64xNx8_F32TF32TF32_SS in
# cute/arch/mma_sm90_gmma.hpp), sm100 UMMA (SM100_MMA_F16BF16_SS K=16, SM100_MMA_F8F6F4_SS K=32,
# SM100_MMA_MXF4_SS K=64 in cute/arch/mma_sm100_umma.hpp) and sm120 (SM120_16x8x32_TN for f8f6f4,
# SM120_16x8x64_TN_VS for block-scaled fp4 in cute/arch/mma_sm120.hpp). fp4 without block scales goes
# through the f8f6f4 instructions, K=32 elements. A tile's K must be a whole number of them: the
# collective builders tile the CTA shape by the MMA atom's shape, and a K that does not divide fails
# to compile.
MMA_K_BYTES = 32
MMA_K_FP4_UNSCALED = 32
MMA_K_NOTE = (
    "CUTLASS MMA K: one GMMA (sm_90), UMMA (sm_100) or sm_120 MMA instruction takes 32 bytes of K: 16 "
    "elements of 16-bit types, 32 of 8-bit, 8 of tf32, 64 of block-scaled fp4 (32 of unscaled fp4); a "
    "tile whose K is not a multiple of it does not compile (cute/arch/mma_sm90_gmma.hpp, "
    "mma_sm100_umma.hpp, mma_sm120.hpp)"
)
MAX_STAGE_TABLE = 16  # stage counts listed per config (the stage rule never picks more on these families)


def mma_k(a: DType, block_scaled: bool) -> int:
    """K elements of one MMA instruction for A of type ``a``."""
    if a.bits == 4 and not block_scaled:
        return MMA_K_FP4_UNSCALED
    return MMA_K_BYTES * 8 // a.bits


def k_problem(bk: int, a: DType, block_scaled: bool) -> str | None:
    """Why a CUTLASS 3.x GEMM with this K cannot be built, or None."""
    k = mma_k(a, block_scaled)
    if bk % k:
        below = "below" if bk < k else "not a multiple of"
        return (
            f"K={bk} {a.name} is {below} the MMA instruction's K of {k} ({MMA_K_BYTES} bytes of K per GMMA/UMMA/"
            "sm_120 MMA): the collective builder cannot tile it"
        )
    return None


def _round_up(n: int, m: int) -> int:
    return -(-n // m) * m


@dataclass(frozen=True)
class CutlassStageModel:
    family: str
    family_capacity_bytes: int
    kernel_carveout_bytes: int
    epilogue_carveout_bytes: int
    a_tile_bytes: int
    b_tile_bytes: int
    sfa_bytes: int
    sfb_bytes: int
    barrier_bytes: int
    stage_bytes: int
    auto_stages: int  # what StageCountAutoCarveout picks (0: not even one stage)
    scale_vector: int | None


def scale_factor_bytes(rows: int, bk: int, vector: int) -> int:
    """Bytes of one stage's scale factors for ``rows`` x ``bk``: 128-row blocks x K/vector rounded to 4."""
    return _round_up(max(rows, 1), 128) * _round_up(-(-bk // vector), 4)


def stage_model(
    bm: int,
    bn: int,
    bk: int,
    a: DType,
    b: DType,
    capability: int,
    grouped: bool,
    epilogue_smem: int,
    kernel_carveout: int | None,
    block_scaled: bool,
    scale_vector: int | None,
) -> CutlassStageModel:
    c = constants()
    fam = family_for(capability)
    carve = (
        kernel_carveout if kernel_carveout is not None else (fam.grouped_carveout if grouped else fam.kernel_carveout)
    )
    a_bytes, b_bytes = a.bytes_for(bm * bk), b.bytes_for(bn * bk)
    vec = None
    sfa = sfb = 0
    if block_scaled:
        vec = scale_vector or c.scale_vectors.get(a.name)
        if vec is None:
            raise GpudiagError(f"no block-scale format known for {a.name}: give --scale-vector 16 or 32", EXIT_USAGE)
        sfa = scale_factor_bytes(bm, bk, vec)
        # sm120 builder: sSFBTileShape_N = max(N, 128)
        sfb = scale_factor_bytes(max(bn, 128), bk, vec)
    stage = a_bytes + b_bytes + c.pipeline_stage_bytes + sfa + sfb
    auto = max(0, (fam.capacity_bytes - carve - epilogue_smem) // stage)
    return CutlassStageModel(
        fam.name,
        fam.capacity_bytes,
        carve,
        epilogue_smem,
        a_bytes,
        b_bytes,
        sfa,
        sfb,
        c.pipeline_stage_bytes,
        stage,
        auto,
        vec,
    )


def launch_bytes(m: CutlassStageModel, stages: int) -> int:
    """Modelled ``sizeof(SharedStorage)`` for ``stages``: what cudaFuncSetAttribute is asked for."""
    align = constants().tensor_alignment
    tensors = _round_up(
        _round_up(stages * m.a_tile_bytes, align)
        + _round_up(stages * m.b_tile_bytes, align)
        + stages * (m.sfa_bytes + m.sfb_bytes),
        align,
    )
    return _round_up(tensors + stages * m.barrier_bytes + m.kernel_carveout_bytes + m.epilogue_carveout_bytes, align)


def largest_stages_that_fit(m: CutlassStageModel, limit: int, max_stages: int = 16) -> int:
    best = 0
    for s in range(1, max_stages + 1):
        if launch_bytes(m, s) <= limit:
            best = s
    return best
