"""``--shape MxNxK [--groups G]``: how a config's output tiles spread over the GPU.

Every figure says which assumption it makes:

  tiles            = ceil(M/BM) * ceil(N/BN) * groups; each tile is one program (block)
  with occupancy   blocks per SM from the occupancy calculator (``occupancy.py``):
    persistent grid = SMs * blocks per SM   the programs that run at once, what a persistent
                                            kernel launches (Triton's persistent-matmul tutorial
                                            computes it from the occupancy by hand)
    waves           = ceil(tiles / persistent grid)
    last wave       = the share of the persistent grid busy in the last wave
    efficiency      = tiles / (waves * persistent grid)
  one block per SM (DeepGEMM's view, for kernels that size themselves to occupy each SM once):
    waves           = ceil(tiles / SMs)
    fewest SMs      = ceil(tiles / waves): the SMs that keep the same number of waves
                      (DeepGEMM's SM-count minimisation)

Without registers (no ``--exact``/``--regs``) blocks per SM is an upper bound, so the
occupancy-based waves are a lower bound; the report says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gpudiag.errors import EXIT_USAGE, GpudiagError

_SHAPE_RE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*[xX]\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shape:
    m: int
    n: int
    k: int

    def to_dict(self) -> dict[str, int]:
        return {"m": self.m, "n": self.n, "k": self.k}


@dataclass(frozen=True)
class Waves:
    waves: int
    last_wave_fill: float  # 0..1
    efficiency: float  # 0..1

    @classmethod
    def of(cls, tiles: int, slots: int) -> Waves:
        w = -(-tiles // slots)
        return cls(w, (tiles - (w - 1) * slots) / slots, tiles / (w * slots))

    def to_dict(self) -> dict[str, Any]:
        return {
            "waves": self.waves,
            "last_wave_fill": round(self.last_wave_fill, 4),
            "efficiency": round(self.efficiency, 4),
        }


@dataclass(frozen=True)
class WaveReport:
    tiles: int
    k_iterations: int  # ceil(K / BK): how many stages the K loop actually has
    blocks_per_sm: int | None  # from occupancy; None when the target's SM limits are unknown
    blocks_per_sm_is_bound: bool  # registers unknown: blocks_per_sm is an upper bound
    persistent_grid: int | None  # SMs x blocks per SM
    with_occupancy: Waves | None
    one_block_per_sm: Waves
    fewest_sms_same_waves: int  # DeepGEMM's rule, one block per SM

    def to_dict(self) -> dict[str, Any]:
        return {
            "tiles": self.tiles,
            "k_iterations": self.k_iterations,
            "blocks_per_sm": self.blocks_per_sm,
            "blocks_per_sm_is_upper_bound": self.blocks_per_sm_is_bound,
            "persistent_grid": self.persistent_grid,
            "with_occupancy": None if self.with_occupancy is None else self.with_occupancy.to_dict(),
            "one_block_per_sm": {
                **self.one_block_per_sm.to_dict(),
                "fewest_sms_same_waves": self.fewest_sms_same_waves,
            },
        }


def parse_shape(text: str) -> Shape:
    m = _SHAPE_RE.match(text or "")
    if not m:
        raise GpudiagError(f"malformed --shape '{text}': expected MxNxK, e.g. 4096x4096x4096", EXIT_USAGE)
    shape = Shape(*(int(g) for g in m.groups()))
    if min(shape.m, shape.n, shape.k) <= 0:
        raise GpudiagError(f"--shape '{text}': M, N and K must be positive", EXIT_USAGE)
    return shape


def waves(
    shape: Shape,
    bm: int,
    bn: int,
    bk: int,
    sms: int,
    groups: int = 1,
    blocks_per_sm: int | None = None,
    blocks_per_sm_is_bound: bool = False,
) -> WaveReport:
    if sms <= 0:
        raise GpudiagError(
            "the target's SM count is unknown: wave math needs it (use --gpu NAME or a live GPU)", EXIT_USAGE
        )
    tiles = -(-shape.m // bm) * -(-shape.n // bn) * groups
    one = Waves.of(tiles, sms)
    grid = sms * blocks_per_sm if blocks_per_sm else None
    return WaveReport(
        tiles,
        -(-shape.k // bk),
        blocks_per_sm,
        blocks_per_sm_is_bound,
        grid,
        Waves.of(tiles, grid) if grid else None,
        one,
        -(-tiles // one.waves),
    )
