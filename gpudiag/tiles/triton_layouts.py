"""Triton's register layouts of a 2-D tile: a Python port of the pieces of Triton's compiler that
build the layouts whose conversion decides the epilogue's scratch (``triton_swizzling.py`` sizes it).

A layout is Triton's *linear layout* (``LinearLayout``): for each bit of a thread's register index,
lane and warp, the (row, column) of the tensor it adds (XOR). Sources, Triton 3.6 to 3.9:

- ``BlockedEncodingAttr::get`` and ``toLinearLayout`` (lib/Dialect/TritonGPU/IR/Dialect.cpp,
  LinearLayoutConversions.cpp): how a blocked layout spreads lanes and warps over a shape, and
  ``combineCtaCgaWithShape`` (register repetitions added dimension by dimension, bases beyond the
  shape broadcast);
- ``nvidiaMmaTile`` / ``nvidiaMmaToLinearLayout``: the mma.sync (v2) and wgmma (v3) accumulators;
- the ``tcgen05.ld`` 32x32b message layout of a tensor-memory accumulator (sm_100).
"""

from __future__ import annotations

from dataclasses import dataclass

Basis = tuple[int, int]  # (row, column) offset a bit of the index adds


def log2(x: int) -> int:
    return x.bit_length() - 1


@dataclass(frozen=True)
class Layout:
    """Where each register/lane/warp index bit puts an element of a ``shape`` tile."""

    shape: tuple[int, int]
    register: tuple[Basis, ...]
    lane: tuple[Basis, ...]
    warp: tuple[Basis, ...]


def _identity(size: int, dim: int, start: int = 1) -> list[Basis]:
    return [((start << i), 0) if dim == 0 else (0, start << i) for i in range(log2(size))]


def _extent(bases: list[Basis], dim: int) -> int:
    top = max((b[dim] for b in bases), default=0)
    return top * 2 if top else 1


def fit_to_shape(
    shape: tuple[int, int], register: list[Basis], lane: list[Basis], warp: list[Basis], rep_order: tuple[int, int]
) -> Layout:
    """``combineCtaCgaWithShape``: repeat in registers up to ``shape`` (``rep_order``'s dimension first),
    then broadcast (zero) every basis that reaches past it."""
    register = list(register)
    every = register + lane + warp
    for dim in rep_order:
        have = _extent(every, dim)
        if have < shape[dim]:
            more = _identity(shape[dim] // have, dim, have)
            register += more
            every += more

    def clip(bases: list[Basis]) -> tuple[Basis, ...]:
        return tuple((r if r < shape[0] else 0, c if c < shape[1] else 0) for r, c in bases)

    return Layout(shape, clip(register), clip(lane), clip(warp))


def blocked_params(
    shape: tuple[int, int],
    size_per_thread: tuple[int, int],
    order: tuple[int, int],
    num_warps: int,
    warp_size: int = 32,
) -> tuple[tuple[int, int], tuple[int, int]]:
    """``BlockedEncodingAttr::get``: threads per warp and warps per CTA, fastest dimension first."""
    tpw = [1, 1]
    wpc = [1, 1]
    lanes_left, threads_left, warps_left = warp_size, num_warps * warp_size, num_warps
    prev_lanes = prev_warps = 1
    d = order[0]
    threads = max(1, min(threads_left, max(1, shape[d] // size_per_thread[d])))
    tpw[d] = max(1, min(threads, lanes_left))
    wpc[d] = max(1, min(threads // tpw[d], warps_left))
    prev_lanes *= tpw[d]
    prev_warps *= wpc[d]
    tpw[order[1]] = warp_size // prev_lanes
    wpc[order[1]] = num_warps // prev_warps
    return (tpw[0], tpw[1]), (wpc[0], wpc[1])


def blocked(
    shape: tuple[int, int],
    size_per_thread: tuple[int, int],
    order: tuple[int, int],
    num_warps: int,
    warp_size: int = 32,
) -> Layout:
    """A ``#ttg.blocked`` layout built the way the compiler builds it from a size per thread."""
    tpw, wpc = blocked_params(shape, size_per_thread, order, num_warps, warp_size)
    return blocked_layout(shape, size_per_thread, tpw, wpc, order)


def blocked_layout(
    shape: tuple[int, int],
    size_per_thread: tuple[int, int],
    threads_per_warp: tuple[int, int],
    warps_per_cta: tuple[int, int],
    order: tuple[int, int],
) -> Layout:
    """``BlockedEncodingAttr::toLinearLayout``: registers, then lanes, then warps, fastest dimension first."""
    reg: list[Basis] = []
    lane: list[Basis] = []
    warp: list[Basis] = []
    seen = [1, 1]
    for kind, sizes in ((reg, size_per_thread), (lane, threads_per_warp), (warp, warps_per_cta)):
        for d in order:
            kind += _identity(sizes[d], d, seen[d])
            seen[d] *= sizes[d]
    return fit_to_shape(shape, reg, lane, warp, order)


def mma_accumulator(shape: tuple[int, int], warps: tuple[int, int], instr_n: int, hopper: bool) -> Layout:
    """``nvidiaMmaToLinearLayout``: the mma.sync (16x8) or wgmma (16 x instr_n per warp) accumulator.

    Per 16-row tile a thread holds 2 adjacent columns (kWidth 2); lanes cover 4 column pairs and 8
    rows; a register bit gives row +8, then registers walk the instruction's remaining columns.
    Warps tile columns first on mma.sync, rows first on wgmma (a warpgroup's 4 warps stack in M).
    """
    reg: list[Basis] = [(0, 1)]
    lane: list[Basis] = [(0, 2), (0, 4), (1, 0), (2, 0), (4, 0)]
    reg += [(8, 0)] + _identity(instr_n // 8, 1, 8)
    warp: list[Basis] = []
    tile = [16, instr_n]
    for d in (0, 1) if hopper else (1, 0):
        warp += _identity(warps[d], d, tile[d])
    return fit_to_shape(shape, reg, lane, warp, (1, 0))


def tmem_accumulator(shape: tuple[int, int], num_warps: int) -> Layout:
    """The register layout ``tcgen05.ld`` gives a tensor-memory accumulator (32x32b messages).

    Warps 0..3 own the 4 lane quadrants of tensor memory: with a 128-row block (BM >= 128) each
    lane holds one row and every column of it; with a 64-row block (BM = 64) 16 lanes cover 16 rows
    and the other 16 the upper half of the columns. Warps beyond 4 take the next row block when
    BM > 128, otherwise the highest column bits.
    """
    bm, bn = shape
    block_m = 128 if bm >= 128 else 64
    rows_per_warp = block_m // 4
    lane: list[Basis] = _identity(min(rows_per_warp, 32), 0)
    warp: list[Basis] = _identity(4, 0, rows_per_warp)
    cols = _identity(bn, 1)  # ascending; the highest bits are taken first by warps, then lanes
    rows_left = _identity(bm // block_m, 0, block_m)
    for _ in range(log2(max(num_warps // 4, 1))):
        if rows_left:
            warp.append(rows_left.pop(0))
        elif cols:
            warp.append(cols.pop())
    while len(lane) < 5 and cols:
        lane.append(cols.pop())
    return fit_to_shape(shape, cols + rows_left, lane, warp, (1, 0))
