"""Device facts as a GPU itself reported them, for tests that compare with launches recorded on it.

``h200_facts()`` is the H200's ``cuDeviceGetAttribute`` answers as recorded beside its occupancy
ground truth (tests/data/h200_occupancy_ground_truth.json, bench/tiles/occupancy_ground_truth.py): the
per-SM and per-block limits the occupancy calculator and a check-tiles target read, with nothing
taken from gpudiag's own catalogue, so a test against that GPU's recorded launches means it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

H200_TRUTH = Path(__file__).parent / "data" / "h200_occupancy_ground_truth.json"


@cache
def _h200_recorded() -> dict[str, Any]:
    return json.loads(H200_TRUTH.read_text())


def h200_facts() -> SimpleNamespace:
    """The recorded H200 as a ``DeviceFacts``-shaped object (a fresh one on every call)."""
    doc = _h200_recorded()
    a = doc["device_attributes"]
    return SimpleNamespace(
        name=doc["meta"]["device"],
        compute_capability=(a["cc_major"], a["cc_minor"]),
        regs_per_sm=a["regs_per_sm"],
        regs_per_block=a["regs_per_block"],
        max_threads_per_sm=a["max_threads_per_sm"],
        max_threads_per_block=a["max_threads_per_block"],
        max_blocks_per_sm=a["max_blocks_per_sm"],
        smem_per_sm_bytes=a["smem_per_sm"],
        smem_per_block_optin_bytes=a["smem_per_block_optin"],
        smem_reserved_per_block_bytes=a["smem_reserved_per_block"],
        warp_size=a["warp_size"],
        sm_count=a["sm_count"],
        sm=f"sm_{a['cc_major']}{a['cc_minor']}",
        origin="live",
        sources={},
    )
