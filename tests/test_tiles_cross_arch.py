"""The per-architecture estimate against Triton's compiler on every family, held-out sets included.

tests/data/tiles_cross_arch_ground_truth.json was recorded by bench/tiles_cross_arch_ground_truth.py
(the Triton matmul compiled on this CPU for each GPUTarget with Triton 3.9; raw results in
bench/results/2026-12-01-cpu-tiles-cross-arch/). Its sets: "tuning" (random configs on sm_80, 86,
89, 90, 100, 120, the distribution the estimate was developed against), "held-out-inductor"
(torch inductor's own candidate lists) and "held-out-arch" (sm_87, sm_103, sm_121, never looked at
while developing the estimate).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from gpudiag.tiles import estimate as est
from gpudiag.tiles.dtypes import lookup

TABLE = json.loads((Path(__file__).parent / "data" / "tiles_cross_arch_ground_truth.json").read_text())
ROWS = TABLE["rows"]


def _tile(r):
    a = lookup(r["dtype"])
    return est.MatmulTile(r["block_m"], r["block_n"], r["block_k"], r["stages"], r["warps"], a, a, lookup(a.out),
                          r["a_layout"], r["b_layout"])


def _problem(r):
    t = _tile(r)
    return est.tile_problem(t) or est.target_problem(t, r["cc"])


def _agreement(rows):
    """(equal, compiled) for the rows the compiler compiled."""
    done = [r for r in rows if r["shared"] is not None]
    return sum(est.triton_smem(_tile(r), r["cc"]).needed_bytes == r["shared"] for r in done), len(done)


def test_table_covers_every_family_and_both_held_out_sets():
    assert len(ROWS) >= 250 and TABLE["meta"]["script"] == "bench/tiles_cross_arch_ground_truth.py"
    assert {r["cc"] for r in ROWS} >= {80, 86, 87, 89, 90, 100, 103, 120, 121}
    assert {r["set"] for r in ROWS} == {"tuning", "held-out-inductor", "held-out-arch"}
    assert {r["dtype"] for r in ROWS} >= {"fp16", "bf16", "fp32", "tf32", "fp8e4m3", "fp8e5m2", "int8"}


def test_never_below_the_compiler():
    below = [(r, est.triton_smem(_tile(r), r["cc"]).needed_bytes) for r in ROWS if r["shared"] is not None
             and est.triton_smem(_tile(r), r["cc"]).needed_bytes < r["shared"]]
    assert not below


def test_refusals_are_predicted_and_only_those():
    for r in ROWS:
        assert (_problem(r) is not None) == ("error" in r), r


@pytest.mark.parametrize("cc", sorted({r["cc"] for r in ROWS}))
def test_equal_to_the_compiler_on_each_architecture(cc):
    equal, n = _agreement([r for r in ROWS if r["cc"] == cc])
    assert n >= 10 and equal >= 0.9 * n, f"sm_{cc}: {equal} of {n} equal"


@pytest.mark.parametrize("which", ["tuning", "held-out-inductor", "held-out-arch"])
def test_equal_to_the_compiler_in_each_set(which):
    equal, n = _agreement([r for r in ROWS if r["set"] == which])
    assert equal >= 0.9 * n, f"{which}: {equal} of {n} equal"


def agreement_table() -> dict:
    """Per set and architecture, for docs/BENCHMARKS.md: python3 -c 'import tests...'"""
    out = defaultdict(dict)
    for which in ("tuning", "held-out-inductor", "held-out-arch"):
        for cc in sorted({r["cc"] for r in ROWS if r["set"] == which}):
            out[which][f"sm_{cc}"] = _agreement([r for r in ROWS if r["set"] == which and r["cc"] == cc])
    return dict(out)
