"""The Python port of Triton's layouts and its conversion-scratch rule, against what Triton 3.9
itself printed: each case below is a ``ttg.convert_layout`` of the matmul's epilogue as it
appeared in the compiled kernel's TTGIR, with the ``allocation.size`` Triton's shared-memory
allocation gave it (Triton 3.9.0 on this CPU, 2026-12-01)."""

from __future__ import annotations

import pytest

from gpudiag.tiles import estimate as est
from gpudiag.tiles import triton_layouts as tl
from gpudiag.tiles import triton_swizzling as sw


def blocked(shape, spt, tpw, wpc):
    return tl.blocked_layout(shape, spt, tpw, wpc, (1, 0))


def mma(shape, warps, instr_n=8, hopper=False):
    return tl.mma_accumulator(shape, warps, instr_n, hopper)


def linear(shape, register, lane, warp):
    return tl.Layout(shape, tuple(map(tuple, register)), tuple(map(tuple, lane)), tuple(map(tuple, warp)))


# (capability, shape, bits, source layout, destination layout, bytes Triton allocated)
RECORDED = [
    (80, (128, 128), 16, mma((128, 128), (2, 2)), blocked((128, 128), (1, 8), (2, 16), (4, 1)), 16384),
    (89, (256, 16), 32, mma((256, 16), (4, 1)), blocked((256, 16), (1, 4), (8, 4), (4, 1)), 8192),
    (86, (64, 128), 16, mma((64, 128), (2, 4)), blocked((64, 128), (1, 8), (2, 16), (8, 1)), 16384),
    (86, (256, 128), 32, mma((256, 128), (2, 2)), blocked((256, 128), (1, 4), (1, 32), (4, 1)), 16384),
    (100, (64, 64), 16, mma((64, 64), (1, 2)), blocked((64, 64), (1, 8), (4, 8), (2, 1)), 1024),
    (80, (32, 256), 32, mma((32, 256), (1, 4)), blocked((32, 256), (1, 4), (1, 32), (2, 2)), 16384),
    (90, (128, 128), 16, mma((128, 128), (4, 1), 128, True), blocked((128, 128), (1, 8), (2, 16), (4, 1)), 8192),
    (90, (256, 16), 16, mma((256, 16), (4, 1), 16, True), blocked((256, 16), (1, 8), (16, 2), (4, 1)), 2048),
    (90, (128, 128), 32, mma((128, 128), (4, 1), 128, True), blocked((128, 128), (1, 4), (1, 32), (4, 1)), 32768),
    (80, (256, 16), 32, blocked((256, 16), (4, 4), (8, 4), (8, 1)), blocked((256, 16), (1, 4), (8, 4), (8, 1)), 16384),
    (
        100,
        (128, 256),
        16,
        linear(
            (128, 256),
            [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16], [0, 32], [0, 64]],
            [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]],
            [[32, 0], [64, 0], [0, 128]],
        ),
        blocked((128, 256), (1, 8), (1, 32), (8, 1)),
        16384,
    ),
    (
        100,
        (256, 32),
        32,
        linear(
            (256, 32),
            [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16], [128, 0]],
            [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]],
            [[32, 0], [64, 0]],
        ),
        blocked((256, 32), (1, 4), (4, 8), (4, 1)),
        4096,
    ),
]


@pytest.mark.parametrize("cc, shape, bits, src, dst, allocated", RECORDED)
def test_conversion_scratch_equals_the_allocation(cc, shape, bits, src, dst, allocated):
    assert sw.conversion_scratch_elements(src, dst, bits, cc) * bits // 8 == allocated


def test_no_scratch_when_no_data_crosses_warps():
    # sm_100, 64x16, 4 warps: the tensor-memory load already leaves each warp the rows it stores
    # (Triton emitted no conversion at all for this kernel)
    src = tl.tmem_accumulator((64, 16), 4)
    dst = tl.blocked((64, 16), (1, 8), (1, 0), 4)
    assert not sw.needs_shared_memory(src, dst)
    assert sw.needs_shared_memory(mma((128, 128), (2, 2)), blocked((128, 128), (1, 8), (2, 16), (4, 1)))


@pytest.mark.parametrize(
    "shape, spt, warps, tpw, wpc",
    [
        # blocked layouts as Triton printed them for the matmul's loads and store
        ((128, 16), (1, 8), 4, (16, 2), (4, 1)),
        ((16, 128), (1, 8), 4, (2, 16), (4, 1)),
        ((64, 64), (1, 8), 4, (4, 8), (4, 1)),
        ((32, 256), (1, 4), 4, (1, 32), (2, 2)),
        ((128, 128), (4, 4), 4, (1, 32), (4, 1)),
    ],
)
def test_blocked_params_are_the_compilers(shape, spt, warps, tpw, wpc):
    assert tl.blocked_params(shape, spt, (1, 0), warps) == (tpw, wpc)


@pytest.mark.parametrize(
    "shape, warps, expected",
    [
        ((128, 128), 4, (2, 2)),
        ((64, 128), 8, (2, 4)),
        ((256, 16), 4, (4, 1)),
        ((32, 256), 4, (1, 4)),
        ((128, 128), 2, (1, 2)),
        ((128, 128), 16, (4, 4)),
    ],
)
def test_mma_v2_warps_are_the_compilers(shape, warps, expected):
    assert est._mma_v2_warps(*shape, warps) == expected


def test_tmem_layout_is_the_compilers():
    """The tcgen05.ld layouts Triton printed for 128x128 at 8 warps and 64x64 at 8 warps."""
    got = tl.tmem_accumulator((128, 128), 8)
    assert got.register == tuple((0, 1 << i) for i in range(6))
    assert got.lane == tuple((1 << i, 0) for i in range(5)) and got.warp == ((32, 0), (64, 0), (0, 64))
    got = tl.tmem_accumulator((64, 64), 8)
    assert got.register == ((0, 1), (0, 2), (0, 4), (0, 8))
    assert got.lane == ((1, 0), (2, 0), (4, 0), (8, 0), (0, 16)) and got.warp == ((16, 0), (32, 0), (0, 32))


def test_layouts_cover_the_tile_exactly_once():
    """Every (register, lane, warp) index holds a distinct element and together they cover the tile."""
    for layout in (
        mma((128, 64), (2, 2)),
        mma((128, 256), (8, 1), 256, True),
        tl.tmem_accumulator((256, 128), 8),
        tl.blocked((64, 256), (1, 8), (1, 0), 8),
    ):
        flat = [r + layout.shape[0] * c for r, c in layout.register + layout.lane + layout.warp]
        assert len(sw._rref(flat, 16)) == len(flat) == tl.log2(layout.shape[0] * layout.shape[1])
