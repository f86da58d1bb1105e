"""The per-architecture estimate: the buffer counts and epilogues Triton's compiler gives the standard
matmul, family by family (numbers cross-checked against the compiler in test_tiles_cross_arch.py)."""

from __future__ import annotations

import pytest

from gpudiag.tiles import estimate as est
from gpudiag.tiles.dtypes import lookup

FP16, BF16, FP8, INT8, FP32 = (lookup(n) for n in ("fp16", "bf16", "fp8e4m3", "int8", "fp32"))


def tile(bm, bn, bk, stages, warps=4, dt=FP16, b_layout=None):
    return est.MatmulTile(bm, bn, bk, stages, warps, dt, dt, lookup(dt.out), "row", b_layout or dt.b_layout)


def test_issue_example_rtx_4090_fits_with_four_stages():
    """128x128x64:4 on sm_89 (limit 101,376 B): mma.sync pipelines 3 buffers, 98,304 B, and fits;
    5 stages (4 buffers, 131,072 B) do not, so 4 is the largest stage count that fits."""
    t = tile(128, 128, 64, 4)
    e = est.triton_smem(t, 89)
    assert (e.mma, e.a_buffers, e.b_buffers, e.needed_bytes) == ("mma.sync", 3, 3, 98304)
    assert est.largest_stages_that_fit(t, 89, 101376) == 4


@pytest.mark.parametrize(
    "cc, mma, buffers, extra",
    [
        (80, "mma.sync", 3, 0),
        (86, "mma.sync", 3, 0),
        (89, "mma.sync", 3, 0),
        (120, "mma.sync", 3, 0),
        (90, "wgmma", 4, 0),  # the wgmma still reads the oldest buffer: one more (loadRequiresAdditionalBuffer)
        (100, "tcgen05", 4, 16),  # tcgen05's completion barrier is waited a stage later; 2 mbarriers of 8 B
    ],
)
def test_buffers_per_family(cc, mma, buffers, extra):
    e = est.triton_smem(tile(128, 128, 64, 4), cc)
    assert (e.mma, e.a_buffers, e.b_buffers, e.barrier_bytes) == (mma, buffers, buffers, extra)
    assert e.pipeline_bytes == buffers * (128 * 64 + 64 * 128) * 2 + extra


def test_one_stage_is_one_buffer_each_and_falls_back_from_wgmma_and_tcgen05():
    assert est.triton_smem(tile(128, 128, 32, 1), 90).pipeline_bytes == (128 * 32 + 32 * 128) * 2
    assert est.triton_smem(tile(128, 128, 32, 1), 100).barrier_bytes == 8
    # fewer than 4 warps, or BM below 64: mma.sync (stages - 1 buffers) on sm_90 and sm_100 too
    assert est.triton_smem(tile(128, 128, 32, 3, warps=2), 90).mma == "mma.sync"
    assert est.triton_smem(tile(32, 128, 32, 3), 100).mma == "mma.sync"


def test_fp8_b_that_is_not_k_major_stays_out_of_the_wgmma_pipeline():
    """wgmma reads 8-bit operands K-major only: a row-major fp8 B cannot be copied asynchronously
    into that layout, so it passes through one buffer (the H100 table's 40,960 B row)."""
    e = est.triton_smem(tile(128, 128, 64, 4, dt=FP8, b_layout="row"), 90)
    assert (e.a_buffers, e.b_buffers, e.needed_bytes) == (4, 1, 40960)
    assert est.triton_smem(tile(128, 128, 64, 4, dt=FP8, b_layout="col"), 90).b_buffers == 4


def test_tiny_loads_are_not_pipelined():
    """16x16 fp16 over 8 warps: one element (2 bytes) per thread, below cp.async's 4 bytes."""
    assert est.triton_smem(tile(16, 16, 16, 4, warps=8), 90).needed_bytes == 1024


def test_epilogue_is_the_conversion_scratch_not_the_whole_tile():
    # int8 out is int32: the epilogue, 128x128x4 B / 4 turns on sm_80, dominates a shallow pipeline
    e = est.triton_smem(tile(128, 128, 32, 2, dt=INT8), 80)
    assert e.epilogue_bytes == 16384 and e.needed_bytes == max(e.pipeline_bytes, 16384)
    assert est.triton_smem(tile(128, 128, 16, 1), 80).needed_bytes == 16384  # half of 128x128 fp16


def test_fp8_promoted_operands_share_one_place():
    """mma.sync without fp8 support (sm_80 for fp8e5m2): each unpipelined fp8 operand is read into
    fp16 registers and dies before the other is written (the compiler placed both at offset 0)."""
    e5m2 = lookup("fp8e5m2")
    assert est.triton_smem(tile(64, 16, 32, 1, dt=e5m2), 80).pipeline_bytes == 64 * 32
    assert est.triton_smem(tile(64, 16, 32, 1, dt=FP8), 89).pipeline_bytes == 64 * 32 + 32 * 16


@pytest.mark.parametrize(
    "bm, bn, bk, warps, words",
    [
        (96, 96, 32, 4, "BM=96 is not a power of two"),
        (1, 1, 1, 4, "BK=1 is below 16"),
        (64, 64, 8, 4, "BK=8 is below 16"),
        (64, 64, 32, 3, "3 warps"),
    ],
)
def test_tiles_triton_cannot_compile(bm, bn, bk, warps, words):
    assert words in est.tile_problem(tile(bm, bn, bk, 2, warps=warps))


def test_fp8e4m3_needs_sm_89():
    assert "sm_89" in est.target_problem(tile(64, 64, 64, 3, dt=FP8), 86)
    assert est.target_problem(tile(64, 64, 64, 3, dt=FP8), 89) is None
    assert est.target_problem(tile(64, 64, 64, 3, dt=lookup("fp8e5m2")), 80) is None  # promoted to fp16


def test_largest_stages_never_exceeds_the_limit_and_one_more_does():
    for cc in est.MODELLED:
        for t in (tile(128, 256, 64, 3, warps=8), tile(64, 64, 32, 3), tile(256, 128, 64, 3, 8, BF16)):
            n = est.largest_stages_that_fit(t, cc, 101376)
            if n:
                assert est.triton_smem(est.MatmulTile(*_with(t, n)), cc).needed_bytes <= 101376
            if n < est.MAX_STAGES:
                assert est.triton_smem(est.MatmulTile(*_with(t, n + 1)), cc).needed_bytes > 101376


def _with(t, stages):
    return (t.block_m, t.block_n, t.block_k, stages, t.warps, t.a, t.b, t.out, t.a_layout, t.b_layout)
