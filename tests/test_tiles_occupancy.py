"""check-tiles' occupancy equals the driver's cuOccupancyMaxActiveBlocksPerMultiprocessor on an H200.

tests/data/h200_occupancy_ground_truth.json was recorded by bench/tiles/occupancy_ground_truth.py:
404 Triton kernels compiled for sm_90 (tiles 16..256, warps 1..8, stages 1..4, fp16 and fp32, and a
maxnreg sweep from 24 to 255 registers), each loaded and asked at its launch configuration, plus
61,300 launches swept over block sizes and dynamic shared-memory sizes.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from recorded_devices import h200_facts

from gpudiag.errors import GpudiagError
from gpudiag.tiles.occupancy import SmResources, occupancy

TRUTH = json.loads((Path(__file__).parent / "data" / "h200_occupancy_ground_truth.json").read_text())
SM = SmResources.for_device(h200_facts())


def test_every_compiled_kernel_at_its_launch_configuration():
    rows = [r for r in TRUTH["rows"] if "blocks_per_sm" in r]
    assert len(rows) >= 400
    wrong = []
    for r in rows:
        occ = occupancy(
            SM,
            threads=r["threads"],
            smem_bytes=r["shared"],
            regs_per_thread=r["n_regs"],
            static_smem_bytes=r["func"]["static_shared_bytes"],
        )
        if occ.blocks_per_sm != r["blocks_per_sm"]:
            wrong.append(
                (
                    r["kind"],
                    r["block"],
                    r["warps"],
                    r["stages"],
                    r["n_regs"],
                    r["shared"],
                    occ.blocks_per_sm,
                    r["blocks_per_sm"],
                )
            )
    assert not wrong, f"{len(wrong)} of {len(rows)} differ from the driver, e.g. {wrong[:5]}"


def test_every_swept_launch():
    sweep = TRUTH["sweep"]
    assert len(sweep) > 50_000
    wrong = [
        row
        for row in sweep
        if occupancy(
            SM, threads=row[1], smem_bytes=row[2], regs_per_thread=row[0], static_smem_bytes=row[3]
        ).blocks_per_sm
        != row[4]
    ]
    assert not wrong, f"{len(wrong)} of {len(sweep)} differ from the driver, e.g. {wrong[:5]}"


def test_issue_example_one_warp_96_registers_is_20_blocks_not_21():
    occ = occupancy(SM, threads=32, smem_bytes=0, regs_per_thread=96)
    assert occ.blocks_per_sm == 20 and occ.limiters == ("regs",)
    assert 65536 // (96 * 32) == 21  # the naive per-SM division the sub-partitions rule out


def test_register_limit_per_block_refuses_the_launch():
    occ = occupancy(SM, threads=1024, smem_bytes=0, regs_per_thread=255)
    assert occ.blocks_per_sm == 0 and "too many resources requested for launch" in occ.cannot_launch
    # 3 warps at 255 registers: 3 x 8,192 fits the software check but the hardware rounds to 4 warps
    assert occupancy(SM, threads=96, smem_bytes=0, regs_per_thread=255).cannot_launch is None
    assert occupancy(SM, threads=288, smem_bytes=0, regs_per_thread=255).cannot_launch is not None


def test_threads_and_shared_memory_over_the_limits():
    assert "threads per block" in occupancy(SM, threads=1056, smem_bytes=0, regs_per_thread=None).cannot_launch
    over = occupancy(SM, threads=128, smem_bytes=SM.smem_per_block_optin + 1, regs_per_thread=None)
    assert over.blocks_per_sm == 0 and "shared memory" in over.cannot_launch
    at = occupancy(SM, threads=128, smem_bytes=SM.smem_per_block_optin, regs_per_thread=None)
    assert at.blocks_per_sm == 1 and at.cannot_launch is None


def test_unknown_registers_give_the_shared_memory_and_thread_bound():
    occ = occupancy(SM, threads=256, smem_bytes=40_000, regs_per_thread=None)
    assert occ.by_regs is None and not occ.registers_known
    assert occ.blocks_per_sm == min(occ.by_smem, occ.by_warps, occ.by_blocks)
    assert occ.smem_per_block == 41_088  # 40,000 + 1,024 reserved, rounded up to 128


def test_limiters_and_theoretical_occupancy():
    occ = occupancy(SM, threads=128, smem_bytes=16_384, regs_per_thread=128)
    # regs: 4,096 per warp, 4 warps per sub-partition -> 16 warps -> 4 blocks; smem: 233,472 // 17,408 = 13
    assert occ.by_regs == 4 and occ.by_smem == 13 and occ.blocks_per_sm == 4 and occ.limiters == ("regs",)
    assert occ.occupancy == pytest.approx(16 / 64)


def test_missing_device_limits_are_named():
    facts = h200_facts()
    facts.regs_per_sm = facts.smem_per_sm_bytes = None
    with pytest.raises(GpudiagError, match="regs_per_sm, smem_per_sm"):
        SmResources.for_device(facts)


ALLOC_UNIT_SWEEP = json.loads((Path(__file__).parent / "data" / "h200_occupancy_alloc_unit_sweep.json").read_text())


def test_shared_memory_allocation_unit_is_128_bytes_as_the_driver_says():
    """A second H200 run (2026-12-02) swept shared-memory sizes that fall between 128- and 256-byte
    boundaries at every maxnreg register count: every launch equals the driver, and the same model
    with a 256-byte unit would not (so the sweep really tells the two apart)."""
    sweep = ALLOC_UNIT_SWEEP["sweep"]
    assert len(sweep) > 4000

    def differ(sm: SmResources) -> list:
        return [
            row
            for row in sweep
            if occupancy(
                sm, threads=row[1], smem_bytes=row[2], regs_per_thread=row[0], static_smem_bytes=row[3]
            ).blocks_per_sm
            != row[4]
        ]

    wrong = differ(SM)
    assert not wrong, f"{len(wrong)} of {len(sweep)} differ from the driver, e.g. {wrong[:5]}"
    assert SM.smem_alloc_unit == 128
    assert differ(dataclasses.replace(SM, smem_alloc_unit=256))
