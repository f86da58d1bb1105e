"""``--shape MxNxK [--groups G]``: how a config's tiles spread over the GPU's SMs.

One block per SM per wave (a persistent GEMM's view, as DeepGEMM's SM-count heuristic takes it):
  tiles     = ceil(M/BM) * ceil(N/BN) * groups
  waves     = ceil(tiles / SMs)
  last wave = the fraction of SMs busy in the last wave
  efficiency = tiles / (waves * SMs), the share of SM-slots doing work over the whole run
  fewest SMs keeping the same waves = ceil(tiles / waves)   (DeepGEMM's SM-minimisation rule)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gpudiag.errors import EXIT_USAGE, GpudiagError

_SHAPE_RE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*[xX]\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shape:
    m: int
    n: int
    k: int


@dataclass(frozen=True)
class WaveReport:
    tiles: int
    waves: int
    last_wave_fill: float  # 0..1
    efficiency: float  # 0..1
    min_sms_same_waves: int
    k_iterations: int  # ceil(K / BK): pipeline depth the K loop actually has


def parse_shape(text: str) -> Shape:
    m = _SHAPE_RE.match(text or "")
    if not m:
        raise GpudiagError(f"malformed --shape '{text}': expected MxNxK, e.g. 4096x4096x4096", EXIT_USAGE)
    shape = Shape(*(int(g) for g in m.groups()))
    if min(shape.m, shape.n, shape.k) <= 0:
        raise GpudiagError(f"--shape '{text}': M, N and K must be positive", EXIT_USAGE)
    return shape


def waves(shape: Shape, bm: int, bn: int, bk: int, sms: int, groups: int = 1) -> WaveReport:
    if sms <= 0:
        raise GpudiagError("the target's SM count is unknown: wave math needs it (use --gpu NAME or a live GPU)",
                           EXIT_USAGE)
    tiles = -(-shape.m // bm) * -(-shape.n // bn) * groups
    w = -(-tiles // sms)
    last = tiles - (w - 1) * sms
    return WaveReport(tiles, w, last / sms, tiles / (w * sms), -(-tiles // w), -(-shape.k // bk))
