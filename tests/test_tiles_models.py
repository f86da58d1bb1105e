"""The CUTLASS model (the DGX Spark case computed, not looked up) and the wave math."""

from __future__ import annotations

import pytest

from gpudiag.errors import GpudiagError
from gpudiag.tiles import cutlass
from gpudiag.tiles.dtypes import lookup
from gpudiag.tiles.waves import Shape, parse_shape, waves

FP16, BF16, FP4 = lookup("fp16"), lookup("bf16"), lookup("fp4")


def test_fp4_sizes_and_bytes_k():
    assert FP4.bytes_for(128 * 128) == 8192
    with pytest.raises(GpudiagError):
        lookup("fp7")


def test_cutlass_dgx_spark_stage_arithmetic():
    """128x256x64B nvfp4, grouped, sm_121: every term from CUTLASS's own formula."""
    m = cutlass.stage_model(
        128,
        256,
        128,
        FP4,
        FP4,
        121,
        grouped=True,
        epilogue_smem=0,
        kernel_carveout=None,
        block_scaled=True,
        scale_vector=None,
    )
    assert (m.a_tile_bytes, m.b_tile_bytes) == (128 * 128 // 2, 256 * 128 // 2)
    assert (m.sfa_bytes, m.sfb_bytes, m.scale_vector) == (128 * 128 // 16, 256 * 128 // 16, 16)
    assert m.stage_bytes == m.a_tile_bytes + m.b_tile_bytes + m.sfa_bytes + m.sfb_bytes + 16
    fam = cutlass.family_for(121)
    assert fam.capacity_bytes == 101376 and 120 in fam.archs  # one constant for the whole sm_12x family
    assert m.auto_stages == (fam.capacity_bytes - fam.grouped_carveout) // m.stage_bytes == 3
    # with an epilogue storage that brings 3 stages to 100 KiB, the launch is 1 KiB over 99 KiB
    base = cutlass.launch_bytes(m, 3)
    epi = 102400 - base
    m2 = cutlass.stage_model(128, 256, 128, FP4, FP4, 121, True, epi, None, True, None)
    assert cutlass.launch_bytes(m2, 3) == 102400
    assert cutlass.largest_stages_that_fit(m2, 101376) == 2
    assert m2.auto_stages == 2  # the builder's own rule, given the true carveout, would have picked 2


def test_cutlass_unknown_family():
    with pytest.raises(GpudiagError) as exc:
        cutlass.family_for(75)
    assert "no builder family" in exc.value.message


def test_waves_one_block_per_sm_deepgemm_rule():
    w = waves(Shape(4096, 4096, 4096), 128, 256, 64, 132)
    assert w.tiles == 32 * 16 and w.one_block_per_sm.waves == 4
    assert w.fewest_sms_same_waves == 128  # ceil(512 / 4)
    assert w.one_block_per_sm.last_wave_fill == pytest.approx((512 - 3 * 132) / 132)
    assert w.with_occupancy is None and w.persistent_grid is None  # no occupancy given
    assert waves(Shape(256, 256, 64), 128, 128, 64, 132, groups=8).tiles == 32
    with pytest.raises(GpudiagError):
        parse_shape("4096x4096")
    with pytest.raises(GpudiagError):
        parse_shape("0x1x1")


def test_waves_with_occupancy_issue_example():
    """64x64x32 at 8192^3 on an H100's 132 SMs: 16,384 tiles. Six blocks fit per SM, so the
    persistent grid is 792 and the tiles take 21 waves, not the 125 one block per SM gives."""
    w = waves(Shape(8192, 8192, 8192), 64, 64, 32, 132, blocks_per_sm=6)
    assert w.tiles == 16384 and w.persistent_grid == 792
    assert w.with_occupancy.waves == 21 and w.one_block_per_sm.waves == 125
    assert w.with_occupancy.last_wave_fill == pytest.approx((16384 - 20 * 792) / 792)
    assert w.k_iterations == 256
