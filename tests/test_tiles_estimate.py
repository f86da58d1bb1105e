"""The per-architecture estimate: the buffer counts and epilogues Triton's compiler gives the standard
matmul, family by family (numbers cross-checked against the compiler in test_tiles_cross_arch.py)."""

from __future__ import annotations

import pytest

from gpudiag.tiles import estimate as est
from gpudiag.tiles.dtypes import lookup

FP16, BF16, FP8, INT8, FP32 = (lookup(n) for n in ("fp16", "bf16", "fp8e4m3", "int8", "fp32"))
FP32_IEEE, TF32 = lookup("fp32-ieee"), lookup("tf32")


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
        (64, 64, 8, 4, "BK=8 is below 16 (tl.dot needs K >= 16 for 16-bit operands"),
        (64, 64, 32, 3, "3 warps"),
    ],
)
def test_tiles_triton_cannot_compile(bm, bn, bk, warps, words):
    assert words in est.tile_problem(tile(bm, bn, bk, 2, warps=warps))


@pytest.mark.parametrize(
    "dt, bk, version, refused",
    [
        (FP8, 16, None, "BK=16 is below 32 (tl.dot needs K >= 32 for 8-bit operands"),
        (INT8, 16, "3.6.0", "below 32"),
        (FP8, 32, None, None),
        (FP16, 16, None, None),
        (FP32, 8, None, None),  # min_dot_size: 8 for 32-bit operands from Triton 3.8 on
        (FP32, 8, "3.9.0", None),
        (FP32, 8, "3.8.0", None),
        (
            FP32,
            8,
            "3.7.0",
            "BK=8 is below 16 (tl.dot needs K >= 16 for 32-bit operands on NVIDIA GPUs with Triton 3.7.0",
        ),
        (FP32, 8, "3.6.0", "below 16"),
        (TF32, 4, None, "BK=4 is below 8"),
    ],
)
def test_smallest_k_follows_the_operand_width_and_the_triton(dt, bk, version, refused):
    """triton/backends/nvidia/compiler.py min_dot_size: (1, 1, 32) for 8-bit, (1, 1, 8) for 32-bit
    (3.8 and 3.9; 16 in 3.6 and 3.7), (1, 1, 16) otherwise, the same for every architecture."""
    problem = est.tile_problem(tile(64, 64, bk, 3, dt=dt), version)
    assert problem is None if refused is None else refused in problem


def test_fp32_is_tl_dots_default_tf32_and_fp32_ieee_is_fma(monkeypatch):
    """tl.dot with no input_precision multiplies fp32 as tf32: wgmma on sm_90 with `stages` buffers. The
    issue's false fit: 256x256x32:4@4 needs 262,144 B, over sm_90's 232,448, not the FMA path's 196,608."""
    monkeypatch.delenv("TRITON_F32_DEFAULT", raising=False)
    e = est.triton_smem(tile(256, 256, 32, 4, dt=FP32), 90)
    assert (e.mma, e.a_buffers, e.needed_bytes) == ("wgmma", 4, 262144)
    assert est.input_precision(tile(256, 256, 32, 4, dt=FP32)) == "tf32"
    e = est.triton_smem(tile(256, 256, 32, 4, dt=FP32_IEEE), 90)
    assert (e.mma, e.a_buffers, e.needed_bytes) == ("fma", 3, 196608)
    assert est.triton_smem(tile(256, 256, 32, 4, dt=TF32), 90).needed_bytes == 262144
    # mma.sync families pipeline stages-1 either way
    assert est.triton_smem(tile(128, 128, 32, 3, dt=FP32), 89).needed_bytes == 65536


def test_triton_f32_default_decides_for_fp32_only(monkeypatch):
    from gpudiag.errors import GpudiagError
    from gpudiag.tiles import precision

    monkeypatch.setenv("TRITON_F32_DEFAULT", "ieee")
    assert est.triton_smem(tile(256, 256, 32, 4, dt=FP32), 90).mma == "fma"
    assert est.triton_smem(tile(256, 256, 32, 4, dt=TF32), 90).mma == "wgmma"  # an explicit precision wins
    p = precision.dot_precision(FP32)
    assert (p.value, p.modelled) == ("ieee", True) and "TRITON_F32_DEFAULT=ieee" in p.source
    assert precision.dot_precision(FP16) is None
    monkeypatch.setenv("TRITON_F32_DEFAULT", "TF32x3")  # Triton lower-cases it
    assert precision.dot_precision(FP32).value == "tf32x3" and not precision.dot_precision(FP32).modelled
    monkeypatch.setenv("TRITON_F32_DEFAULT", "fp64")
    with pytest.raises(GpudiagError) as exc:
        precision.dot_precision(FP32)
    assert "tf32, tf32x3, ieee, bf16x3, bf16x6" in exc.value.message
    monkeypatch.delenv("TRITON_F32_DEFAULT")
    assert precision.f32_default(allow_tf32=False).value == "ieee"  # tl.dot(allow_tf32=False)
    assert precision.f32_default(allow_tf32=True).value == "tf32"


@pytest.mark.parametrize(
    "bm, bn, warps, mma, acc, bound, spills",
    [
        (128, 256, 8, "mma.sync", 128, 152, False),  # the RTX 4090 case of issue 19
        (64, 64, 4, "wgmma", 32, 56, False),
        (128, 128, 4, "tcgen05", 128, 140, False),  # in tensor memory during the loop: a smaller floor
        (128, 256, 4, "wgmma", 256, 255, True),
        (256, 256, 32, "mma.sync", 64, 64, True),  # 1,024 threads: ptxas caps a thread at 64
    ],
)
def test_register_lower_bound_from_the_accumulator(bm, bn, warps, mma, acc, bound, spills):
    from gpudiag.tiles.registers import accumulator_bound

    rb = accumulator_bound(bm, bn, warps, mma)
    assert (rb.accumulator, rb.lower_bound, rb.spills_likely) == (acc, bound, spills)


def test_register_lower_bound_is_below_every_compiled_kernel():
    """The floors stay under every kernel of tests/data: each compiled kernel the bound says does not
    spill has at least the bound's registers; each it says spills does (ptxas then picks any count:
    a 2-warp 128x128 kernel on sm_90 got 32 registers and 1,660 spills, so no bound is used then)."""
    import json
    from pathlib import Path

    from gpudiag.tiles.registers import accumulator_bound

    data = Path(__file__).parent / "data"
    rows = []
    for name in ("tiles_cross_arch_ground_truth", "tiles_cross_arch_ground_truth_triton36"):
        for r in json.loads((data / f"{name}.json").read_text())["rows"]:
            if r["n_regs"]:
                rows.append((r, r["cc"], r["block_m"], r["block_n"], r["warps"], r["n_regs"], r["n_spills"]))
    for r in json.loads((data / "h200_occupancy_ground_truth.json").read_text())["rows"]:
        if r["kind"] == "grid":
            rows.append((r, 90, r["block"][0], r["block"][1], r["warps"], r["n_regs"], r["n_spills"]))
    assert len(rows) > 900
    for r, cc, bm, bn, warps, regs, spills in rows:
        mma = "tcgen05" if cc in (100, 103) and warps in (4, 8) and bm % 64 == 0 else "mma.sync"
        rb = accumulator_bound(bm, bn, warps, mma)
        if rb.spills_likely:
            assert spills > 0, r
        else:
            assert regs >= rb.lower_bound, r


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
