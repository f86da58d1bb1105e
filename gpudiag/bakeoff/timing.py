"""How the bake-off times one call: triton's ``do_bench``, its CPU twin, and a loop of calls.

Check it against ``triton.testing.do_bench`` (triton/testing.py), which this follows:

* on CUDA, ``do_bench_cuda`` IS triton's do_bench: it estimates the call from 5 runs, runs
  ``warmup`` ms of calls, then ``rep`` ms of reps, each after zeroing a 256 MiB buffer (an L2
  flush) and between two CUDA events; every rep is kept (``return_mode="all"``);
* on the CPU, ``do_bench_cpu`` is the same algorithm with ``time.perf_counter`` in place of the
  events and no flush (CPU caches stay warm, as in a serving loop), and at least MIN_CPU_REPS reps;
* ``bench_loop`` times calls issued back to back, host included, which do_bench cannot see (the
  host's issue time hides behind the flush): ``with_per_call`` ranks a launch-bound call by it;
* ``launch_floor`` reads the same timer on one tiny kernel and on no work at all, the figures no
  real call can beat.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from time import perf_counter
from typing import Any

from gpudiag.bakeoff.results import Stats, Timing

MIN_CPU_REPS = 5  # quartiles need a few reps even for a call slower than the budget
MAX_CPU_REPS = 100_000
# A row whose back-to-back calls take this much longer than do_bench's device median is launch-bound.
LAUNCH_BOUND_RATIO = 1.15
# ... and so is one whose do_bench quartiles lie further apart than this share of its median. The L2
# is flushed before every repetition, so a call that keeps the GPU busy repeats within a few percent
# (H200, torch 2.11: 0.1-5% on softmax over a 128k vocabulary and on an fp32 GEMM); when the host
# issues the call more slowly than the flush runs, host gaps land between the events and spread
# them (10-108% on RMSNorm and the decode-size MLP there, whose loop time was once *below* its
# median, so the ratio above alone missed it: bench/results/2026-12-02-h200-final-1, -bakeoff).
UNSTEADY_DEVICE_SPREAD = 0.10
LOOP_ROUND_MS = 5.0  # calls per round chosen so a round lasts about this long: the sync at its end is noise
MIN_LOOP_ROUNDS = 3
FLOOR_BUDGET_MS = (10.0, 50.0)


def stats(times_ms: list[float]) -> Stats:
    xs = sorted(float(t) for t in times_ms)
    if len(xs) >= 2:
        q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    else:
        q1 = q3 = xs[0]
    return Stats(statistics.median(xs), xs[0], q1, q3, xs[-1], statistics.fmean(xs), len(xs))


def do_bench_cpu(fn: Callable[[], Any], warmup: float = 25, rep: float = 100) -> list[float]:
    """triton.testing.do_bench(fn, warmup, rep, return_mode="all") with the wall clock: ms per rep."""
    clock = perf_counter
    fn()
    start = clock()
    for _ in range(5):
        fn()
    estimate_ms = max((clock() - start) * 1e3 / 5, 1e-6)
    n_warmup = max(1, int(warmup / estimate_ms))
    n_repeat = min(MAX_CPU_REPS, max(MIN_CPU_REPS, int(rep / estimate_ms)))
    for _ in range(n_warmup):
        fn()
    times = []
    for _ in range(n_repeat):
        t0 = clock()
        fn()
        times.append((clock() - t0) * 1e3)
    return times


def do_bench_cuda(fn: Callable[[], Any], warmup: float = 25, rep: float = 100) -> tuple[list[float], str]:
    """Triton's own do_bench, every rep (older triton without return_mode="all": five quantiles)."""
    from triton.testing import do_bench

    try:
        times = do_bench(fn, warmup=warmup, rep=rep, return_mode="all")
        if isinstance(times, (list, tuple)) and times:
            return [float(t) for t in times], "triton.testing.do_bench(return_mode='all')"
    except (TypeError, ValueError, AssertionError):
        pass
    qs = do_bench(fn, warmup=warmup, rep=rep, quantiles=[0.0, 0.25, 0.5, 0.75, 1.0])
    return [float(q) for q in qs], "triton.testing.do_bench(quantiles=...)"


def bench_loop(
    call: Callable[[], Any],
    sync: Callable[[], Any],
    budget_ms: float,
    round_ms: float = LOOP_ROUND_MS,
    estimate_ms: float | None = None,
) -> tuple[list[float], int]:
    """Wall time per call of calls issued back to back, host included: rounds of K calls, each ended by
    one sync, for ``budget_ms`` (at least MIN_LOOP_ROUNDS rounds). Returns (ms per call per round, K).

    K comes from ``estimate_ms`` (do_bench's median: no extra calls, which matters when one call
    takes seconds) or, without one, from timing a few calls first.
    """
    clock = perf_counter
    if estimate_ms is None:
        sync()
        n, start = 0, clock()
        while n < 2 or (clock() - start) * 1e3 < 1.0:
            call()
            n += 1
        sync()
        estimate_ms = (clock() - start) * 1e3 / n
    per_round = max(1, int(round_ms / max(estimate_ms, 1e-6)))
    times: list[float] = []
    sync()
    end = clock() + budget_ms / 1e3
    while len(times) < MIN_LOOP_ROUNDS or clock() < end:
        t0 = clock()
        for _ in range(per_round):
            call()
        sync()
        times.append((clock() - t0) * 1e3 / per_round)
    return times, per_round


def time_cpu(call: Callable[[], Any], warmup_ms: float, rep_ms: float) -> Timing:
    """The wall clock per call already includes the host: it is its own per-call figure."""
    s = stats(do_bench_cpu(call, warmup_ms, rep_ms))
    return Timing(
        timer="wall clock (do_bench's algorithm, time.perf_counter per call)",
        warmup_ms=warmup_ms,
        rep_ms=rep_ms,
        **vars(s),
        per_call_ms=s.median_ms,
        per_call_q1_ms=s.q1_ms,
        per_call_q3_ms=s.q3_ms,
        per_call_source="wall clock",
    )


def time_cuda(call: Callable[[], Any], sync: Callable[[], Any], warmup_ms: float, rep_ms: float) -> Timing:
    """Device time (do_bench) and host-inclusive time per call (back-to-back loop), and which one ranks.

    do_bench flushes the L2 (a ~90 us memset of 256 MiB on an H100) before each repetition and times
    the call between device events. When the host needs longer than that flush to issue one call,
    the GPU starves mid-call and the event pair measures host issue time minus the flush: on the
    H100 host, the small MLP's default mode gave do_bench medians from 0.064 to 0.150 ms in one
    process while its calls took 0.10-0.20 ms each back to back (bench/bakeoff/diag_launch_bound.py).
    So a loop of calls is timed too, and a call whose loop is clearly slower than its device time
    is launch-bound and ranked by the loop: what one call really costs when the host is the limit.
    """
    times, timer = do_bench_cuda(call, warmup_ms, rep_ms)
    s = stats(times)
    # A call whose device time alone fills a round runs one call per round whatever the host adds:
    # no calls need to be spent estimating it (they cost seconds for large workloads).
    loop, per_round = bench_loop(
        call, sync, rep_ms / 2, estimate_ms=s.median_ms if s.median_ms >= LOOP_ROUND_MS else None
    )
    lt = stats(loop)
    return with_per_call(
        Timing(
            timer=timer,
            warmup_ms=warmup_ms,
            rep_ms=rep_ms,
            **vars(s),
            per_call_ms=s.median_ms,
            per_call_q1_ms=s.q1_ms,
            per_call_q3_ms=s.q3_ms,
            per_call_source="do_bench",
            loop_ms=lt.median_ms,
            loop_q1_ms=lt.q1_ms,
            loop_q3_ms=lt.q3_ms,
            loop_rounds=lt.reps,
            loop_calls_per_round=per_round,
            loop_budget_ms=rep_ms / 2,
        )
    )


def with_per_call(t: Timing) -> Timing:
    """Rank a launch-bound call by its loop time, every other one by do_bench's median.

    Only a launch-bound call is ranked by its loop: elsewhere do_bench's median is the steadier
    figure (on the H100 host, GPU-bound medians repeated within 2% between bake-offs while loop
    times of the same modes moved by up to 30% with host load).
    """
    if t.median_ms and t.loop_ms:
        slower_back_to_back = t.loop_ms > t.median_ms * LAUNCH_BOUND_RATIO
        host_in_events = t.q3_ms - t.q1_ms > t.median_ms * UNSTEADY_DEVICE_SPREAD
        t.launch_bound = slower_back_to_back or host_in_events
    else:
        t.launch_bound = False
    if t.launch_bound:
        # launch-bound is judged from the loop, which measures its median and quartiles together
        assert t.loop_ms is not None and t.loop_q1_ms is not None and t.loop_q3_ms is not None
        t.per_call_ms, t.per_call_q1_ms, t.per_call_q3_ms = t.loop_ms, t.loop_q1_ms, t.loop_q3_ms
        t.per_call_source = "loop"
    return t


def launch_floor(torch: Any) -> tuple[float, float]:
    """(empty_ms, floor_ms): do_bench's median on no work at all and on one 1-element kernel.

    A real call that launches even one kernel cannot be faster than ``floor_ms``; one measured
    near ``empty_ms`` did no device work between the events.
    """
    one = torch.zeros(1, device="cuda")
    warmup, rep = FLOOR_BUDGET_MS
    empty = stats(do_bench_cuda(lambda: None, warmup, rep)[0]).median_ms
    floor = stats(do_bench_cuda(lambda: one.add_(1), warmup, rep)[0]).median_ms
    return empty, floor
