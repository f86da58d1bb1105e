"""``--exact``: compile each config for the target, then the stage counts around the estimate's
largest one, so that the largest stage count that fits is the compiler's too."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from gpudiag.tiles import estimate as est
from gpudiag.tiles import exact as exact_mod
from gpudiag.tiles.report import CANNOT_COMPILE, ExactInfo, TileVerdict
from gpudiag.tiles.target import Target

Progress = Callable[[str, int, int], None]  # (what, done, total)


def job_for(t: est.MatmulTile, stages: int, capability: int) -> exact_mod.ExactJob:
    """The compile of ``t`` at ``stages``, its dot precision explicit (never left to the environment
    of the compile, so the cache key names it)."""
    a, b = t.a, t.b
    precision = est.input_precision(t)
    if precision is not None:
        a, b = dataclasses.replace(a, dot_precision=precision), dataclasses.replace(b, dot_precision=precision)
    return exact_mod.job_for(t.block_m, t.block_n, t.block_k, stages, t.warps, a, b, t.a_layout, t.b_layout, capability)


def apply_exact(
    items: list[tuple[est.MatmulTile, TileVerdict]],
    target: Target,
    jobs: int | None,
    use_cache: bool,
    progress: Progress | None,
) -> None:
    """Fill each verdict's compiled numbers (or why it does not compile) and the compiler's largest
    stage count that fits the target."""
    cc = target.capability
    assert cc is not None

    def run(todo: list[exact_mod.ExactJob], what: str) -> list[exact_mod.ExactResult]:
        cb = (lambda done, total: progress(what, done, total)) if progress is not None else None
        return exact_mod.run_exact(todo, jobs, use_cache, cb)

    for (_, v), r in zip(items, run([job_for(t, t.stages, cc) for t, _ in items], "compiling")):
        v.exact = ExactInfo(
            r.shared_bytes, r.regs_per_thread, r.spills, r.error, r.error_summary, r.cached, round(r.compile_s, 3)
        )
        if r.error:
            v.status, v.fits, v.needed_bytes, v.cannot_compile = CANNOT_COMPILE, False, None, r.error_summary
            continue
        v.needed_bytes = r.shared_bytes
        v.registers_source = "compiler" if r.regs_per_thread is not None else None

    limit = target.limit_bytes
    # The stage-count search: start from the estimate's answer (the estimate is never below the
    # compiler, so the compiler's answer is at least that) and move one stage at a time.
    searching = [(t, v) for t, v in items if v.exact and not v.exact.error]
    shared: dict[tuple[int, int], int | None] = {}  # (item, stages) -> compiled bytes (None: failed)
    for i, (t, v) in enumerate(searching):
        shared[(i, t.stages)] = v.exact.shared_bytes if v.exact else None
    cand = {i: min(max(v.largest_stages_that_fit or 0, 0), est.MAX_STAGES) for i, (_, v) in enumerate(searching)}
    done: dict[int, int] = {}
    while len(done) < len(searching):
        need = []
        for i in range(len(searching)):
            if i in done:
                continue
            for s in (cand[i], cand[i] + 1):
                if 1 <= s <= est.MAX_STAGES and (i, s) not in shared:
                    need.append((i, s))
        if need:
            for (i, s), r in zip(need, run([job_for(searching[i][0], s, cc) for i, s in need], "stage counts")):
                shared[(i, s)] = None if r.error else r.shared_bytes
        for i in range(len(searching)):
            if i in done:
                continue

            def fits(s: int, i: int = i) -> bool:
                got = shared.get((i, s))
                return got is not None and got <= limit

            if cand[i] >= 1 and not fits(cand[i]):
                cand[i] -= 1
            elif cand[i] + 1 <= est.MAX_STAGES and fits(cand[i] + 1):
                cand[i] += 1
            else:
                done[i] = cand[i]
    for i, (_, v) in enumerate(searching):
        v.largest_stages_that_fit, v.largest_stages_source = done[i], "compiler"
