"""The estimate, the CUTLASS model (the DGX Spark case computed, not looked up) and the wave math."""

from __future__ import annotations

import pytest

from gpudiag.errors import GpudiagError
from gpudiag.tiles import cutlass, estimate
from gpudiag.tiles.dtypes import lookup
from gpudiag.tiles.waves import Shape, parse_shape, waves

FP16, BF16, FP4 = lookup("fp16"), lookup("bf16"), lookup("fp4")


def test_triton_estimate_formula():
    b = estimate.triton_smem(128, 256, 64, 3, FP16, FP16, FP16)
    assert b.pipeline_bytes == 3 * (128 * 64 + 64 * 256) * 2 and b.needed_bytes == b.pipeline_bytes
    # epilogue buffer larger than one-stage operands: it decides
    b = estimate.triton_smem(128, 128, 32, 1, lookup("int8"), lookup("int8"), lookup("int32"))
    assert b.needed_bytes == b.epilogue_bytes == 128 * 128 * 4
    # inductor's 128x128x128 NS=4 bf16 candidate: the 262144 bytes the issue quotes
    assert estimate.triton_smem(128, 128, 128, 4, BF16, BF16, BF16).needed_bytes == 262144
    assert estimate.largest_stages_that_fit(128, 128, 128, BF16, BF16, BF16, 232448) == 3


def test_blocks_per_sm():
    assert estimate.blocks_per_sm_by_smem(98304, 233472, 1024, 32) == 2  # (98304+1024) x 2 <= 233472
    assert estimate.blocks_per_sm_by_smem(0, 233472, 1024, 32) == 32  # 1024 reserved each: 228 > 32 cap
    assert estimate.blocks_per_sm_by_smem(1000, None, None, None) is None


def test_fp4_sizes_and_bytes_k():
    assert FP4.bytes_for(128 * 128) == 8192
    with pytest.raises(GpudiagError):
        lookup("fp7")


def test_cutlass_dgx_spark_stage_arithmetic():
    """128x256x64B nvfp4, grouped, sm_121: every term from CUTLASS's own formula."""
    m = cutlass.stage_model(128, 256, 128, FP4, FP4, 121, grouped=True, epilogue_smem=0, kernel_carveout=None,
                            block_scaled=True, scale_vector=None)
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


def test_waves_deepgemm_rule():
    w = waves(Shape(4096, 4096, 4096), 128, 256, 64, 132)
    assert w.tiles == 32 * 16 and w.waves == 4
    assert w.min_sms_same_waves == 128  # ceil(512 / 4)
    assert w.last_wave_fill == pytest.approx((512 - 3 * 132) / 132)
    assert waves(Shape(256, 256, 64), 128, 128, 64, 132, groups=8).tiles == 32
    with pytest.raises(GpudiagError):
        parse_shape("4096x4096")
    with pytest.raises(GpudiagError):
        parse_shape("0x1x1")
