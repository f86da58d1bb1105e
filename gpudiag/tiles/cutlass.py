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
