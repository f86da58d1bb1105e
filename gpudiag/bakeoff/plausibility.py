"""Figures that cannot be right, and why: checked on every timed row before the report trusts it.

* Below the launch floor (CUDA): each child times, with the same do_bench in the same process, one
  1-element kernel (``floor_ms``) and no work at all (``empty_ms``). A call whose device median is
  nearer the timer's reading of nothing than that of one kernel launched no device work: its
  output came from somewhere other than a kernel (computed at compile time, or never computed).
* Dead work in eager: the eager row's op census marks the ops whose results never reach the call's
  outputs. When most of eager's op time is such work, a compiled mode's speed-up over eager measures
  the dead code inductor removed (a 3 GiB allocation nothing reads gave "39276x eager"), not faster
  kernels: the flag names the ops and how much of the speed-up that alone explains.
"""

from __future__ import annotations

from gpudiag.bakeoff.results import ModeResult

DEAD_SHARE = 0.5  # eager spends at least this share of its op time on dead work


def below_launch_floor(row: ModeResult) -> str | None:
    t = row.timing
    if t is None or t.floor_ms is None or t.empty_ms is None or t.floor_ms <= t.empty_ms:
        return None
    if t.median_ms >= (t.empty_ms + t.floor_ms) / 2:
        return None
    return (
        f"do_bench's {t.median_ms:.4g} ms per call is below the launch floor measured in the same process "
        f"({t.floor_ms:.4g} ms for one 1-element kernel, {t.empty_ms:.4g} ms for no work at all): the call "
        "launched no device work, so its result was computed at compile time or not at all"
    )


def dead_work(row: ModeResult, eager: ModeResult | None, speedup: float | None) -> str | None:
    census = eager.census if eager else None
    if row.mode == "eager" or census is None or speedup is None or speedup <= 1.0:
        return None
    share = census.dead_share
    if share < DEAD_SHARE:
        return None
    explained = 1.0 / max(1.0 - share, 1e-9)
    ops = ", ".join(census.dead_ops) or "see the census"
    return (
        f"{speedup:.3g}x eager is not a kernel speed-up: {share:.0%} of eager's op time goes to work whose "
        f"result is never used ({ops}), which compiling drops as dead code; removing it alone explains "
        f"{min(explained, speedup):.3g}x"
    )


def flags(rows: list[ModeResult], speedups: dict[str, float]) -> dict[str, list[str]]:
    """label -> why its figures cannot be taken at face value (only rows with a reason appear)."""
    eager = next((r for r in rows if r.mode == "eager" and not r.knobs), None)
    out: dict[str, list[str]] = {}
    for r in rows:
        if not r.timed:
            continue
        reasons = [why for why in (below_launch_floor(r), dead_work(r, eager, speedups.get(r.label))) if why]
        if reasons:
            out[r.label] = reasons
    return out
