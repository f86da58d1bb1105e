"""The instant estimate: the shared memory Triton allocates for the standard matmul on a given
architecture, modelled from Triton's own compiler, family by family.

Three things take shared memory, and the allocator reuses the loop's buffers for the epilogue:

  pipeline = A ring + B ring (+ mbarriers)       live for the whole K loop
  epilogue = the accumulator's layout conversion before the store (after the loop)
  needed   = max(pipeline, epilogue)

The ring sizes come from Triton's software pipeliner (lib/Dialect/TritonGPU/Transforms/Pipeliner/
LowerLoops.cpp, ``lowerLoads``): a load issued ``stages - 1`` iterations ahead of its use gets
``stages - 1`` buffers; on sm_90 a load feeding an asynchronous wgmma gets one more
(``loadRequiresAdditionalBuffer``), since the wgmma still reads the oldest while the next is filled;
on sm_100 the tcgen05 MMA's completion barrier is waited one stage later, so its operands get
``stages`` buffers too, plus a 2-deep ring of 8-byte mbarriers. A load that cp.async cannot move in
4-byte pieces (``getCopyVecBytes`` < 4: tiny tiles, or 8-bit wgmma operands that must be K-major in
shared memory but are not in global memory) is not multi-buffered: it passes through one buffer.
With one stage nothing is pipelined: one buffer per operand. fp8 operands of mma.sync are
promoted to fp16 in registers except on sm_89 and sm_12x (``mmav2SupportsFp8Operands``); each
then dies as soon as it is read, so two unpipelined fp8 buffers share one place.

Which MMA a dot lowers to follows AccelerateMatmul.cpp (``getMMAVersionSafe``, ``supportMMA``):
wgmma on sm_90 with a multiple of 4 warps and BM % 64 == 0; tcgen05 on sm_100/103 with 4 or 8
warps and BM % 64 == 0; mma.sync (v2) otherwise, and on sm_80/86/87/89/120/121. fp32 operands go
to the tensor cores as tf32 (tl.dot's default, ``precision.py``) like any 16-bit dot; at full
precision (``input_precision="ieee"``) they use FMA. The epilogue's scratch is computed from the
layouts themselves (``triton_layouts``, ``triton_swizzling``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from gpudiag.tiles import precision as prec
from gpudiag.tiles import triton_layouts as tl
from gpudiag.tiles import triton_swizzling as sw
from gpudiag.tiles.dtypes import DType

MMA_SYNC, WGMMA, TCGEN05, FMA = "mma.sync", "wgmma", "tcgen05", "fma"
WARP_SIZE = 32
# tl.dot's smallest K on NVIDIA GPUs, by operand bits: min_dot_size in triton/backends/nvidia/compiler.py
# ("Input shapes should have M >= 1, N >= 1 and K >= ..."), the same for every architecture. 8-bit: 32 in
# every Triton; 32-bit: 8 from Triton 3.8 on (triton-lang/triton#10234), 16 before; others 16.
MIN_DOT_K = 16
MIN_DOT_K_8BIT = 32
MIN_DOT_K_32BIT = 8
MIN_DOT_K_32BIT_SINCE = (3, 8)
MBARRIER_BYTES = 8
NVMMA_ALIGN = 1024  # a 128-byte-swizzled operand buffer starts on a 1024-byte boundary
SHARED_ALIGN = 16
MAX_STAGES = 16
# Architectures the model covers: every family Triton >= 3.6 emits tensor-core code for.
MODELLED = (80, 86, 87, 89, 90, 100, 103, 120, 121)


@dataclass(frozen=True)
class MatmulTile:
    """Everything about the standard Triton matmul that decides its shared memory."""

    block_m: int
    block_n: int
    block_k: int
    stages: int
    warps: int
    a: DType
    b: DType
    out: DType
    a_layout: str = "row"  # row: K contiguous; col: M contiguous
    b_layout: str = "row"  # row: N contiguous; col: K contiguous (K-major)
    precision: str | None = None  # tl.dot's input_precision for fp32 operands; None: from the dtypes (precision.py)


@dataclass(frozen=True)
class SmemEstimate:
    mma: str  # "mma.sync", "wgmma", "tcgen05", "fma"
    a_tile_bytes: int
    b_tile_bytes: int
    a_buffers: int
    b_buffers: int
    barrier_bytes: int
    pipeline_bytes: int
    epilogue_bytes: int
    needed_bytes: int


def _version(text: str | None) -> tuple[int, int] | None:
    try:
        major, minor = (text or "").split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return None


def min_dot_k(bits: int, triton_version: str | None = None) -> int:
    """The smallest K ``tl.dot`` accepts for operands of ``bits`` on NVIDIA GPUs, with this Triton
    (None: the newest rule, Triton >= 3.8)."""
    if bits == 8:
        return MIN_DOT_K_8BIT
    if bits == 32:
        v = _version(triton_version)
        return MIN_DOT_K_32BIT if v is None or v >= MIN_DOT_K_32BIT_SINCE else MIN_DOT_K
    return MIN_DOT_K


def tile_problem(tile: MatmulTile, triton_version: str | None = None) -> str | None:
    """Why no Triton (``triton_version``'s front end; None: the newest) can compile this matmul for
    any GPU, or None."""
    for name, v in (("BM", tile.block_m), ("BN", tile.block_n), ("BK", tile.block_k)):
        if v & (v - 1):
            return f"{name}={v} is not a power of two (tl.arange's range must be a power of 2)"
    bits = max(tile.a.bits, tile.b.bits)
    need = min_dot_k(bits, triton_version)
    if tile.block_k < need:
        since = ""
        if bits == 32:
            since = (
                f" with Triton {triton_version}; 8 from Triton 3.8 on"
                if need > MIN_DOT_K_32BIT
                else " (Triton >= 3.8; 16 before)"
            )
        return f"BK={tile.block_k} is below {need} (tl.dot needs K >= {need} for {bits}-bit operands on NVIDIA GPUs{since})"
    if tile.warps & (tile.warps - 1) or tile.warps * WARP_SIZE > 1024:
        return f"{tile.warps} warps: num_warps must be a power of two, at most 32 (1,024 threads)"
    return None


def target_problem(tile: MatmulTile, capability: int) -> str | None:
    """Why Triton cannot compile this matmul for ``sm_<capability>`` in particular, or None."""
    if capability < 89 and "fp8e4m3" in (tile.a.name, tile.b.name):
        return (
            f"fp8e4m3 needs sm_89 or later (Triton on sm_{capability} supports only fp8e5m2 and fp8e4b15, "
            "promoted to fp16)"
        )
    return None


def input_precision(tile: MatmulTile) -> str | None:
    """tl.dot's input_precision for this tile's operands (None: not 32-bit floats, no choice)."""
    if tile.precision is not None:
        return tile.precision
    p = prec.dot_precision(tile.a, tile.b)
    return p.value if p is not None else None


def mma_kind(tile: MatmulTile, capability: int) -> str:
    if input_precision(tile) == "ieee":
        return FMA
    if capability == 90 and tile.warps % 4 == 0 and tile.block_m % 64 == 0 and tile.block_n % 16 == 0:
        return WGMMA
    if capability in (100, 103) and tile.warps in (4, 8) and tile.block_m % 64 == 0 and tile.block_n % 16 == 0:
        return TCGEN05
    return MMA_SYNC


def _per_thread(extent: int, elements: int, bits: int, warps: int) -> int:
    """Coalesce.cpp ``buildCoalescedEncoding``: elements one thread moves along the contiguous
    dimension: at most 16 bytes (the pointers are 16-byte aligned), at most the extent, and no
    more than an even share of the tile."""
    return max(1, min(128 // bits, extent, max(elements // (warps * WARP_SIZE), 1)))


def _async(tile: MatmulTile, operand: str, kind: str) -> bool:
    """Whether the pipeliner multi-buffers this operand with cp.async (``getCopyVecBytes`` >= 4)."""
    if operand == "a":
        dt, contiguous = tile.a, (tile.block_k if tile.a_layout == "row" else tile.block_m)
        k_major = tile.a_layout == "row"
        elements = tile.block_m * tile.block_k
    else:
        dt, contiguous = tile.b, (tile.block_n if tile.b_layout == "row" else tile.block_k)
        k_major = tile.b_layout == "col"
        elements = tile.block_k * tile.block_n
    if kind == WGMMA and dt.bits == 8 and not k_major:
        return False  # wgmma reads 8-bit operands K-major only: the copy would have to transpose
    return _per_thread(contiguous, elements, dt.bits, tile.warps) * dt.bits >= 32


def _mma_v2_warps(bm: int, bn: int, warps: int) -> tuple[int, int]:
    """AccelerateMatmul.cpp ``warpsPerTileV2``: balance the 16x8 instruction repeats over M and N."""
    wm = wn = 1
    rm, rn = max(bm // 16, 1), max(bn // 8, 1)
    while wm * wn < warps:
        if rm >= rn:
            wm *= 2
            if rm != 1:
                rm //= 2
        else:
            wn *= 2
            rn //= 2
    return wm, wn


_WGMMA_N = tuple(range(256, 7, -8))
_WGMMA_N_INT8 = (224, 208, 192, 176, 160, 144, 128, 112, 96, 80, 64, 48, 32, 24, 16, 8)


def _wgmma_instr_and_warps(bm: int, bn: int, warps: int, int8: bool) -> tuple[int, tuple[int, int]]:
    """``mmaVersionToInstrShape(3, ...)`` and ``warpsPerTileV3``."""
    m_warps = max(bm // 16, 1)
    n_warps = max(warps // m_warps, 1)
    max_n = max(bn // n_warps, 8)
    instr_n = next((n for n in (_WGMMA_N_INT8 if int8 else _WGMMA_N) if bn % n == 0 and n <= max_n), 8)
    wm, wn = 4, 1
    while wm * wn < warps:
        if bm > 16 * wm:
            wm *= 2
        else:
            wn *= 2
    return instr_n, (wm, wn)


def _fma_size_per_thread(bm: int, bn: int, warps: int) -> tuple[int, int]:
    """TritonGPUConversion's dot pattern: a 4x4 (or 2x2) register tile per thread when there is room."""
    per_thread = bm * bn // (warps * WARP_SIZE)
    s = 4 if per_thread >= 16 else 2 if per_thread >= 4 else 1
    return min(s, bm), min(s, bn)


@functools.lru_cache(maxsize=4096)
def epilogue_bytes(kind: str, bm: int, bn: int, warps: int, out_bits: int, capability: int, int8: bool = False) -> int:
    """Scratch of the accumulator's conversion to the store's coalesced layout."""
    shape = (bm, bn)
    if kind == MMA_SYNC:
        src = tl.mma_accumulator(shape, _mma_v2_warps(bm, bn, warps), 8, hopper=False)
    elif kind == WGMMA:
        instr_n, w = _wgmma_instr_and_warps(bm, bn, warps, int8)
        src = tl.mma_accumulator(shape, w, instr_n, hopper=True)
    elif kind == TCGEN05:
        src = tl.tmem_accumulator(shape, warps)
    else:
        src = tl.blocked(shape, _fma_size_per_thread(bm, bn, warps), (1, 0), warps)
    store = tl.blocked(shape, (1, _per_thread(bn, bm * bn, out_bits, warps)), (1, 0), warps)
    return sw.conversion_scratch_elements(src, store, out_bits, capability) * out_bits // 8


def _fp8_promoted(tile: MatmulTile, capability: int) -> bool:
    return tile.a.name.startswith("fp8") and capability != 89 and capability // 10 != 12


@dataclass(frozen=True)
class _Plan:
    """What the stage count does not change: the MMA, which operands are rings, the epilogue."""

    kind: str
    a_tile: int
    b_tile: int
    a_async: bool
    b_async: bool
    fp8_single_place: bool
    epilogue: int


_PLANS: dict[tuple, _Plan] = {}
_LARGEST: dict[tuple, int] = {}


def _key(tile: MatmulTile, capability: int) -> tuple:
    return (
        tile.block_m,
        tile.block_n,
        tile.block_k,
        tile.warps,
        tile.a.name,
        tile.b.name,
        tile.out.name,
        tile.a_layout,
        tile.b_layout,
        input_precision(tile),
        capability,
    )


def _plan(tile: MatmulTile, capability: int) -> _Plan:
    key = _key(tile, capability)
    plan = _PLANS.get(key)
    if plan is None:
        kind = mma_kind(tile, capability)
        plan = _PLANS[key] = _Plan(
            kind,
            tile.a.bytes_for(tile.block_m * tile.block_k),
            tile.b.bytes_for(tile.block_k * tile.block_n),
            _async(tile, "a", kind),
            _async(tile, "b", kind),
            kind == MMA_SYNC and _fp8_promoted(tile, capability),
            epilogue_bytes(
                kind, tile.block_m, tile.block_n, tile.warps, tile.out.bits, capability, tile.a.name == "int8"
            ),
        )
    return plan


def _buffers(plan: _Plan, stages: int) -> tuple[int, int, int, int]:
    """(A buffers, B buffers, barrier bytes, pipeline bytes) at ``stages``."""
    pipelined = stages >= 2
    ring = stages if plan.kind in (WGMMA, TCGEN05) else stages - 1
    a_ring, b_ring = pipelined and plan.a_async, pipelined and plan.b_async
    a_buf, b_buf = (ring if a_ring else 1), (ring if b_ring else 1)
    a, b = a_buf * plan.a_tile, b_buf * plan.b_tile
    if plan.fp8_single_place and not (a_ring or b_ring):
        a, b = max(a, b), 0  # read once into fp16 registers, dead before the other is written
    # The allocator places the live buffers largest first, each on its alignment; the mbarriers
    # (8 bytes each) are the smallest and come last.
    align = NVMMA_ALIGN if plan.kind in (WGMMA, TCGEN05) else SHARED_ALIGN
    big, small = (a, b) if a >= b else (b, a)
    end = -(-big // align) * align + small if small else big
    barriers = 0
    if plan.kind == TCGEN05:
        barriers = (2 if pipelined else 1) * MBARRIER_BYTES
        end = -(-end // MBARRIER_BYTES) * MBARRIER_BYTES + barriers
    return a_buf, b_buf, barriers, end


def triton_smem(tile: MatmulTile, capability: int) -> SmemEstimate:
    """Shared memory of the standard matmul compiled for ``sm_<capability>`` (dynamic bytes, what
    Triton reports as ``metadata.shared`` and checks against the opt-in limit)."""
    plan = _plan(tile, capability)
    a_buf, b_buf, barriers, pipeline = _buffers(plan, tile.stages)
    return SmemEstimate(
        plan.kind,
        plan.a_tile,
        plan.b_tile,
        a_buf,
        b_buf,
        barriers,
        pipeline,
        plan.epilogue,
        max(pipeline, plan.epilogue),
    )


def largest_stages_that_fit(tile: MatmulTile, capability: int, limit: int) -> int:
    """Largest stage count whose estimate fits ``limit``; 0 when not even one stage fits. The
    estimate grows with the stage count, so a bisection over 1..MAX_STAGES finds it."""
    key = (*_key(tile, capability), limit)
    best = _LARGEST.get(key)
    if best is None:
        plan = _plan(tile, capability)
        best = 0 if plan.epilogue > limit else largest_fitting(lambda stages: _buffers(plan, stages)[3], limit)
        _LARGEST[key] = best
    return best


def largest_fitting(needed_bytes: Callable[[int], int], limit: int) -> int:
    """The most stages (1..MAX_STAGES) whose ``needed_bytes(stages)`` is at most ``limit``; 0 when not
    even one stage fits. Every kernel model's need grows with the stage count, so this bisects."""
    lo, hi = 0, MAX_STAGES  # fits at lo (0: trivially), unknown above
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if needed_bytes(mid) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo
